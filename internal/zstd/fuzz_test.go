package zstd_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/skiffoci/skiff/internal/zstd"
)

var update = flag.Bool("update", false, "rewrite testdata/*.zst with the zstd command")

// seeds are the inputs of testdata: small frames made by the zstd command,
// each NAME.zst next to the NAME.orig it decompresses to.
var seeds = []struct {
	name string
	data func(t testing.TB) []byte
	args []string
	// stdin compresses from stdin: no content size in the header.
	stdin bool
}{
	{"text-3", func(t testing.TB) []byte { return layer(t, 2000, 1)[512:] }, []string{"-3"}, false},
	{"text-19-nocheck", func(t testing.TB) []byte { return layer(t, 3000, 2)[512:] }, []string{"-19", "--no-check"}, false},
	{"layer-1-stdin", func(t testing.TB) []byte { return layer(t, 4000, 3) }, []string{"-1"}, true},
	{"random-raw", func(testing.TB) []byte { return random(500, 4) }, []string{"-3"}, false},
	{"zeros-rle", func(testing.TB) []byte { return zeros(5000) }, []string{"-3"}, true},
	{"period5", func(testing.TB) []byte { return pattern(3000, 5) }, []string{"-9"}, false},
	{"window-1k", func(t testing.TB) []byte { return layer(t, 5000, 5) }, []string{"--zstd=wlog=10", "-19"}, true},
	{"long-27", func(t testing.TB) []byte { return layer(t, 1500, 6) }, []string{"--long=27"}, true},
	{"empty", func(testing.TB) []byte { return nil }, nil, false},
	{"one-byte", func(testing.TB) []byte { return []byte("x") }, []string{"--no-check"}, true},
}

// TestTestdata decodes the fuzz seeds in testdata (with -update, first
// makes them again with the zstd command), so they are checked even
// where the zstd command is missing.
func TestTestdata(t *testing.T) {
	for _, s := range seeds {
		zpath, opath := filepath.Join("testdata", s.name+".zst"), filepath.Join("testdata", s.name+".orig")
		if *update {
			data := s.data(t)
			z := compressFile(t, data, s.args...)
			if s.stdin {
				z = compressStdin(t, data, s.args...)
			}
			if err := os.WriteFile(zpath, z, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(opath, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		z, err := os.ReadFile(zpath)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(opath)
		if err != nil {
			t.Fatal(err)
		}
		mustDecode(t, z, want, nil)
	}
}

// roundTrips maps the SHA-256 of each seed to what it decompresses to.
func roundTrips(f *testing.F) map[[32]byte][]byte {
	m := make(map[[32]byte][]byte)
	files, err := filepath.Glob(filepath.Join("testdata", "*.zst"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in testdata: %v", err)
	}
	for _, p := range files {
		z, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		orig, err := os.ReadFile(strings.TrimSuffix(p, ".zst") + ".orig")
		if err != nil {
			f.Fatal(err)
		}
		m[sha256.Sum256(z)] = orig
		f.Add(z)
	}
	// Two seeds at once, and a seed behind a skippable frame.
	a, b := mustRead(f, "text-3.zst"), mustRead(f, "zeros-rle.zst")
	m[sha256.Sum256(cat(a, b))] = cat(m[sha256.Sum256(a)], m[sha256.Sum256(b)])
	f.Add(cat(a, b))
	sk := cat(skippable(5, []byte("chunked metadata")), b)
	m[sha256.Sum256(sk)] = m[sha256.Sum256(b)]
	f.Add(sk)
	return m
}

func mustRead(f *testing.F, name string) []byte {
	p, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	return p
}

// fuzzCap is as much output as the fuzzer reads from one input.
const fuzzCap = 64 << 10

// FuzzDecode decodes arbitrary input: no panic, no hang, errors are the
// package's own, the output stays within what the input's blocks can
// hold, reading the input a byte at a time changes nothing, and the seeds
// (round trips through the zstd command) decode to their originals.
func FuzzDecode(f *testing.F) {
	known := roundTrips(f)
	f.Fuzz(func(t *testing.T, z []byte) {
		got, err := io.ReadAll(io.LimitReader(zstd.NewReader(bytes.NewReader(z), nil), fuzzCap))
		// Each block takes at least 3 bytes of input and gives at most
		// 128 KiB of output.
		if limit := (len(z)/3 + 1) << 17; len(got) > limit {
			t.Fatalf("%d bytes of input gave %d bytes of output", len(z), len(got))
		}
		if err != nil && !strings.HasPrefix(err.Error(), "zstd: ") {
			t.Fatalf("error %q is not prefixed with zstd:", err)
		}
		if err != nil && !errors.Is(err, zstd.ErrCorrupt) && !errors.Is(err, zstd.ErrChecksum) &&
			!errors.Is(err, zstd.ErrWindowTooLarge) && !errors.Is(err, zstd.ErrDictionary) {
			t.Fatalf("error %q wraps none of the package's errors", err)
		}
		if want, ok := known[sha256.Sum256(z)]; ok && (err != nil || !bytes.Equal(got, want)) {
			t.Fatalf("a round trip through the zstd command decoded to %d bytes, %v; want %d bytes", len(got), err, len(want))
		}
		if len(got) >= fuzzCap {
			return
		}
		again, err2 := io.ReadAll(zstd.NewReader(iotest.OneByteReader(bytes.NewReader(z)), nil))
		if !bytes.Equal(again, got) || (err == nil) != (err2 == nil) {
			t.Fatalf("reading the input a byte at a time gave %d bytes, %v; at once %d bytes, %v", len(again), err2, len(got), err)
		}
	})
}
