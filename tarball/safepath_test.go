package tarball_test

import (
	"errors"
	"path"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/tarball"
)

func TestCleanPath(t *testing.T) {
	ok := map[string]string{
		".":               ".",
		"./":              ".",
		"/":               ".",
		"a":               "a",
		"./a/b":           "a/b",
		"a//b":            "a/b",
		"a/b/":            "a/b",
		"/abs":            "abs",
		"//abs/x":         "abs/x",
		"a/../b":          "b",
		"a/b/../..":       ".",
		"...":             "...",
		"..a":             "..a",
		`a\x2db.service`:  `a\x2db.service`,
		`dir\..\x`:        "dir\\..\\x",
		"usr/lib/.wh.foo": "usr/lib/.wh.foo",
	}
	for in, want := range ok {
		got, err := tarball.CleanPath(in)
		if err != nil || got != want {
			t.Errorf("CleanPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"", "..", "../", "../x", "a/../../x", "/../x", "./..", "a/b/../../..",
		`..\x`, `a\..\..\x`, `\x`, `\\server\share`, `C:\x`, `c:x`, "/C:/x",
		"a\x00b", "\x00",
	}
	for _, in := range bad {
		got, err := tarball.CleanPath(in)
		var upe *tarball.UnsafePathError
		if !errors.As(err, &upe) || upe.Name != in {
			t.Errorf("CleanPath(%q) = %q, %v; want *UnsafePathError", in, got, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "tarball: ") {
			t.Errorf("error %q lacks the package prefix", err)
		}
	}
}

func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{".", "./a", "../x", "/abs", `..\x`, `C:\x`, "a//b/./c/..", "a\x00", `a\..\b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := tarball.CleanPath(name)
		if err != nil {
			if got != "" {
				t.Fatalf("CleanPath(%q) returned %q with error %v", name, got, err)
			}
			return
		}
		switch {
		case strings.HasPrefix(got, "/"), got == "..", strings.HasPrefix(got, "../"):
			t.Fatalf("CleanPath(%q) = %q escapes", name, got)
		case path.Clean(got) != got:
			t.Fatalf("CleanPath(%q) = %q is not clean", name, got)
		case strings.IndexByte(got, 0) >= 0:
			t.Fatalf("CleanPath(%q) = %q has a NUL", name, got)
		}
		if win := path.Clean(strings.ReplaceAll(got, `\`, "/")); win == ".." || strings.HasPrefix(win, "../") {
			t.Fatalf("CleanPath(%q) = %q escapes with backslash separators", name, got)
		}
		if again, err := tarball.CleanPath(got); err != nil || again != got {
			t.Fatalf("CleanPath not idempotent: %q -> %q -> %q, %v", name, got, again, err)
		}
	})
}
