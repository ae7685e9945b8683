package reference

import (
	"fmt"
	"net/netip"
	"strings"
)

// MaxNameLength is the longest registry "/" repository accepted, as in Docker.
const MaxNameLength = 255

// maxTagLength is the longest tag the grammar allows.
const maxTagLength = 128

// ValidTag reports whether s is a tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
func ValidTag(s string) bool {
	if s == "" || len(s) > maxTagLength || s[0] == '.' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && !isUpper(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// ValidRepository reports whether s is a repository path such as
// "library/alpine": lower-case components separated by "/", at most
// [MaxNameLength] characters, without a registry, tag or digest. It is
// safe to put a valid repository into a URL path.
func ValidRepository(s string) bool {
	if len(s) > MaxNameLength {
		return false
	}
	for {
		c, rest, more := strings.Cut(s, "/")
		if !validComponent(c) {
			return false
		}
		if !more {
			return true
		}
		s = rest
	}
}

// validComponent reports whether c matches
// [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*.
func validComponent(c string) bool {
	if c == "" || !isAlnum(c[0]) || !isAlnum(c[len(c)-1]) {
		return false
	}
	for i := 0; i < len(c); {
		j := i
		for j < len(c) && !isAlnum(c[j]) {
			j++
		}
		if j > i && !validSeparator(c[i:j]) {
			return false
		}
		for j < len(c) && isAlnum(c[j]) {
			j++
		}
		i = j
	}
	return true
}

func validSeparator(s string) bool {
	switch s {
	case ".", "_", "__":
		return true
	}
	return strings.Trim(s, "-") == ""
}

// validRegistry reports whether s is host[:port] where host is a domain
// name, a dotted IPv4 address, or a bracketed IPv6 address.
func validRegistry(s string) bool {
	host, port := s, ""
	if i := strings.LastIndexByte(s, ':'); i >= 0 && i > strings.LastIndexByte(s, ']') {
		host, port = s[:i], s[i+1:]
		if !validPort(port) {
			return false
		}
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		return validIPv6(host[1 : len(host)-1])
	}
	return validDomainName(host)
}

func validPort(p string) bool {
	if p == "" {
		return false
	}
	for i := 0; i < len(p); i++ {
		if !isDigit(p[i]) {
			return false
		}
	}
	return true
}

// validIPv6 accepts compressed or full IPv6 addresses, without a zone or
// an embedded IPv4 part, as Docker does.
func validIPv6(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isHex(c) && !('A' <= c && c <= 'F') && c != ':' {
			return false
		}
	}
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6()
}

func validDomainName(s string) bool {
	for {
		c, rest, more := strings.Cut(s, ".")
		if !validDomainComponent(c) {
			return false
		}
		if !more {
			return true
		}
		s = rest
	}
}

// validDomainComponent reports whether c matches
// [A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9].
func validDomainComponent(c string) bool {
	if c == "" || c[0] == '-' || c[len(c)-1] == '-' {
		return false
	}
	for i := 0; i < len(c); i++ {
		if x := c[i]; !isAlnum(x) && !isUpper(x) && x != '-' {
			return false
		}
	}
	return true
}

// checkDigest returns nil if d is sha256 or sha512 in lower-case hex of
// the exact length, and an error wrapping ErrInvalidDigest otherwise.
func checkDigest(d string) error {
	alg, hex, ok := strings.Cut(d, ":")
	want := hexLength(alg)
	switch {
	case !ok:
		return fmt.Errorf("%w: missing algorithm", ErrInvalidDigest)
	case want == 0:
		return fmt.Errorf("%w: unsupported algorithm (want sha256 or sha512)", ErrInvalidDigest)
	case len(hex) != want || !isLowerHex(hex):
		return fmt.Errorf("%w: %s needs %d lower-case hex characters", ErrInvalidDigest, alg, want)
	}
	return nil
}

// hexLength returns the length of the hex part of a digest of algorithm
// alg, or 0 for an unsupported algorithm.
func hexLength(alg string) int {
	switch alg {
	case "sha256":
		return 64
	case "sha512":
		return 128
	}
	return 0
}

// isID reports whether s is 64 lower-case hex characters, the form of an
// image ID.
func isID(s string) bool { return len(s) == 64 && isLowerHex(s) }

// looksLikeRegistry reports whether the first component of a name is read
// as a registry rather than as part of the repository.
func looksLikeRegistry(s string) bool {
	return strings.ContainsAny(s, ".:") || s == "localhost"
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlnum(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'z' }
func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isHex(c byte) bool   { return isDigit(c) || 'a' <= c && c <= 'f' }
