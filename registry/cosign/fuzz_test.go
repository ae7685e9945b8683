package cosign_test

import (
	"path/filepath"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/cosign"
)

// seedLayers adds to f every layer of media type mt that the real cosign
// wrote in testdata/cosign.
func seedLayers(f *testing.F, match func(mt string) bool) {
	n := 0
	for _, name := range caseNames(f) {
		c, store := loadCase(f, name)
		var sigs []manifest.Descriptor
		for _, d := range c.Tags {
			sigs = append(sigs, d)
		}
		for _, d := range append(sigs, c.Referrers...) {
			doc := must(manifest.FetchDocument(f.Context(), store, d))
			for _, l := range doc.Manifest.Layers {
				if match(l.MediaType) {
					f.Add(must(manifest.FetchAll(f.Context(), store, l, 1<<20)))
					n++
				}
			}
		}
	}
	if n == 0 {
		f.Fatalf("no seeds in %s", filepath.FromSlash(casesDir))
	}
}

func FuzzParsePayload(f *testing.F) {
	seedLayers(f, func(mt string) bool { return mt == cosign.PayloadMediaType })
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := cosign.ParsePayload(raw)
		if err != nil {
			return
		}
		if p.Digest.Validate() != nil || p.Reference == "" {
			t.Fatalf("accepted %q as %+v", raw, p)
		}
		again, err := p.Marshal()
		if err != nil {
			t.Fatalf("a parsed payload does not marshal: %v", err)
		}
		q, err := cosign.ParsePayload(again)
		if err != nil || q.Digest != p.Digest || q.Reference != p.Reference {
			t.Fatalf("round trip of %q: %+v, %v", raw, q, err)
		}
	})
}

func FuzzParseBundle(f *testing.F) {
	seedLayers(f, func(mt string) bool { return mt == cosign.BundleMediaType })
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := cosign.ParseBundle(raw)
		if err != nil {
			return
		}
		if (b.Envelope == nil) == (b.MessageSignature == nil) {
			t.Fatalf("accepted %q with both or neither content", raw)
		}
		if b.Envelope != nil {
			cosign.ParseStatement(b.Envelope.Payload)
		}
	})
}
