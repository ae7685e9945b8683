package tarball_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/tarball"
)

// breakoutCase is one attempt to write outside the extraction root, in the
// style of containerd's TestBreakouts. want is "error", "unsafe" (an
// *UnsafePathError) or the path, relative to the root, that must exist
// afterwards, with {outside} standing for the sentinel directory's host
// path inside the root; either way nothing may change outside the root.
type breakoutCase struct {
	name   string
	layers func(outside, secret string) [][]tEntry
	want   string
}

func breakoutCases() []breakoutCase {
	one := func(es ...tEntry) func(string, string) [][]tEntry {
		return func(string, string) [][]tEntry { return [][]tEntry{es} }
	}
	return []breakoutCase{
		{"dotdot", one(tReg("../x", "x")), "unsafe"},
		{"dotdot inside", one(tReg("a/../../x", "x")), "unsafe"},
		{"absolute", one(tReg("/abs", "x")), "abs"},
		{"backslash dotdot", one(tReg(`..\x`, "x")), "unsafe"},
		{"drive letter", one(tReg(`C:\x`, "x")), "unsafe"},
		{"dot entries", one(tDir("."), tDir("./"), tReg("./ok", "x")), "ok"},
		{"whiteout dotdot", one(tReg(".wh...", "")), "unsafe"},
		{"whiteout in parent", one(tReg("../.wh.outside", "")), "unsafe"},
		{"whiteout via symlink", func(outside, secret string) [][]tEntry {
			return [][]tEntry{{tSym("up", filepath.Dir(secret))}, {tReg("up/.wh."+filepath.Base(secret), "")}}
		}, "up"},
		{"absolute symlink parent", func(outside, _ string) [][]tEntry {
			return [][]tEntry{{tSym("link", outside), tReg("link/file", "pwned")}}
		}, "{outside}/file"},
		{"relative symlink parent", one(tSym("link", "../outside"), tReg("link/file", "pwned")), "outside/file"},
		{"symlink to root parent", one(tSym("link", "../../"), tReg("link/x", "pwned")), "x"},
		{"symlink across layers", func(outside, _ string) [][]tEntry {
			return [][]tEntry{{tSym("link", outside)}, {tReg("link/file", "pwned")}}
		}, "link"},
		{"overwrite via symlink", func(_, secret string) [][]tEntry {
			return [][]tEntry{{tSym("s", secret)}, {tReg("s", "pwned")}}
		}, "s"},
		{"symlink chain", func(outside, _ string) [][]tEntry {
			return [][]tEntry{{tSym("a", "b"), tSym("b", "../../.."+outside), tReg("a/f", "pwned")}}
		}, "{outside}/f"},
		{"symlink loop", one(tSym("a", "b"), tSym("b", "a"), tReg("a/f", "x")), "error"},
		{"hardlink etc passwd", one(tHard("h", "/etc/passwd")), "error"},
		{"hardlink dotdot", one(tHard("h", "../secret")), "unsafe"},
		{"hardlink absolute secret", func(_, secret string) [][]tEntry {
			return [][]tEntry{{tHard("h", secret)}}
		}, "error"},
		{"hardlink via symlink dir", func(_, secret string) [][]tEntry {
			return [][]tEntry{{tSym("up", filepath.Dir(secret)), tHard("h", "up/"+filepath.Base(secret))}}
		}, "error"},
		{"hardlink to escaping symlink", func(_, secret string) [][]tEntry {
			return [][]tEntry{{tSym("s", secret), tHard("h", "s")}}
		}, "h"},
		{"hardlink to escaping symlink across layers", func(_, secret string) [][]tEntry {
			return [][]tEntry{{tSym("s", "../secret")}, {tHard("h", "s"), tReg("h2", "x")}}
		}, "h"},
	}
}

func TestExtractBreakouts(t *testing.T) {
	for _, tc := range breakoutCases() {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			root, outside, secret := filepath.Join(tmp, "root"), filepath.Join(tmp, "outside"), filepath.Join(tmp, "secret")
			if err := os.Mkdir(outside, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
				t.Fatal(err)
			}
			passwd, _ := os.Stat("/etc/passwd")
			var layers [][]byte
			for _, es := range tc.layers(outside, secret) {
				layers = append(layers, testtool.Tar(t, es...))
			}
			err := tarball.Extract(context.Background(), root, openers(layers...), nil)
			want := strings.ReplaceAll(tc.want, "{outside}", strings.TrimPrefix(filepath.ToSlash(outside), "/"))
			checkOutcome(t, root, want, err)
			checkUntouched(t, tmp, outside, secret, passwd)
		})
	}
}

func checkOutcome(t *testing.T, root, want string, err error) {
	t.Helper()
	var upe *tarball.UnsafePathError
	switch want {
	case "unsafe":
		if !errors.As(err, &upe) {
			t.Errorf("err %v, want an *UnsafePathError", err)
		}
	case "error":
		if err == nil {
			t.Errorf("no error")
		}
	default:
		if err != nil {
			t.Fatalf("err %v, want %s confined in the root", err, want)
		}
		if _, err := os.Lstat(filepath.Join(root, want)); err != nil {
			t.Errorf("%s not in the root: %v", want, err)
		}
	}
	if err != nil && !strings.HasPrefix(err.Error(), "tarball: ") {
		t.Errorf("error %q lacks the package prefix", err)
	}
}

// checkUntouched fails unless tmp holds only root, the empty outside
// directory and the unchanged, singly linked secret, and /etc/passwd
// gained no link.
func checkUntouched(t *testing.T, tmp, outside, secret string, passwd os.FileInfo) {
	t.Helper()
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		if n := e.Name(); n != "root" && n != "outside" && n != "secret" {
			t.Errorf("%s written outside the root", n)
		}
	}
	if inside, _ := os.ReadDir(outside); len(inside) != 0 {
		t.Errorf("%d entries written in the sentinel directory", len(inside))
	}
	b, err := os.ReadFile(secret)
	if err != nil || string(b) != "secret" {
		t.Errorf("secret changed: %q, %v", b, err)
	}
	if fi, err := os.Stat(secret); err != nil || nlink(fi) != 1 {
		t.Errorf("secret gained a hard link")
	}
	if now, err := os.Stat("/etc/passwd"); passwd != nil && err == nil && nlink(now) != nlink(passwd) {
		t.Errorf("/etc/passwd gained a hard link")
	}
}

func TestExtractPreexistingSymlink(t *testing.T) {
	tmp := t.TempDir()
	root, outside, secret := filepath.Join(tmp, "root"), filepath.Join(tmp, "outside"), filepath.Join(tmp, "secret")
	os.Mkdir(outside, 0o755)
	os.WriteFile(secret, []byte("secret"), 0o600)
	os.Mkdir(root, 0o755)
	os.Symlink(outside, filepath.Join(root, "pre"))
	os.Symlink(secret, filepath.Join(root, "file"))
	layer := testtool.Tar(t, tReg("pre/x", "pwned"), tReg("file", "pwned"), tHard("h", "pre/x"))
	if err := tarball.Extract(context.Background(), root, openers(layer), nil); err != nil {
		t.Fatal(err)
	}
	inside := filepath.Join(root, strings.TrimPrefix(outside, "/"), "x")
	if b, err := os.ReadFile(inside); err != nil || string(b) != "pwned" {
		t.Errorf("pre/x not confined at %s: %q, %v", inside, b, err)
	}
	checkUntouched(t, tmp, outside, secret, nil)
}

func TestExportCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	layers := openers(testtool.Tar(t, tReg("a", "b")))
	if err := tarball.Flatten(ctx, io.Discard, layers, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Flatten: %v", err)
	}
	root := filepath.Join(t.TempDir(), "r")
	if err := tarball.Extract(ctx, root, layers, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Extract: %v", err)
	}
}

// nlink returns fi's link count where the platform reports one, else 1.
func nlink(fi os.FileInfo) uint64 {
	v := reflect.Indirect(reflect.ValueOf(fi.Sys()))
	if v.Kind() != reflect.Struct {
		return 1
	}
	if f := v.FieldByName("Nlink"); f.IsValid() && f.CanUint() {
		return f.Uint()
	}
	return 1
}
