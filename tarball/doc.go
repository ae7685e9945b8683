// Package tarball reads and writes image tarballs — the files of
// `docker save` / `docker load`, go-containerregistry's and crane's
// tarballs, containers/image's docker-archive: and oci-archive: — builds
// layers, and flattens images into one filesystem.
//
// # Writing docker-load tarballs
//
// Write streams images into an io.Writer; WriteFile fills a regular file
// with several blobs downloading at once. By default the tarball has the
// shape Docker 25 writes, which is at the same time an OCI image layout
// (https://github.com/opencontainers/image-spec/blob/main/image-layout.md):
//
//	oci-layout                {"imageLayoutVersion":"1.0.0"}
//	index.json                one entry per tag, annotated with
//	                          io.containerd.image.name and
//	                          org.opencontainers.image.ref.name
//	manifest.json             [{"Config":"blobs/sha256/<hex>","RepoTags":[…],
//	                            "Layers":["blobs/sha256/<hex>",…],"LayerSources":{…}}]
//	blobs/sha256/<hex>        every manifest, config and layer, once
//
// Layers are written as they are in the registry (usually gzip-compressed),
// named by digest. LayerSources records, by diffID, the descriptor of each
// foreign (non-distributable) layer, as `docker load` expects. With
// WriteOptions.Legacy, only manifest.json, the config as "sha256:<hex>" and
// the layers as "<hex>.tar.gz" are written, as go-containerregistry does.
// An image named only by digest is tagged DigestTag ("i-was-a-digest").
//
// Every entry has a deterministic header (epoch mtime, uid and gid 0, no
// owner names, mode 0644, 0755 for directories) and the entries come in a
// fixed order, so the same images always give the same bytes. Since every
// size is known from the descriptors, NewPlan computes the offset of every
// header and every blob before anything is fetched: CalculateSize is exact,
// and Plan.WriteAt lets each blob go straight into its slot of a file, in
// parallel, with no temporary file and no second pass. Every blob is
// verified against its descriptor as it is written.
//
// # Reading tarballs
//
// Open reads any of these from an io.ReaderAt:
//
//   - `docker save` before Docker 25: manifest.json, "<id>/layer.tar"
//     (symbolic links for repeated layers), "<id>/json", "repositories";
//   - go-containerregistry and crane: "sha256:<hex>" config, "<hex>.tar.gz";
//   - containers/image (skopeo's docker-archive:): "<hex>.json", "<hex>.tar";
//   - Docker 25 and later, and skiff: an OCI layout plus manifest.json;
//   - an OCI layout without manifest.json (skopeo's oci-archive:);
//   - any of those compressed with gzip or zstd (detected by their magic
//     numbers).
//
// One pass over the tar headers, which stops at the end-of-archive marker,
// indexes the entries (name, offset, size, link target); every later read
// goes straight to an entry. A compressed tarball cannot be read at
// random, so Open decompresses it once, up to the end-of-archive marker and
// at most OpenOptions.MaxUncompressed bytes, into a temporary file that
// Reader.Close removes.
//
// Images listed in index.json keep their manifests and digests; tags from
// manifest.json are added to the image with the same config, or to the
// index one of whose manifests has that config: containerd (`ctr images
// export`) and Docker 25 with the containerd store name an image's whole
// index in index.json and its exported platform in manifest.json, and
// that is one image. Loadable tells what of an index the tarball holds
// whole, as `docker load` would load it. Entries attached to images
// (referrers, artifacts, cosign's sha256-HEX.sig/.att/.sbom tags, as in
// skiff's own oci-archives) are listed but never picked by an empty name.
//
// For an image known only from manifest.json, the Reader synthesizes the
// manifest go-containerregistry (crane push) makes, byte for byte: compact
// JSON, Docker media types (OCI ones when a layer is zstd-compressed),
// descriptors ordered mediaType, size, digest as Docker's
// distribution.Descriptor orders them; `docker push` from Docker's
// classic store writes the same fields indented by three spaces
// (distribution's schema2.FromStruct), after recompressing every layer,
// so no file gives Docker's digest. Each layer's compression is detected from its first
// bytes. An uncompressed layer ("<id>/layer.tar") is exposed as it is,
// with the media type application/vnd.docker.image.rootfs.diff.tar, the
// diffID as its digest and the file's size as its size: exact and
// streamable, and what Docker 25 itself writes. CompressLayers gives the
// image with such layers gzip-compressed, as docker push sends them. A
// compressed layer takes its digest from LayerSources or from its file
// name ("blobs/sha256/<hex>", "<hex>.tar.gz", "<hex>.tar"), or else is
// hashed once at Open.
//
// A Reader is a manifest.Fetcher, manifest.Exister and manifest.Resolver,
// so images can be pushed or copied from it. Fetch verifies size and digest
// while streaming; Resolve accepts a tag in any spelling ("alpine",
// "alpine:latest", "docker.io/library/alpine:latest") or a digest.
//
// Untrusted tarballs are bounded: at most 100,000 tar entries, 4 MiB of
// manifest.json or index.json, 8 MiB per config, 10,000 images and 10,000
// layers per image; archive/tar itself caps PAX headers at 1 MiB; bytes
// after the end-of-archive marker are never read. Paths in manifest.json
// that are absolute or climb out of the archive are rejected; links are
// resolved inside the archive only, at most 40 hops, so a cycle is an error
// wrapping ErrLinkCycle.
//
// # Building layers and exporting filesystems
//
// LayerWriter writes a layer the way tar.Writer writes an archive and
// computes, in the same pass, its digest, size and diffID. LayerFromDir
// and LayerFromFiles build a layer from a directory or from files in
// memory, with normalized owners and times (unless LayerOptions keeps
// them), into a temporary file. LayerFromTar takes a tar stream as it is
// (entries, owners and times untouched), compressed as the media type asks,
// into a temporary file; LayerFromFile does the same for a tar file without
// copying it. Flatten writes the filesystem of a stack of layers (plain,
// gzip or zstd, told apart by their magic numbers) as one tar, applying
// whiteouts; Extract unpacks it into a directory without ever writing
// outside it. CleanPath is the tar path sanitizer they share.
package tarball
