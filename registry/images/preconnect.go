package images

import (
	"context"

	"github.com/skiffoci/skiff/manifest"
)

// preconnecter is a store that can open connections ahead of a wave of
// requests, as a *registry.Repository does.
type preconnecter interface {
	Preconnect(ctx context.Context, n int)
}

// preconnect asks store, if it is a preconnecter, to open connections for
// the jobs requests that will soon go to it at once, while the request in
// flight (a manifest, an existence check) tells what they are.
func preconnect(ctx context.Context, store any, jobs int) {
	if p, ok := store.(preconnecter); ok {
		p.Preconnect(ctx, jobs)
	}
}

// preconnectCopy opens connections for a copy of s into dst before its
// graph is walked: to dst, whose existence checks follow the walk, and
// to s's registry, whose blobs are fetched once dst has been asked about
// them or, for an index, once the walk has fetched its manifests. Into a
// layout, an image's blobs are fetched as soon as its manifest is in
// hand: there is no round trip for connections opened then to gain.
func (s *Source) preconnectCopy(ctx context.Context, dst manifest.Store, jobs int) {
	_, remote := dst.(preconnecter)
	if remote {
		preconnect(ctx, dst, jobs)
	}
	if remote || manifest.IsIndex(s.Root.MediaType) {
		preconnect(ctx, s.Store, jobs)
	}
}
