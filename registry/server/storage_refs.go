package server

import "github.com/skiffoci/skiff/manifest"

// TagLinker is a Storage that links a manifest and the tag naming it in
// one step, as cheaply as one link: a layout storage then replaces its
// index.json once per push by tag, not twice. The Server uses it for a
// manifest PUT by tag when the storage has it.
type TagLinker interface {
	// LinkTagged links the manifest m into repo, as Link does, and tag
	// naming it.
	LinkTagged(repo string, m Link, tag string) error
}

var _ TagLinker = (*layoutStorage)(nil)

// ReferenceIndex is a Storage that knows, without reading every manifest
// of a repository, which of them refer to a digest as their subject and
// which reference it as config, layer or child. The Server answers the
// referrers API and checks deletes with it when the storage has it, and
// reads the repository's manifests otherwise.
type ReferenceIndex interface {
	// Referrers returns the descriptors the referrers API lists for
	// repo's manifests whose subject is d, sorted by digest; an unknown
	// repository has none.
	Referrers(repo string, d manifest.Digest) ([]manifest.Descriptor, error)
	// ReferencedBy returns the first, by digest, of repo's manifests
	// other than d that references d as its config, a layer or a child,
	// or "" when none does.
	ReferencedBy(repo string, d manifest.Digest) (manifest.Digest, error)
}

var _ ReferenceIndex = (*layoutStorage)(nil)
