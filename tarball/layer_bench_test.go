package tarball_test

import (
	"archive/tar"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/skiffoci/skiff/tarball"
)

// BenchmarkLayerWriter builds a 32 MiB layer, half random and half text,
// through the layer gzip seam (internal/pgzip).
func BenchmarkLayerWriter(b *testing.B) {
	random := make([]byte, 16<<20)
	rand.NewChaCha8([32]byte{3}).Read(random)
	text := make([]byte, 0, 16<<20)
	for i := 0; len(text) < cap(text)-64; i++ {
		text = append(text, "usr/share/doc/skiff/README line of text "...)
		text = append(text, byte('a'+i%26), '\n')
	}
	files := map[string][]byte{"bin/app": random, "doc/app.txt": text}
	b.SetBytes(int64(len(random) + len(text)))
	b.ReportAllocs()
	for b.Loop() {
		lw := tarball.NewLayerWriter(io.Discard, nil)
		for _, name := range []string{"bin/app", "doc/app.txt"} {
			hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(files[name])), Typeflag: tar.TypeReg}
			if err := lw.WriteHeader(hdr); err != nil {
				b.Fatal(err)
			}
			if _, err := lw.Write(files[name]); err != nil {
				b.Fatal(err)
			}
		}
		if err := lw.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
