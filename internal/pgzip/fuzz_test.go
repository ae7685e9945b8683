package pgzip_test

import (
	"bytes"
	"testing"

	"github.com/skiffoci/skiff/internal/pgzip"
)

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte(""), uint16(1), uint8(6), uint16(0))
	f.Add([]byte("hello, hello, hello"), uint16(3), uint8(1), uint16(2))
	f.Add(textBytes(5000, 1), uint16(1000), uint8(9), uint16(7))
	f.Add(randomBytes(5000, 2), uint16(999), uint8(254), uint16(13))
	f.Fuzz(fuzzBody)
}

func fuzzBody(t *testing.T, in []byte, blockSize uint16, level uint8, chunk uint16) {
	// Levels -2 (HuffmanOnly) to 9; 0 means the default.
	lvl := int(int8(level))%12 - 2
	if lvl < -2 {
		lvl += 12
	}
	bs := int(blockSize)%(8<<10) + 512
	opts := &pgzip.Options{BlockSize: bs, Level: lvl, Workers: 3}
	z := compress(t, in, opts, int(chunk))
	if got := gunzip(t, z); !bytes.Equal(got, in) {
		t.Fatalf("round trip: got %d bytes, want %d", len(got), len(in))
	}
	if again := compress(t, in, &pgzip.Options{BlockSize: bs, Level: lvl, Workers: 1}, 0); !bytes.Equal(again, z) {
		t.Fatal("output depends on workers or write sizes")
	}
}
