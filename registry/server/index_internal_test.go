package server

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"testing"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

// TestIndexEncodingKeptMatchesMadeAgain: after any sequence of edits,
// the encoding an index keeps and grows is the one made from its entries
// anew, it parses as the same index, and its checksum is the bytes'.
func TestIndexEncodingKeptMatchesMadeAgain(t *testing.T) {
	x, err := parseIndex([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"annotations":{"a":"b"}}`))
	if err != nil {
		t.Fatal(err)
	}
	desc := func(i int) manifest.Descriptor {
		return manifest.DescriptorFor(manifest.MediaTypeOCIManifest, fmt.Appendf(nil, `{"n":%d}`, i))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for step := range 3000 {
		tag, d := fmt.Sprintf("t%d", rng.IntN(200)), desc(rng.IntN(300))
		switch rng.IntN(10) {
		case 0, 1, 2, 3, 4, 5:
			x.setTag(tag, d)
		case 6, 7:
			x.add(d)
		case 8:
			x.untag(tag)
		case 9:
			x.drop(d.Digest)
		}
		got, sum := x.encode()
		want := madeAgain(x)
		if !bytes.Equal(got, want) || sum != crc32.Checksum(want, castagnoli) {
			t.Fatalf("step %d: the encoding kept differs from the one made again", step)
		}
		if step%500 == 0 {
			y, err := parseIndex(want)
			if err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			if again, _ := y.encode(); !bytes.Equal(again, want) {
				t.Fatalf("step %d: parsed again, the index encodes otherwise", step)
			}
			for tg, es := range x.tags {
				if d, ok := y.tagged(tg); !ok || d.Digest != es[0].desc.Digest || es[0].desc.Annotations[layout.RefNameAnnotation] != tg {
					t.Fatalf("step %d: tag %s lost", step, tg)
				}
			}
		}
	}
}

// madeAgain encodes x from its entries, apart from what it keeps.
func madeAgain(x *repoIndex) []byte {
	b := bytes.Clone(x.prefix)
	first := true
	for _, e := range x.entries {
		if e != nil {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, e.raw...)
		}
	}
	return append(b, x.suffix...)
}
