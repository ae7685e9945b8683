// Package grammartest checks a hand-written validator against the regular
// expression it replaced. skiff's packages avoid the regexp package (a
// quarter of a MiB of the binary); their tests keep the expressions as
// oracles through this package.
package grammartest

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// Agree fails t unless valid(s) equals the expression's verdict on every
// string of up to four characters of alphabet, on 20,000 random ones of up
// to 300, and on names of 126 to 128 characters around a "/".
func Agree(t *testing.T, valid func(string) bool, expr, alphabet string) {
	t.Helper()
	re := regexp.MustCompile(expr)
	check := func(s string) {
		t.Helper()
		if got, want := valid(s), re.MatchString(s); got != want {
			t.Fatalf("%q: the validator says %v, %s says %v", s, got, expr, want)
		}
	}
	var all func(prefix string, n int)
	all = func(prefix string, n int) {
		check(prefix)
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			all(prefix+string(c), n-1)
		}
	}
	all("", 4)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(300) {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		check(b.String())
	}
	for _, n := range []int{126, 127, 128} {
		check(strings.Repeat("a", n) + "/" + strings.Repeat("b", n))
		check(strings.Repeat("a", n))
	}
}
