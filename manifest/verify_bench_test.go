package manifest_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/skiffoci/skiff/manifest"
)

// BenchmarkVerifyingReader streams a 64 MiB blob through the verifying
// reader, as every fetched blob is: the cost is sha256, and allocations
// must not grow with the size.
func BenchmarkVerifyingReader(b *testing.B) {
	blob := make([]byte, 64<<20)
	rand.NewChaCha8([32]byte{7}).Read(blob)
	desc := manifest.DescriptorFor(manifest.MediaTypeOCILayerGzip, blob)
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(blob)))
	b.ReportAllocs()
	for b.Loop() {
		vr := manifest.NewVerifyingReader(bytes.NewReader(blob), desc)
		if _, err := io.CopyBuffer(io.Discard, onlyReader{vr}, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// onlyReader hides any WriterTo, so the copy goes through Read as a
// network body's would.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }
