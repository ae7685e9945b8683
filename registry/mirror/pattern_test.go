package mirror_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/registry/mirror"
)

var tags = []string{"latest", "1", "1.2", "1.2.0", "1.2.3", "v1.2.4", "1.3.0", "1.10.0", "2.0.0-rc.1", "2.0.0", "2.1",
	"0.2.3", "0.2.9", "0.3.0", "0.0.3", "0.0.4", "3.20-alpine", "1.2.3-alpine", "1.2.3.4", "dev-1"}

func TestPatternMatch(t *testing.T) {
	tests := map[string]string{
		"*":            strings.Join(tags, " "),
		"1.2.*":        "1.2.0 1.2.3 1.2.3-alpine 1.2.3.4",
		"*-alpine":     "3.20-alpine 1.2.3-alpine",
		"v[0-9]*":      "v1.2.4",
		"latest":       "latest",
		">=1.2 <2":     "1.2 1.2.0 1.2.3 v1.2.4 1.3.0 1.10.0",
		">=1.2,<2":     "1.2 1.2.0 1.2.3 v1.2.4 1.3.0 1.10.0",
		">1.2":         "1.3.0 1.10.0 2.0.0 2.1",
		">1.2.3":       "v1.2.4 1.3.0 1.10.0 2.0.0 2.1",
		"<=1.2":        "1 1.2 1.2.0 1.2.3 v1.2.4 0.2.3 0.2.9 0.3.0 0.0.3 0.0.4",
		"<1":           "0.2.3 0.2.9 0.3.0 0.0.3 0.0.4",
		"=1.2":         "1.2 1.2.0 1.2.3 v1.2.4",
		"=1.2.3":       "1.2.3",
		"~1.2":         "1.2 1.2.0 1.2.3 v1.2.4",
		"~1":           "1 1.2 1.2.0 1.2.3 v1.2.4 1.3.0 1.10.0",
		"^1.2.3":       "1.2.3 v1.2.4 1.3.0 1.10.0",
		"^0.2.3":       "0.2.3 0.2.9",
		"^0.0.3":       "0.0.3",
		"^2":           "2.0.0 2.1",
		">=2.0.0-rc":   "2.0.0-rc.1 2.0.0 2.1",
		">=2.0.0-rc.2": "2.0.0 2.1",
		">=1.2.3-a":    "1.2.3 v1.2.4 1.3.0 1.10.0 2.0.0 2.1 1.2.3-alpine",
		">=1 1.2.0":    "1.2 1.2.0",
	}
	for pattern, want := range tests {
		p, err := mirror.ParsePattern(pattern)
		if err != nil {
			t.Errorf("ParsePattern(%q): %v", pattern, err)
			continue
		}
		var got []string
		for _, tag := range tags {
			if p.Match(tag) {
				got = append(got, tag)
			}
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%q matches %q, want %q", pattern, strings.Join(got, " "), want)
		}
		if p.String() != pattern {
			t.Errorf("String() = %q", p.String())
		}
	}
}

func TestPatternErrors(t *testing.T) {
	for _, s := range []string{"", "[a-", ">=", ">=x", ">=1.2.3.4", "=>1", "<>1", ">=1.2-rc1", ">=1.-2", ">=1.2.3-", ">=1.2.3-a..b", "~", "^v"} {
		if p, err := mirror.ParsePattern(s); !errors.Is(err, mirror.ErrPattern) {
			t.Errorf("ParsePattern(%q) = %v, %v; want an error wrapping ErrPattern", s, p, err)
		}
	}
}

func FuzzPattern(f *testing.F) {
	for _, s := range []string{">=1.2 <2", "^0.2.3", "~1", "1.*", "[a-z]*", ">=2.0.0-rc.1", "=v1"} {
		f.Add(s, "1.2.3")
	}
	f.Fuzz(func(t *testing.T, pattern, tag string) {
		p, err := mirror.ParsePattern(pattern)
		if err != nil {
			return
		}
		if p.Match(tag) != p.Match(tag) {
			t.Fatal("Match is not deterministic")
		}
	})
}
