// Package images is skiff's front door: it opens images wherever they are,
// edits them without pulling them, and moves them between registries,
// layouts and archives.
//
// Open reads an image's manifest and config, and nothing else, from a
// location spelled as the skiff command spells it ("ghcr.io/o/app:1.0",
// "oci:DIR:TAG", "docker-archive:FILE"; see Locations below); OpenIndex
// reads a multi-platform index. Copy moves an image or an index from one
// location to another, as `skiff copy` does, and Write stores an Image
// at a location. OpenFrom, OpenIndexFrom, CopyDescriptor and Image.Write
// do the same with stores the caller holds (a registry.Repository, a
// layout.Layout, a tarball.Reader).
//
// An Image is a lazy, immutable value that knows where each of its blobs
// lives. RemoveLayer, AppendLayer and EditConfig return new Images; the
// one they are given stays valid. New layers come from tarball's builders
// (LayerFromDir, LayerFromFiles, LayerFromTar) and stay in their files
// until written. An Image is itself a manifest.Fetcher: it serves its
// config from memory, its new layers from their files and every other
// blob from where it was opened, so it can be written anywhere: the
// base's blobs are skipped when the destination is the base's own
// repository, mounted within one registry or streamed across (never to
// disk), the new blobs pushed, the manifest last. A tarball.Entry takes it
// as its Source, for tarball.WriteFile.
//
// An Index does the same for a multi-platform image: pick one platform's
// Image, replace it, write the index back; the other platforms are copied
// as they are (mounted within a registry). NewIndex and NewIndexFrom
// assemble one from images built anywhere, each platform read from its
// image's config; Add, AddIndex, Remove and AnnotateEntry edit it, and
// UpdateIndex applies an edit to an index in a registry so that writers
// racing on one tag all land. Image.Rebase, and Rebase by location, move
// an image or an index onto a new base image without reading a layer.
//
// # Locations
//
// ParseLocation reads the names of the places images are, as skopeo
// names its transports:
//
//	location       = registry | layout | docker-archive | oci-archive
//	registry       = [ "docker://" ] REFERENCE
//	layout         = "oci:" DIR [ ":" TAG ]
//	docker-archive = "docker-archive:" FILE [ ":" REFERENCE ]
//	oci-archive    = "oci-archive:" FILE [ ":" TAG ]
//
// A registry location is a repository in a registry ("alpine",
// "ghcr.io/o/app:1.0@sha256:…"), a layout an OCI image layout directory,
// a docker-archive a tarball `docker load` reads, an oci-archive an OCI
// image layout in a tar.
//
// REFERENCE follows package reference's grammar ("alpine" is
// docker.io/library/alpine:latest). A layout or archive path that ends in
// ":WORD", where WORD is a valid tag, is read as DIR:TAG; the REFERENCE
// of a docker-archive is everything after the file's first colon. Named
// without a tag, a layout or an archive means its only image (signatures
// and SBOMs beside it do not count). An archive written to "-" goes to
// Options.Stdout.
//
// The stores' Resolve methods, and so OpenFrom and OpenIndexFrom, take
// a tag, a digest ("sha256:…") or a whole reference of the store's
// repository.
//
// # Errors
//
// Errors keep their cause, so a caller can act on them with errors.Is and
// errors.As:
//
//   - registry.ErrNotFound (the same sentinel as manifest.ErrNotFound): no
//     such repository, tag, manifest, blob or platform, in any store;
//     manifest.ErrNoPlatform, which matches ErrNotFound too, tells a
//     platform the index does not list from the rest;
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
