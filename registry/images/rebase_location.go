package images

import (
	"context"
	"fmt"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
)

// Rebase moves the image or index at img off the base at oldBase and onto
// the one at newBase, as `skiff rebase` does, writes the result to dst
// and returns its descriptor. All four are spelled as ParseLocation reads
// them; dst "" means img's own place, which must then be named by a tag.
//
// Each image is rebased as Image.Rebase says, and its annotations
// org.opencontainers.image.base.name and .base.digest name newBase: its
// location, in full, and the digest that location resolved to (an
// index's, for a multi-platform base). With oldBase "", each image's old
// base is the one those annotations name (as an earlier Rebase, buildkit
// or crane left them); they are the image's word, not the caller's, so a
// registry they name that the caller did not (as img, oldBase, newBase or
// dst) is read without credentials, and from an image in a registry a
// location on this machine (oci:, an archive) is refused. Of an index, every platform is rebased onto
// newBase's image of that platform; oldBase and newBase may be indexes
// or single images of that platform. Entries without a platform (such as
// attestations) are dropped, since what they attest is gone.
//
// Only manifests and configs are read. Writing, the image's own layers
// are skipped when dst is img's repository and newBase's are mounted
// within one registry; across registries they stream, never to disk.
func Rebase(ctx context.Context, img, oldBase, newBase, dst string, opts *Options) (manifest.Descriptor, error) {
	if dst == "" {
		dst = img
	}
	opts = opts.withClient()
	rb := &rebaser{opts: opts, oldBase: oldBase, sources: map[string]*Source{}, named: map[string]bool{}}
	defer rb.close()
	for _, s := range []string{img, oldBase, newBase, dst} {
		if loc, err := ParseLocation(s); err == nil && loc.Kind == KindRegistry {
			rb.named[loc.Ref.Registry] = true
		}
	}
	src, err := rb.open(ctx, img)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	rb.remote = src.Location.Kind == KindRegistry
	nb, err := rb.open(ctx, newBase)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	rb.newBase = nb
	doc, err := manifest.FetchDocument(ctx, src.Store, src.Root)
	if err != nil {
		return manifest.Descriptor{}, fmt.Errorf("images: %s: %w", src.Location, err)
	}
	if doc.Index == nil {
		im, err := OpenDocument(ctx, src.fetcher(), doc)
		if err == nil {
			im, err = rb.rebase(ctx, im)
		}
		if err != nil {
			return manifest.Descriptor{}, err
		}
		return Write(ctx, im, dst, opts)
	}
	ix, err := newIndex(src.fetcher(), doc, img)
	if err == nil {
		ix, err = rb.rebaseIndex(ctx, ix)
	}
	if err != nil {
		return manifest.Descriptor{}, err
	}
	return WriteIndex(ctx, ix, dst, opts)
}

// rebaser holds what one Rebase opened.
type rebaser struct {
	opts    *Options
	oldBase string
	newBase *Source
	sources map[string]*Source // by location, so that each is opened once
	named   map[string]bool    // the registry hosts the caller named
	remote  bool               // the image is in a registry
}

// open opens the image or index at location, once.
func (rb *rebaser) open(ctx context.Context, location string) (*Source, error) {
	loc, err := ParseLocation(location)
	if err != nil {
		return nil, err
	}
	return rb.openLocation(ctx, loc)
}

func (rb *rebaser) openLocation(ctx context.Context, loc Location) (*Source, error) {
	if s, ok := rb.sources[loc.String()]; ok {
		return s, nil
	}
	opts := rb.opts
	if loc.Kind == KindRegistry && !rb.named[loc.Ref.Registry] {
		o := *opts // a host only an image's annotation named gets no credentials
		o.Client = withoutCredentials(opts.Client)
		opts = &o
	}
	s, err := OpenSource(ctx, loc, opts)
	if err != nil {
		return nil, err
	}
	rb.sources[loc.String()] = s
	return s, nil
}

func (rb *rebaser) close() {
	for _, s := range rb.sources {
		s.Close()
	}
}

// rebaseIndex rebases every platform of ix.
func (rb *rebaser) rebaseIndex(ctx context.Context, ix *Index) (*Index, error) {
	out := ix.clone()
	out.removeWhere(func(_ int, d manifest.Descriptor) bool { return d.Platform == nil || d.Platform.OS == "unknown" })
	for i, d := range out.index.Manifests {
		im, err := OpenDescriptor(ctx, out.entries[i].from, d)
		if err == nil {
			im, err = rb.rebase(ctx, im)
		}
		if err != nil {
			return nil, fmt.Errorf("images: %s: %w", platformName(*d.Platform), err)
		}
		nd, err := im.Descriptor()
		if err != nil {
			return nil, err
		}
		e := &out.index.Manifests[i]
		e.MediaType, e.Digest, e.Size = nd.MediaType, nd.Digest, nd.Size
		out.entries[i] = entry{from: im.base, img: im}
	}
	return out, nil
}

// rebase moves im onto the new base's image of im's platform.
func (rb *rebaser) rebase(ctx context.Context, im *Image) (*Image, error) {
	p := im.Platform()
	old, err := rb.oldLocation(im)
	if err != nil {
		return nil, err
	}
	oldImg, err := rb.baseImage(ctx, old, p)
	if err != nil {
		return nil, err
	}
	newImg, err := rb.baseImage(ctx, rb.newBase.Location, p)
	if err != nil {
		return nil, err
	}
	return im.Rebase(oldImg, newImg, &RebaseOptions{BaseName: rb.newBase.Location.String(), BaseDigest: rb.newBase.Root.Digest})
}

// oldLocation is where im's old base is: the location Rebase was given,
// else the one im's annotations name.
func (rb *rebaser) oldLocation(im *Image) (Location, error) {
	if rb.oldBase != "" {
		return ParseLocation(rb.oldBase)
	}
	a := im.edit.Manifest.Annotations
	name, digest := a[BaseNameAnnotation], a[BaseDigestAnnotation]
	if name == "" || digest == "" {
		return Location{}, fmt.Errorf("images: the image has no %s and %s annotations to find its old base by: name the old base", BaseNameAnnotation, BaseDigestAnnotation)
	}
	d, err := manifest.ParseDigest(digest)
	if err != nil {
		return Location{}, fmt.Errorf("images: annotation %s: %w", BaseDigestAnnotation, err)
	}
	loc, err := ParseLocation(name)
	if err != nil {
		return Location{}, fmt.Errorf("images: annotation %s: %w", BaseNameAnnotation, err)
	}
	if rb.remote && loc.Kind != KindRegistry {
		return Location{}, fmt.Errorf("images: annotation %s of an image in a registry names %s, a place on this machine, which skiff opens only when you name it: name the old base", BaseNameAnnotation, loc.Kind)
	}
	if loc.Kind == KindRegistry {
		loc.Ref.Digest = string(d)
	} else {
		loc.Name = string(d)
	}
	return loc, nil
}

// withoutCredentials is c with no keychain: how a registry is reached
// that the caller never named, but an image's annotation did. The
// keychain may answer for every host (ACCESS_TOKEN, REFRESH_TOKEN).
func withoutCredentials(c *registry.Client) *registry.Client {
	return &registry.Client{Transport: c.Transport, Insecure: c.Insecure, UserAgent: c.UserAgent,
		CertsDir: c.CertsDir, RootCAs: c.RootCAs, ChunkSize: c.ChunkSize, Retry: c.Retry,
		Timeouts: c.Timeouts, Trace: c.Trace, Mirrors: c.Mirrors}
}

// baseImage opens platform p's image of the base at loc.
func (rb *rebaser) baseImage(ctx context.Context, loc Location, p manifest.Platform) (*Image, error) {
	s, err := rb.openLocation(ctx, loc)
	if err != nil {
		return nil, err
	}
	doc, err := s.Manifest(ctx, p)
	if err != nil {
		return nil, err
	}
	return OpenDocument(ctx, s.fetcher(), doc)
}
