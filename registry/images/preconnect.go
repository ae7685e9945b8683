package images

import (
	"context"

	"github.com/skiffoci/skiff/manifest"
)

// Preconnect opens, in the background, connections to the registries
// among srcs and dst for the transfer from srcs to dst about to begin,
// one for each request it will make there at once: 2×Jobs into a
// registry or a layout (blobs are checked and moved Jobs at a time, and
// large ones moved Jobs at a time beside them), Jobs into an archive.
// Call it before OpenSource, so that they are ready when the sources'
// root manifests are in and the transfer's first wave of requests (an
// index's manifests, an image's blobs, the destination's existence
// checks) goes out, instead of each of those requests waiting for a
// handshake. From sources that are all files there is no round trip to
// hide: dst's connections are then left to the requests. Copy calls it.
// It takes opts.Client, which must be the Client the transfer uses;
// without one it does nothing. See registry.Repository.Preconnect.
func Preconnect(ctx context.Context, srcs []Location, dst Location, opts *Options) {
	if opts == nil || opts.Client == nil {
		return
	}
	n := (&CopyOptions{Jobs: opts.Jobs}).jobs()
	if !dst.isArchive() {
		n *= 2
	}
	remote := false
	for _, l := range srcs {
		if l.Kind == KindRegistry {
			remote = true
			opts.Client.Repository(l.Ref).Preconnect(ctx, n)
		}
	}
	if remote && dst.Kind == KindRegistry {
		repo := opts.Client.Repository(dst.Ref)
		repo.WillPush()
		repo.Preconnect(ctx, n)
	}
}

// preconnecter is a store that can open connections ahead of a wave of
// requests, as a *registry.Repository does.
type preconnecter interface {
	Preconnect(ctx context.Context, n int)
}

// preconnect asks store, if it is a preconnecter, to open connections for
// the n requests that will soon go to it at once, while the request in
// flight (a manifest, an existence check) tells what they are.
func preconnect(ctx context.Context, store any, n int) {
	if p, ok := store.(preconnecter); ok {
		p.Preconnect(ctx, n)
	}
}

// A copy checks its blobs and moves the small ones jobs at a time, and
// moves the large ones jobs at a time beside them (see copier.blobs): up
// to 2×jobs requests at once to the destination and to the source.
// Connections for them are opened as soon as the copy knows it will make
// them, while a request to a registry source is still in flight; after
// Preconnect, the calls below find them open already.

// preconnectIndex opens, before the manifests of an index in a registry
// are fetched, the connections its copy into dst will use once they are
// in: 2×jobs to dst (none into a layout) and to s's registry. The walk
// and the first requests to dst then take no handshake's round trip.
func (s *Source) preconnectIndex(ctx context.Context, dst manifest.Store, jobs int) {
	if _, remote := s.Store.(preconnecter); remote && manifest.IsIndex(s.Root.MediaType) {
		preconnect(ctx, dst, 2*jobs)
		preconnect(ctx, s.Store, 2*jobs)
	}
}

// preconnectImage opens, for an image's copy from a registry into a
// registry, a connection to the source for each of its blobs, up to
// 2×jobs: the fetches go out once the first existence checks are
// answered. (Into a layout they go out at once: connections opened now
// would gain nothing.)
func (s *Source) preconnectImage(ctx context.Context, dst manifest.Store, blobs, jobs int) {
	if _, remote := dst.(preconnecter); remote && !manifest.IsIndex(s.Root.MediaType) {
		preconnect(ctx, s.Store, min(blobs, 2*jobs))
	}
}
