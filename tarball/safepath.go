package tarball

import (
	"fmt"
	"path"
	"strings"
)

// UnsafePathError reports a tar entry name, link target or whiteout that
// would reach outside the directory an archive is extracted under.
type UnsafePathError struct {
	Name   string // the name as it appeared in the archive
	Reason string
}

// Error returns the message, with the name quoted and shortened.
func (e *UnsafePathError) Error() string {
	return fmt.Sprintf("tarball: unsafe path %q: %s", quoteTrim(e.Name, 200), e.Reason)
}

// CleanPath returns the clean, slash-separated, root-relative form of a tar
// entry name, or an *UnsafePathError when the name could reach outside the
// root it is extracted under.
//
// The rule: names are relative to the root, as GNU tar, Docker and
// containerd read them, so leading slashes are dropped ("/etc/passwd" is
// "etc/passwd") and "./" prefixes and doubled slashes are cleaned away; "."
// and "./" name the root itself and clean to ".". A name is rejected when,
// after lexical cleaning, it would climb above the root ("../x",
// "a/../../x"), when it contains a NUL byte, when it is empty, or when it
// escapes on Windows: a ".." element with backslash as the separator
// ("..\x", "a\..\..\x"), a leading backslash, or a drive letter ("C:\x",
// "C:x"). Backslashes are otherwise kept, since Linux file names such as
// systemd's "dev-disk-by\x2duuid.swap" contain them.
//
// The result never starts with "/" or "..", and path.Clean leaves it
// unchanged. CleanPath checks names only: a symlink inside the root can
// still point outside it, so extraction must also resolve every path
// element inside the root, as Extract does. Callers for which an absolute
// name is itself an error (a docker tarball's manifest.json) should test
// path.IsAbs before calling.
func CleanPath(name string) (string, error) {
	switch {
	case name == "":
		return "", &UnsafePathError{Name: name, Reason: "empty name"}
	case strings.IndexByte(name, 0) >= 0:
		return "", &UnsafePathError{Name: name, Reason: "contains a NUL byte"}
	case climbs(name):
		return "", &UnsafePathError{Name: name, Reason: "climbs above the root"}
	}
	cleaned := path.Clean("/" + name)[1:]
	if cleaned == "" {
		return ".", nil
	}
	if reason := windowsEscape(cleaned); reason != "" {
		return "", &UnsafePathError{Name: name, Reason: reason}
	}
	return cleaned, nil
}

// windowsEscape returns why the clean relative path p would escape if
// backslash were a separator, or "" when it would not.
func windowsEscape(p string) string {
	switch {
	case strings.HasPrefix(p, `\`):
		return "starts with a backslash"
	case hasDriveLetter(p):
		return "starts with a drive letter"
	case strings.Contains(p, `\`) && climbs(strings.ReplaceAll(p, `\`, "/")):
		return "climbs above the root with backslash separators"
	}
	return ""
}

// climbs reports whether the slash-separated path p ever goes above
// its starting point.
func climbs(p string) bool {
	depth := 0
	for _, elem := range strings.Split(p, "/") {
		switch elem {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}

// hasDriveLetter reports whether s starts like a Windows volume, "C:".
func hasDriveLetter(s string) bool {
	if len(s) < 2 || s[1] != ':' {
		return false
	}
	c := s[0] | 0x20
	return 'a' <= c && c <= 'z'
}

func quoteTrim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
