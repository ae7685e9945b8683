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
// anew, it parses as the same index, its checksum is the bytes', and its
// size is their count.
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
		x.compact()
		got, sum := x.encode()
		want := madeAgain(x)
		if !bytes.Equal(got, want) || sum != crc32.Checksum(want, castagnoli) {
			t.Fatalf("step %d: the encoding kept differs from the one made again", step)
		}
		if x.size() != int64(len(want)) {
			t.Fatalf("step %d: size %d, the encoding has %d bytes", step, x.size(), len(want))
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

// TestIndexEditTakenBack: an edit tried and taken back leaves the index
// as it was: its encoding (the one kept, and the one made again), its
// size, and the order of the entries each tag and digest has, which
// lookups read first.
func TestIndexEditTakenBack(t *testing.T) {
	x, err := parseIndex([]byte(`{"schemaVersion":2,"manifests":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	desc := func(i int) manifest.Descriptor {
		return manifest.DescriptorFor(manifest.MediaTypeOCIManifest, fmt.Appendf(nil, `{"n":%d}`, i))
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for step := range 3000 {
		tag, d := fmt.Sprintf("t%d", rng.IntN(100)), desc(rng.IntN(150))
		e := []indexEdit{tagEdit(tag, d), {Op: "add", Desc: &d}, {Op: "untag", Tag: tag}, {Op: "drop", Digest: d.Digest}}[rng.IntN(4)]
		before, _ := x.encode()
		before = bytes.Clone(before)
		lists := fmt.Sprint(x.tags, x.listed)
		if _, err := x.try(e); err != nil {
			t.Fatal(err)
		}
		if rng.IntN(3) > 0 {
			x.settle()
			continue
		}
		x.takeBack()
		got, sum := x.encode()
		if !bytes.Equal(got, before) || !bytes.Equal(madeAgain(x), before) || sum != crc32.Checksum(before, castagnoli) {
			t.Fatalf("step %d: %s taken back, the index encodes otherwise", step, e.Op)
		}
		if x.size() != int64(len(before)) || fmt.Sprint(x.tags, x.listed) != lists {
			t.Fatalf("step %d: %s taken back, its size or lists differ", step, e.Op)
		}
	}
}
