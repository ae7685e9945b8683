package tarball

import (
	"context"
	"fmt"
	"strings"

	"github.com/skiffoci/skiff/manifest"
)

// Loadable returns what the tarball holds whole of the image desc names,
// as `docker load` would load it. containerd (`ctr images export`) and
// Docker 25 with the containerd image store export an image's whole index
// but only the platforms they have; an image is held whole when its
// manifest, its config and every layer (foreign layers aside) are in the
// tarball.
//
// When the tarball holds all of desc, Loadable returns desc and no
// absent entries. Otherwise it returns the one manifest it holds whole, or
// an index of the several it holds (a new document the Reader keeps and
// serves, with a new digest), and absent lists the entries of desc's
// index it lacks, each with its platform. An image of which nothing is
// held whole is an error that names the platforms present and absent.
func (r *Reader) Loadable(ctx context.Context, desc manifest.Descriptor) (held manifest.Descriptor, absent []manifest.Descriptor, err error) {
	return r.loadable(ctx, desc, 0)
}

func (r *Reader) loadable(ctx context.Context, desc manifest.Descriptor, depth int) (manifest.Descriptor, []manifest.Descriptor, error) {
	if depth > manifest.MaxDepth {
		return desc, nil, fmt.Errorf("tarball: index nesting deeper than %d at %s", manifest.MaxDepth, desc.Digest)
	}
	doc, err := manifest.FetchDocument(ctx, r, desc)
	if err != nil {
		return desc, nil, err
	}
	if doc.Manifest != nil {
		return desc, nil, r.whole(doc)
	}
	var present, absent []manifest.Descriptor
	for _, child := range doc.Index.Manifests {
		if r.childHeld(ctx, child, depth) {
			present = append(present, child)
		} else {
			absent = append(absent, child)
		}
	}
	switch {
	case len(absent) == 0:
		return desc, nil, nil
	case len(present) == 0:
		return desc, absent, fmt.Errorf("tarball: index %s: the tarball holds none of its platforms whole (absent: %s)", desc.Digest, platformList(absent))
	case len(present) == 1:
		return present[0], absent, nil
	}
	idx := *doc.Index
	idx.Manifests = present
	sub, err := manifest.Marshal(doc.MediaType, &idx)
	if err != nil {
		return desc, nil, err
	}
	r.add(sub.Digest, blobSource{data: sub.Raw})
	return sub.Descriptor(), absent, nil
}

// childHeld reports whether the tarball holds an index entry whole; an
// artifact that is a plain blob counts when its blob is there.
func (r *Reader) childHeld(ctx context.Context, child manifest.Descriptor, depth int) bool {
	if !manifest.IsManifest(child.MediaType) && !manifest.IsIndex(child.MediaType) {
		_, err := r.lookup(child)
		return err == nil
	}
	if _, err := r.lookup(child); err != nil {
		return false
	}
	_, absent, err := r.loadable(ctx, child, depth+1)
	return err == nil && len(absent) == 0
}

// whole checks that the tarball holds the config and every layer of doc,
// a manifest, except foreign layers.
func (r *Reader) whole(doc *manifest.Document) error {
	for _, d := range append([]manifest.Descriptor{doc.Manifest.Config}, doc.Manifest.Layers...) {
		if manifest.IsForeign(d.MediaType) {
			continue
		}
		if _, err := r.lookup(d); err != nil {
			return fmt.Errorf("tarball: image %s is incomplete: %w", doc.Digest, err)
		}
	}
	return nil
}

// add registers bytes made after Open under digest d.
func (r *Reader) add(d manifest.Digest, src blobSource) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.added == nil {
		r.added = make(map[manifest.Digest]blobSource)
	}
	r.added[d] = src
}

// platformList lists the platforms of index entries, "unknown" for an entry
// without one, separated by commas: "linux/amd64, linux/arm64".
func platformList(ds []manifest.Descriptor) string {
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = "unknown"
		if d.Platform != nil {
			names[i] = d.Platform.String()
		}
	}
	return strings.Join(names, ", ")
}
