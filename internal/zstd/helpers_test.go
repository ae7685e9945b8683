package zstd_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/zstd"
)

// zstdCommand returns the path of the zstd command. It skips the test when
// zstd is missing, and fails it when SKIFF_INTEGRATION=1 asks for every
// integration test to run.
func zstdCommand(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("zstd")
	if err != nil {
		if os.Getenv("SKIFF_INTEGRATION") == "1" {
			t.Fatal("zstd is not on PATH, and SKIFF_INTEGRATION=1 forbids skipping (apt-get install zstd)")
		}
		t.Skip("zstd is not on PATH; install Debian's zstd package to run the differential tests (SKIFF_INTEGRATION=1 turns this skip into a failure)")
	}
	return path
}

// compressFile compresses data with the zstd command reading a file, so
// the frame header records the content size.
func compressFile(t testing.TB, data []byte, args ...string) []byte {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return runZstd(t, nil, append(append([]string{"-q", "-c"}, args...), in)...)
}

// compressStdin compresses data with the zstd command reading stdin, so
// the frame header has no content size.
func compressStdin(t testing.TB, data []byte, args ...string) []byte {
	t.Helper()
	return runZstd(t, bytes.NewReader(data), append([]string{"-q", "-c"}, args...)...)
}

func runZstd(t testing.TB, stdin io.Reader, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(zstdCommand(t), args...)
	cmd.Stdin = stdin
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("zstd %s: %v: %s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out.Bytes()
}

// decode decompresses z with a new Reader.
func decode(z []byte, opts *zstd.Options) ([]byte, error) {
	return io.ReadAll(zstd.NewReader(bytes.NewReader(z), opts))
}

// mustDecode decompresses z and compares the result with want.
func mustDecode(t testing.TB, z, want []byte, opts *zstd.Options) {
	t.Helper()
	got, err := decode(z, opts)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("decoded %d bytes that differ from the %d bytes compressed (first difference at %d)", len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// The inputs of the differential tests, from the most to the least
// compressible.
func zeros(n int) []byte { return make([]byte, n) }

func pattern(n, period int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i%period*7 + 1)
	}
	return p
}

func random(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	return p
}

func layer(t testing.TB, n int, seed uint64) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := layerLike(&b, int64(n), seed); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// wantError checks that err wraps target and reads as a zstd error.
func wantError(t testing.TB, err, target error) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %v", target)
	}
	if !errors.Is(err, target) {
		t.Fatalf("error %q does not wrap %q", err, target)
	}
	if !strings.HasPrefix(err.Error(), "zstd: ") {
		t.Fatalf("error %q is not prefixed with zstd:", err)
	}
}
