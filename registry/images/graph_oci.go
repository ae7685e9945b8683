package images

import (
	"errors"
	"slices"

	"github.com/skiffoci/skiff/manifest"
)

// ToOCI returns g with every Docker-typed document converted to OCI media
// types as ToOCI converts one, children before parents, and each index's
// entries pointing at the converted children: a graph that every OCI tool
// reads, under new digests. Blobs keep their bytes and digests; only the
// media types that describe them change. A graph with referrers or
// cosign-tagged documents is refused: they name their subjects' digests,
// which change.
func (g *Graph) ToOCI() (*Graph, error) {
	if _, refs := g.split(); len(refs) > 0 || len(g.Tagged) > 0 {
		return nil, errors.New("images: converting to OCI media types changes digests, so what refers to the image would no longer apply")
	}
	out := &Graph{Docs: make([]*manifest.Document, 0, len(g.Docs)), Blobs: make([]manifest.Descriptor, 0, len(g.Blobs))}
	conv := make(map[manifest.Digest]*manifest.Document, len(g.Docs))
	for _, d := range g.Docs {
		nd, err := docToOCI(d, conv)
		if err != nil {
			return nil, err
		}
		conv[d.Digest] = nd
		out.Docs = append(out.Docs, nd)
	}
	out.Root = conv[g.Root.Digest]
	for _, b := range g.Blobs {
		b.MediaType = manifest.OCIMediaType(b.MediaType)
		out.Blobs = append(out.Blobs, b)
	}
	return out, nil
}

// docToOCI converts d; an index also gets the converted descriptors of
// the children conv holds.
func docToOCI(d *manifest.Document, conv map[manifest.Digest]*manifest.Document) (*manifest.Document, error) {
	if d.Index == nil {
		return manifest.ToOCI(d)
	}
	idx := *d.Index
	idx.Manifests = slices.Clone(idx.Manifests)
	changed := d.MediaType != manifest.MediaTypeOCIIndex
	for i, e := range idx.Manifests {
		if c, ok := conv[e.Digest]; ok && c.Digest != e.Digest {
			idx.Manifests[i].MediaType, idx.Manifests[i].Digest, idx.Manifests[i].Size = c.MediaType, c.Digest, int64(len(c.Raw))
			changed = true
		}
	}
	if !changed {
		return d, nil
	}
	idx.MediaType = manifest.MediaTypeOCIIndex
	return manifest.Marshal(manifest.MediaTypeOCIIndex, &idx)
}
