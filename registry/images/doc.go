// Package images is skiff's front door for editing images: an Image is a
// lazy, immutable value that knows where each of its blobs lives.
//
// Open reads an image's manifest and config, and nothing else, from any
// store (a registry.Repository, a layout.Layout, a tarball.Reader).
// RemoveLayer, AppendLayer and EditConfig return new Images; the one they
// are given stays valid. New layers come from tarball's builders
// (LayerFromDir, LayerFromFiles, LayerFromTar) and stay in their files
// until written. An Image is itself a manifest.Fetcher: it serves its
// config from memory, its new layers from their files and every other
// blob from where it was opened, so it can be written anywhere:
//
//   - Write pushes it to a manifest.Store (a registry repository or a
//     layout): the base's blobs are skipped when the store is the base's
//     own repository, mounted within one registry or streamed across
//     (never to disk), the new blobs pushed, the manifest last;
//   - a tarball.Entry takes it as its Source, for tarball.WriteFile.
//
// An Index does the same for a multi-platform image: pick one platform's
// Image, replace it, write the index back; the other platforms are copied
// as they are (mounted within a registry).
//
// # Errors
//
// Errors keep their cause, so a caller can act on them with errors.Is and
// errors.As:
//
//   - registry.ErrNotFound (the same sentinel as manifest.ErrNotFound): no
//     such repository, tag, manifest, blob or platform, in any store;
//   - registry.ErrUnreachable: no answer from the registry (refused, no
//     route, TLS failure); registry.ErrPlainHTTP when it speaks plain
//     HTTP and its host is not in registry.Client.Insecure;
//   - context.Canceled, context.DeadlineExceeded: the context ended; the
//     error still names the request it stopped;
//   - registry.ErrUnauthorized, registry.ErrDenied: credentials missing or
//     wrong, or not allowed;
//   - manifest.ErrDigestMismatch, manifest.ErrSizeMismatch: content that is
//     not what its descriptor says;
//   - *manifest.LimitError: a manifest, config or other bounded read that
//     grew past its limit;
//   - manifest.ErrUnsupportedMedia: a media type skiff does not handle here,
//     such as a zstd layer appended to a Docker image;
//   - *registry.Error: any other answer of a registry, with its status and
//     the spec's error codes.
//
// See the example of Open for errors.Is at work.
package images
