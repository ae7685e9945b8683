package mirror

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// version is a semantic version: three numbers and a pre-release.
type version struct {
	nums [3]uint64
	pre  []string // dot-separated identifiers; none for a release
}

// parseTag reads a tag as a version ("1.2.3", "v1.2", "3",
// "2.0.0-rc.1"); ok is false for any other tag.
func parseTag(tag string) (version, bool) {
	v, n, err := parseVersion(tag)
	return v, err == nil && (n == 3 || len(v.pre) == 0)
}

// parseVersion reads an optional "v", one to three numbers and, after
// "-", a pre-release. n is how many numbers were given.
func parseVersion(s string) (v version, n int, err error) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "v"), "V")
	core, pre, hasPre := strings.Cut(s, "-")
	parts := strings.Split(core, ".")
	if core == "" || len(parts) > 3 {
		return v, 0, fmt.Errorf("%q is not a version (want 1, 1.2 or 1.2.3)", s)
	}
	for i, p := range parts {
		if v.nums[i], err = parseNum(p); err != nil {
			return v, 0, fmt.Errorf("%q is not a version: %w", s, err)
		}
	}
	if hasPre {
		if v.pre, err = parsePre(pre); err != nil {
			return v, 0, fmt.Errorf("%q: %w", s, err)
		}
	}
	return v, len(parts), nil
}

var errNotNumber = errors.New("a part is not a number")

func parseNum(p string) (uint64, error) {
	if p == "" || strings.Trim(p, "0123456789") != "" {
		return 0, errNotNumber
	}
	return strconv.ParseUint(p, 10, 64)
}

// parsePre splits a pre-release into its identifiers, which are
// non-empty runs of letters, digits and hyphens.
func parsePre(s string) ([]string, error) {
	ids := strings.Split(s, ".")
	for _, id := range ids {
		if id == "" || strings.Trim(id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") != "" {
			return nil, fmt.Errorf("bad pre-release %q", s)
		}
	}
	return ids, nil
}

// bump returns the least version above every version that starts with
// v's first k numbers: 1.2.3 bumped at 2 is 1.3.0.
func (v version) bump(k int) version {
	var b version
	copy(b.nums[:k], v.nums[:k])
	b.nums[k-1]++
	return b
}

// compare orders versions by semantic version precedence: numbers, then
// a pre-release below its release, identifiers compared numerically when
// both are numbers and as text otherwise.
func compare(a, b version) int {
	for i := range a.nums {
		if c := cmp.Compare(a.nums[i], b.nums[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(a.pre) == 0 && len(b.pre) == 0:
		return 0
	case len(a.pre) == 0:
		return 1
	case len(b.pre) == 0:
		return -1
	}
	for i := 0; i < len(a.pre) && i < len(b.pre); i++ {
		if c := compareID(a.pre[i], b.pre[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a.pre), len(b.pre))
}

// compareID compares pre-release identifiers: numbers numerically and
// below text, text by bytes.
func compareID(a, b string) int {
	an, aerr := parseNum(a)
	bn, berr := parseNum(b)
	switch {
	case aerr == nil && berr == nil:
		return cmp.Compare(an, bn)
	case aerr == nil:
		return -1
	case berr == nil:
		return 1
	}
	return strings.Compare(a, b)
}
