package pgzip_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/skiffoci/skiff/internal/pgzip"
)

var (
	benchOnce  sync.Once
	benchInput []byte
)

// tarLike is 256 MiB shaped like a layer: 512-byte headers before files of
// 4 KiB to 2 MiB, half of them random (already compressed binaries, images)
// and half text-like. It is the same on every run.
func tarLike() []byte {
	benchOnce.Do(func() {
		const size = 256 << 20
		r := rand.New(rand.NewPCG(1, 2))
		noise := rand.NewChaCha8([32]byte{1})
		buf := bytes.NewBuffer(make([]byte, 0, size+4<<20))
		text := textBytes(4<<20, 3)
		for i := 0; buf.Len() < size; i++ {
			hdr := make([]byte, 512)
			copy(hdr, "usr/lib/skiff/file.so\x00")
			buf.Write(hdr)
			n := 4<<10 + r.IntN(2<<20)
			if i%2 == 0 {
				p := make([]byte, n)
				noise.Read(p)
				buf.Write(p)
			} else {
				off := r.IntN(len(text) - n)
				buf.Write(text[off : off+n])
			}
		}
		benchInput = buf.Bytes()[:size]
	})
	return benchInput
}

func benchCompress(b *testing.B, newWriter func(io.Writer) io.WriteCloser) {
	in := tarLike()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	b.ResetTimer()
	var out int64
	for b.Loop() {
		c := &countWriter{}
		zw := newWriter(c)
		for p := in; len(p) > 0; p = p[min(len(p), 32<<10):] {
			if _, err := zw.Write(p[:min(len(p), 32<<10)]); err != nil {
				b.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			b.Fatal(err)
		}
		out = c.n
	}
	b.ReportMetric(float64(out)/float64(len(in)), "ratio")
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func BenchmarkPgzip(b *testing.B) {
	for _, tc := range []struct {
		name  string
		level int
	}{{"default", gzip.DefaultCompression}, {"bestspeed", gzip.BestSpeed}} {
		b.Run(tc.name, func(b *testing.B) {
			benchCompress(b, func(w io.Writer) io.WriteCloser {
				return pgzip.NewWriter(w, &pgzip.Options{Level: tc.level})
			})
		})
	}
}

func BenchmarkStdGzip(b *testing.B) {
	for _, tc := range []struct {
		name  string
		level int
	}{{"default", gzip.DefaultCompression}, {"bestspeed", gzip.BestSpeed}} {
		b.Run(tc.name, func(b *testing.B) {
			benchCompress(b, func(w io.Writer) io.WriteCloser {
				zw, _ := gzip.NewWriterLevel(w, tc.level)
				zw.Header = gzip.Header{OS: 255}
				return zw
			})
		})
	}
}
