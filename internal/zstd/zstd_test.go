package zstd_test

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"

	"github.com/skiffoci/skiff/internal/zstd"
)

// TestDecodeLevels decodes a layer-like input compressed by the zstd
// command at every level from 1 to 19 (and the fast and ultra ends), with
// the content size in the header and without it.
func TestDecodeLevels(t *testing.T) {
	data := layer(t, 600<<10+12345, 1)
	args := [][]string{{"--fast=5"}, {"--ultra", "-22"}}
	for level := 1; level <= 19; level++ {
		args = append(args, []string{"-" + strconv.Itoa(level)})
	}
	for _, a := range args {
		t.Run(a[len(a)-1], func(t *testing.T) {
			t.Parallel()
			mustDecode(t, compressFile(t, data, a...), data, nil)
			if a[0] == "-3" || a[0] == "-19" {
				mustDecode(t, compressStdin(t, data, a...), data, nil)
			}
		})
	}
}

// TestDecodeInputs decodes inputs of every compressibility at a fast, the
// default and the strongest level: each exercises other block, literal
// and sequence types (RLE blocks, raw blocks, RLE literals, matches that
// overlap their own output).
func TestDecodeInputs(t *testing.T) {
	inputs := map[string][]byte{
		"zeros":      zeros(700 << 10),
		"period1-7":  append(append(pattern(100<<10, 1), pattern(100<<10, 3)...), pattern(200<<10, 7)...),
		"period13":   pattern(300<<10, 13),
		"random":     random(400<<10, 2),
		"text+rand":  append(layer(t, 200<<10, 3), random(50<<10, 4)...),
		"short-text": []byte("hello, hello, hello zstd! hello, hello, hello zstd!\n"),
	}
	for name, data := range inputs {
		for _, level := range []string{"-1", "-3", "-19"} {
			t.Run(name+level, func(t *testing.T) {
				t.Parallel()
				mustDecode(t, compressFile(t, data, level), data, nil)
			})
		}
	}
}

// TestDecodeSizes decodes inputs from 0 bytes to a few MiB, around the
// block size, with the content size in the header and without it. The
// 100 MB case is TestDecodeLarge.
func TestDecodeSizes(t *testing.T) {
	sizes := []int{0, 1, 2, 7, 100, 1000, 128<<10 - 1, 128 << 10, 128<<10 + 1, 1 << 20, 3 << 20}
	if !raceEnabled {
		sizes = append(sizes, 20<<20)
	}
	for _, n := range sizes {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			t.Parallel()
			data := layer(t, n, uint64(n))
			mustDecode(t, compressFile(t, data), data, nil)
			mustDecode(t, compressStdin(t, data), data, nil)
		})
	}
}

// TestDecodeLarge decodes 100 MB, compressed with the content size and
// without. It takes a few seconds; it is skipped with -short and under
// -race, and .ci/run runs it in a step of its own without -race.
func TestDecodeLarge(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("the 100 MB case runs without -short and -race (.ci/run: go test -run TestDecodeLarge ./internal/zstd)")
	}
	data := layer(t, 100_000_000, 100)
	mustDecode(t, compressFile(t, data, "-3", "-T2"), data, nil)
	mustDecode(t, compressStdin(t, data, "-1", "--long=27"), data, nil)
}

// TestDecodeWindows decodes frames with small windows, so that the
// history wraps around many times and matches reach back across the wrap,
// and with --long windows.
func TestDecodeWindows(t *testing.T) {
	// Long-range repeats: the same 100 KiB at distances of about 600 KiB
	// and 1.8 MiB.
	r := random(100<<10, 5)
	data := bytes.Join([][]byte{r, layer(t, 500<<10, 6), r, layer(t, 1200<<10, 7), r}, nil)
	for _, args := range [][]string{
		{"--zstd=wlog=10"}, {"--zstd=wlog=11", "-12"}, {"--zstd=wlog=17"},
		{"--zstd=wlog=18", "-9"}, {"--zstd=wlog=20", "-3"}, {"--long=27"},
		{"--long=24", "-9"},
	} {
		t.Run(fmt.Sprint(args), func(t *testing.T) {
			t.Parallel()
			mustDecode(t, compressFile(t, data, args...), data, nil)
			if args[0] == "--zstd=wlog=10" || args[0] == "--long=27" {
				mustDecode(t, compressStdin(t, data, args...), data, nil)
			}
		})
	}
}

// TestDecodeWindowLimit decodes a --long=28 frame (a 256 MiB window) only
// when Options.MaxWindow allows it, and says how to allow it.
func TestDecodeWindowLimit(t *testing.T) {
	data := layer(t, 300<<10, 8)
	z := compressStdin(t, data, "--long=28")
	_, err := decode(z, nil)
	wantError(t, err, zstd.ErrWindowTooLarge)
	if want := "zstd: window too large: the frame needs a 256 MiB window, above the 128 MiB limit"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	mustDecode(t, z, data, &zstd.Options{MaxWindow: 256 << 20})
	// --long=27 is within the default.
	mustDecode(t, compressStdin(t, data, "--long=27"), data, nil)
	// A lower limit refuses frames the default accepts.
	_, err = decode(compressStdin(t, data, "--long=24"), &zstd.Options{MaxWindow: 8 << 20})
	wantError(t, err, zstd.ErrWindowTooLarge)
}

// TestDecodeMultiFrame decodes concatenated frames made with different
// settings, some with checksums and some without, one of them empty.
func TestDecodeMultiFrame(t *testing.T) {
	parts := [][]byte{layer(t, 300<<10, 9), nil, random(70<<10, 10), []byte("x"), zeros(200 << 10)}
	flags := [][]string{{"-19"}, {}, {"--no-check", "-1"}, {"--check"}, {"--no-check"}}
	var z, want []byte
	for i, p := range parts {
		if i%2 == 0 {
			z = append(z, compressStdin(t, p, flags[i]...)...)
		} else {
			z = append(z, compressFile(t, p, flags[i]...)...)
		}
		want = append(want, p...)
	}
	mustDecode(t, z, want, nil)
}

// TestDecodeHeaderFlags checks that the frames the other tests decode do
// carry, or lack, a content size and a checksum as the zstd command was
// asked, so those tests cover both.
func TestDecodeHeaderFlags(t *testing.T) {
	data := layer(t, 50<<10, 11)
	for _, c := range []struct {
		z                 []byte
		hasSize, checksum bool
	}{
		{compressFile(t, data), true, true},
		{compressFile(t, data, "--no-check"), true, false},
		{compressStdin(t, data), false, true},
		{compressStdin(t, data, "--no-check"), false, false},
		{compressFile(t, data, "--no-content-size", "--check"), false, true},
	} {
		fhd := c.z[4]
		hasSize := fhd>>6 != 0 || fhd&0x20 != 0
		if hasSize != c.hasSize || (fhd&4 != 0) != c.checksum {
			t.Errorf("frame header descriptor %#02x: content size %v, checksum %v; want %v, %v", fhd, hasSize, fhd&4 != 0, c.hasSize, c.checksum)
		}
		mustDecode(t, c.z, data, nil)
	}
}
