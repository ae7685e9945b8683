package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/tarball"
)

// Kinds of image location, named as skopeo names its transports.
const (
	kindRegistry      = "docker"
	kindOCI           = "oci"
	kindDockerArchive = "docker-archive"
	kindOCIArchive    = "oci-archive"
	kindDirectory     = "dir" // what a docker tarball holds, as files: pull --no-tar
)

// location is where an image is: a registry reference, or a path with an
// optional name inside it.
type location struct {
	kind string
	ref  reference.Reference // kindRegistry
	path string              // the other kinds
	name string              // tag (oci, oci-archive) or reference (docker-archive), may be ""
}

func (l location) String() string {
	if l.kind == kindRegistry {
		return l.ref.String()
	}
	if l.name == "" {
		return l.kind + ":" + l.path
	}
	return l.kind + ":" + l.path + ":" + l.name
}

// parseLocation reads "oci:DIR[:TAG]", "docker-archive:FILE[:REF]",
// "oci-archive:FILE[:TAG]", "docker://REF" or a plain registry reference.
func parseLocation(s string) (location, error) {
	kind, rest, found := strings.Cut(s, ":")
	switch {
	case found && kind == kindOCI, found && kind == kindOCIArchive:
		path, tag := splitTag(rest)
		if path == "" {
			return location{}, usagef("%q: missing path", s)
		}
		return location{kind: kind, path: path, name: tag}, nil
	case found && kind == kindDockerArchive:
		path, name, _ := strings.Cut(rest, ":")
		if path == "" {
			return location{}, usagef("%q: missing path", s)
		}
		if name != "" {
			if _, err := reference.Parse(name); err != nil {
				return location{}, err
			}
		}
		return location{kind: kind, path: path, name: name}, nil
	case found && kind == "docker" && strings.HasPrefix(rest, "//"):
		s = rest[2:]
	}
	ref, err := reference.Parse(s)
	if err != nil {
		return location{}, err
	}
	return location{kind: kindRegistry, ref: ref}, nil
}

// splitTag splits "dir:tag" at its last colon when what follows is a tag.
func splitTag(s string) (string, string) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 || !reference.ValidTag(s[i+1:]) {
		return s, ""
	}
	return s[:i], s[i+1:]
}

// source is an opened image: where to fetch from and the root to copy.
type source struct {
	loc       location
	fetcher   manifest.Fetcher
	root      manifest.Descriptor
	close     func() error
	archive   *tarball.Reader // a tarball source: see fromArchive
	converted manifest.Digest // the root's digest before --oci-media-types
}

// openSource opens loc for reading and resolves its root descriptor.
func openSource(ctx context.Context, c *registry.Client, loc location, o *options) (*source, error) {
	src := &source{loc: loc, close: func() error { return nil }}
	var resolver manifest.Resolver
	var ref string
	switch loc.kind {
	case kindRegistry:
		// One GET, not HEAD then GET: the repository keeps the manifest,
		// so reading it again by digest costs no second round trip.
		repo := c.Repository(loc.ref)
		src.fetcher = repo
		doc, err := repo.FetchManifest(ctx, loc.ref.Identifier())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", loc, err)
		}
		src.root = doc.Descriptor()
		return src, nil
	case kindOCI:
		l, err := openLayoutForRead(loc.path)
		if err != nil {
			return nil, err
		}
		src.fetcher, resolver, ref, src.close = l, l, loc.name, l.Close
		if ref == "" {
			return src, soleEntry(src, l)
		}
	default:
		r, err := tarball.OpenFile(loc.path, &tarball.OpenOptions{MaxZstdWindow: o.maxZstdWindow()})
		if err != nil {
			return nil, err
		}
		src.fetcher, resolver, ref, src.close, src.archive = r, r, loc.name, r.Close, r
		if ref == "" {
			return src, soleImage(src, r)
		}
	}
	root, err := resolver.Resolve(ctx, ref)
	if err != nil {
		src.close()
		return nil, fmt.Errorf("%s: %w", loc, err)
	}
	src.root = root
	return src, nil
}

func openLayoutForRead(dir string) (*layout.Layout, error) {
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		return nil, fmt.Errorf("%s is not an OCI image layout: %w", dir, err)
	}
	return layout.Open(dir)
}

// soleEntry picks the only image of a layout named without a tag; what
// is attached to images (signatures, SBOMs) is no candidate.
func soleEntry(src *source, l *layout.Layout) error {
	idx, err := l.Index()
	if err != nil {
		return err
	}
	cands := idx.Manifests
	if len(cands) > 1 {
		cands = nil
		for _, d := range idx.Manifests {
			if !attachedEntry(l, d) {
				cands = append(cands, d)
			}
		}
	}
	if len(cands) != 1 {
		return fmt.Errorf("%s holds %d images; name one as %s:TAG", src.loc, len(cands), src.loc)
	}
	src.root = cands[0]
	return nil
}

// attachedEntry reports whether an index.json entry is attached to an
// image rather than one: named by a cosign tag, or a referrer or artifact.
func attachedEntry(f manifest.Fetcher, d manifest.Descriptor) bool {
	if manifest.IsCosignTag(d.Annotations[tarball.AnnotationRefName]) {
		return true
	}
	if !manifest.IsManifest(d.MediaType) && !manifest.IsIndex(d.MediaType) {
		return true
	}
	doc, err := manifest.FetchDocument(context.Background(), f, d)
	return err == nil && doc.Attached()
}

// soleImage picks the only image of a tarball named without a reference;
// what is attached to images (signatures, SBOMs) is no candidate.
func soleImage(src *source, r *tarball.Reader) error {
	root, err := r.Resolve(context.Background(), "")
	if err == nil {
		src.root = root
		return nil
	}
	src.close()
	imgs := r.Candidates()
	var names []string
	for _, im := range imgs {
		names = append(names, im.Tags...)
	}
	return fmt.Errorf("%s holds %d images (%s); name one as %s:NAME", src.loc, len(imgs), strings.Join(names, ", "), src.loc)
}

// errNeedsPlatform is returned when an index must be narrowed to one
// manifest and no platform was given.
var errNeedsPlatform = errors.New("a docker tarball holds single-platform images; choose one with --platform")
