package reference_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/reference"
)

// FuzzParse checks that Parse never panics, that every error is a
// *ParseError, and that a parsed Reference has valid fields and survives
// String and Familiar unchanged.
func FuzzParse(f *testing.F) {
	for _, tc := range parseTests {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := reference.Parse(s)
		if err != nil {
			checkError(t, s, err)
			return
		}
		checkFields(t, s, r)
		str := r.String()
		for _, again := range []string{str, r.Familiar()} {
			r2, err := reference.Parse(again)
			if err != nil || r2 != r || r2.String() != str {
				t.Fatalf("Parse(%q) = %#v; Parse(%q) = %#v, %v", s, r, again, r2, err)
			}
		}
		if n, err := reference.ParseName(s); err == nil && (r.Tag != "latest" || n.Name() != r.Name()) {
			t.Fatalf("ParseName(%q) = %#v but Parse gives %#v", s, n, r)
		}
	})
}

func checkError(t *testing.T, s string, err error) {
	var pe *reference.ParseError
	if !errors.As(err, &pe) || pe.Input != s || !strings.HasPrefix(err.Error(), "reference: ") {
		t.Fatalf("Parse(%q) error %#v is not a *ParseError for the input", s, err)
	}
}

func checkFields(t *testing.T, s string, r reference.Reference) {
	if r.Registry == "" || !reference.ValidRepository(r.Repository) ||
		(r.Tag == "" && r.Digest == "") || (r.Tag != "" && !reference.ValidTag(r.Tag)) ||
		len(r.Name()) > reference.MaxNameLength {
		t.Fatalf("Parse(%q) = %#v has an invalid field", s, r)
	}
	if r.Identifier() == "" || strings.ContainsAny(r.String(), " \t\n\x00") {
		t.Fatalf("Parse(%q) = %#v is not safe to format", s, r)
	}
}
