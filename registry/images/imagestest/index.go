package imagestest

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
)

// Index returns a multi-platform image of imgs, each listed with the
// platform its config names: a Docker manifest list when every image is
// a Docker one, else an OCI index. Write it anywhere with its Write
// method; its images are read from where each came from.
func Index(imgs ...*images.Image) (*images.Index, error) {
	src := &indexSource{by: map[manifest.Digest]*images.Image{}}
	mt := manifest.MediaTypeDockerManifestList
	idx := manifest.Index{SchemaVersion: 2}
	for _, im := range imgs {
		d, err := src.add(im)
		if err != nil {
			return nil, err
		}
		if d.MediaType != manifest.MediaTypeDockerManifest {
			mt = manifest.MediaTypeOCIIndex
		}
		idx.Manifests = append(idx.Manifests, d)
	}
	if len(imgs) == 0 {
		mt, idx.Manifests = manifest.MediaTypeOCIIndex, []manifest.Descriptor{}
	}
	idx.MediaType = mt
	doc, err := manifest.Marshal(mt, &idx)
	if err != nil {
		return nil, err
	}
	src.doc = doc
	return images.OpenIndexFrom(context.Background(), src, string(doc.Digest))
}

// indexSource serves an index from memory and everything below it from
// the images it lists.
type indexSource struct {
	doc *manifest.Document
	by  map[manifest.Digest]*images.Image // every blob of every image
}

// add records where im's blobs are and returns its entry in the index.
func (s *indexSource) add(im *images.Image) (manifest.Descriptor, error) {
	doc, err := im.Manifest()
	if err != nil {
		return manifest.Descriptor{}, fmt.Errorf("imagestest: %w", err)
	}
	for _, d := range append([]manifest.Descriptor{doc.Descriptor(), doc.Manifest.Config}, doc.Manifest.Layers...) {
		s.by[d.Digest] = im
	}
	d := doc.Descriptor()
	p := im.Platform()
	d.Platform = &p
	return d, nil
}

func (s *indexSource) Fetch(ctx context.Context, d manifest.Descriptor) (io.ReadCloser, error) {
	if d.Digest == s.doc.Digest {
		return io.NopCloser(manifest.NewVerifyingReader(bytes.NewReader(s.doc.Raw), d)), nil
	}
	if im := s.by[d.Digest]; im != nil {
		return im.Fetch(ctx, d)
	}
	return nil, fmt.Errorf("imagestest: %s: %w", d.Digest, manifest.ErrNotFound)
}

func (s *indexSource) Resolve(_ context.Context, ref string) (manifest.Descriptor, error) {
	if ref != string(s.doc.Digest) {
		return manifest.Descriptor{}, fmt.Errorf("imagestest: %s: %w", ref, manifest.ErrNotFound)
	}
	return s.doc.Descriptor(), nil
}
