package mirror

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// ErrPattern is wrapped by the errors of ParsePattern.
var ErrPattern = errors.New("invalid tag pattern")

// Pattern selects tags. A pattern that starts with one of = < > ~ ^ is a
// range of semantic versions; any other is a glob as path.Match reads it.
//
// # Globs
//
// "*" matches any run of characters, "?" one character, "[a-z]" one of a
// class: "1.*", "v[0-9]*", "*-alpine". A glob without those characters
// matches exactly one tag: "latest".
//
// # Version ranges
//
// Comparators separated by spaces or commas, all of which must hold:
// ">=1.2 <2", ">=1.2,<2", "~1.4", "^2.0.1", "=3". Operators are =, >, >=,
// <, <= (a bare version after the first comparator means =), ~ (the same
// minor version, or major when only the major is given) and ^ (no change
// of the left-most non-zero part). A version has one to three numbers
// and, with three, an optional pre-release ("1.4.0-rc.1"); a missing part
// is a wildcard, as in npm: "<=1.2" is "<1.3.0", ">1.2" is ">=1.3.0".
//
// Tags are read as versions with an optional leading "v", missing
// numbers being zero: "1.2.3", "v1.2" (1.2.0), "3" (3.0.0). A tag that is
// not a version matches no range. A tag with a
// pre-release ("2.0.0-rc1") matches only a range that names a pre-release
// of the same major, minor and patch, so ">=1" never selects release
// candidates by surprise.
type Pattern struct {
	text  string
	glob  bool
	terms []term // all must hold
}

// ParsePattern parses s as a glob or a version range; errors wrap
// ErrPattern and say what is wrong.
func ParsePattern(s string) (*Pattern, error) {
	p := &Pattern{text: s}
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrPattern)
	}
	if !strings.ContainsAny(s[:1], "=<>~^") {
		if _, err := path.Match(s, ""); err != nil {
			return nil, fmt.Errorf("%w %q: %v", ErrPattern, s, err)
		}
		p.glob = true
		return p, nil
	}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	for _, f := range fields {
		t, err := parseTerm(f)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %v", ErrPattern, s, err)
		}
		p.terms = append(p.terms, t)
	}
	return p, nil
}

// String returns the pattern as it was parsed.
func (p *Pattern) String() string { return p.text }

// Match reports whether tag is selected by p.
func (p *Pattern) Match(tag string) bool {
	if p.glob {
		ok, _ := path.Match(p.text, tag)
		return ok
	}
	v, ok := parseTag(tag)
	if !ok {
		return false
	}
	pre := false
	for _, t := range p.terms {
		if !t.holds(v) {
			return false
		}
		pre = pre || t.allowsPre(v)
	}
	return len(v.pre) == 0 || pre
}

// term is one comparator, as an interval of versions.
type term struct {
	lo, hi         *version // nil: unbounded
	loIncl, hiIncl bool
	pre            []*version // pre-releases it names
}

func (t term) holds(v version) bool {
	if t.lo != nil {
		if c := compare(v, *t.lo); c < 0 || c == 0 && !t.loIncl {
			return false
		}
	}
	if t.hi != nil {
		if c := compare(v, *t.hi); c > 0 || c == 0 && !t.hiIncl {
			return false
		}
	}
	return true
}

// allowsPre reports whether t names a pre-release of v's major, minor
// and patch.
func (t term) allowsPre(v version) bool {
	for _, p := range t.pre {
		if p.nums == v.nums {
			return true
		}
	}
	return false
}

// parseTerm reads one comparator: an operator and a version.
func parseTerm(s string) (term, error) {
	i := 0
	for i < len(s) && strings.IndexByte("=<>~^", s[i]) >= 0 {
		i++
	}
	op := s[:i]
	v, n, err := parseVersion(s[i:])
	if err != nil {
		return term{}, err
	}
	if len(v.pre) > 0 && n < 3 {
		return term{}, fmt.Errorf("%q: a pre-release needs major.minor.patch", s)
	}
	lo, hi := v, v.bump(n)
	t := term{}
	if len(v.pre) > 0 {
		t.pre = []*version{&v}
	}
	switch op {
	case "", "=":
		t.lo, t.loIncl, t.hi, t.hiIncl = &lo, true, &hi, false
		if n == 3 {
			t.hi, t.hiIncl = &lo, true
		}
	case ">=":
		t.lo, t.loIncl = &lo, true
	case ">":
		t.lo, t.loIncl = &hi, n < 3
		if n == 3 {
			t.lo = &lo
		}
	case "<":
		t.hi = &lo
	case "<=":
		t.hi, t.hiIncl = &hi, n == 3
		if n == 3 {
			t.hi = &lo
		}
	case "~":
		up := v.bump(min(n, 2))
		t.lo, t.loIncl, t.hi = &lo, true, &up
	case "^":
		up := v.bump(caretPart(v, n))
		t.lo, t.loIncl, t.hi = &lo, true, &up
	default:
		return term{}, fmt.Errorf("%q: unknown operator %q", s, op)
	}
	return t, nil
}

// caretPart is how many leading parts ^ keeps fixed: up to and including
// the first non-zero one among those given.
func caretPart(v version, n int) int {
	for i := range n {
		if v.nums[i] != 0 {
			return i + 1
		}
	}
	return n
}
