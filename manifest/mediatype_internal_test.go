package manifest

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// TestValidMediaTypeAgreesWithGrammar checks validMediaType against the regular
// expression it replaced, on every short string over the characters that
// matter and on random longer ones.
func TestValidMediaTypeAgreesWithGrammar(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$`)
	alphabet := "aZ9/!#$&^_.+- ;"
	check := func(s string) {
		if got, want := validMediaType(s), re.MatchString(s); got != want {
			t.Fatalf("validMediaType(%q) = %v, the grammar says %v", s, got, want)
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
