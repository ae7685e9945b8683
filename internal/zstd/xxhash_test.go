package zstd

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func sum(p []byte) uint64 {
	var x xxh64
	x.reset()
	x.write(p)
	return x.sum64()
}

// TestXXH64Vectors checks known XXH64 values (seed 0), from the reference
// implementation's xxhsum.
func TestXXH64Vectors(t *testing.T) {
	for in, want := range map[string]uint64{
		"":    0xef46db3751d8e999,
		"a":   0xd24ec4f1a98c6e5b,
		"abc": 0x44bc2cf5ad770999,
		"Nobody inspects the spammish repetition":     0xfbcea83c8a378bf1,
		"The quick brown fox jumps over the lazy dog": 0x0b242d361fda71bc,
	} {
		if got := sum([]byte(in)); got != want {
			t.Errorf("XXH64(%q) = %016x, want %016x", in, got, want)
		}
	}
}

// TestXXH64Pieces hashes inputs of every length up to 300 written in
// pieces of every size: the result must not depend on how the input is
// split.
func TestXXH64Pieces(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 300)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	for n := 0; n <= len(data); n++ {
		want := sum(data[:n])
		for piece := 1; piece <= 65; piece += 3 {
			var x xxh64
			x.reset()
			for p := data[:n]; len(p) > 0; {
				k := min(piece, len(p))
				x.write(p[:k])
				p = p[k:]
			}
			if got := x.sum64(); got != want {
				t.Fatalf("length %d in pieces of %d: %016x, want %016x", n, piece, got, want)
			}
		}
	}
}

// TestXXH64Differential compares with xxhsum (Debian's xxhash package) on
// inputs of many lengths, including every length around the 32-byte
// stripes.
func TestXXH64Differential(t *testing.T) {
	path, err := exec.LookPath("xxhsum")
	if err != nil {
		if os.Getenv("SKIFF_INTEGRATION") == "1" {
			t.Fatal("xxhsum is not on PATH, and SKIFF_INTEGRATION=1 forbids skipping (apt-get install xxhash)")
		}
		t.Skip("xxhsum is not on PATH; install Debian's xxhash package to run this test")
	}
	r := rand.New(rand.NewPCG(3, 4))
	lengths := []int{0, 1, 3, 4, 7, 8, 9, 31, 32, 33, 63, 64, 65, 67, 100, 1000, 1 << 16, 1<<20 + 13}
	for _, n := range lengths {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		cmd := exec.Command(path, "-H1")
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("xxhsum: %v", err)
		}
		want, err := strconv.ParseUint(strings.Fields(string(out))[0], 16, 64)
		if err != nil {
			t.Fatalf("xxhsum said %q: %v", out, err)
		}
		if got := sum(data); got != want {
			t.Errorf("length %d: %016x, xxhsum says %016x", n, got, want)
		}
	}
}
