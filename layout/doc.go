// Package layout reads and writes OCI image layouts: a directory holding an
// "oci-layout" marker file, an "index.json" that lists (and names) the
// images, and content-addressed blobs under "blobs/<algorithm>/<hex>".
//
// A [Layout] is a read-write layout in a directory; a [Reader] reads a
// layout from any [io/fs.FS], such as a [testing/fstest.MapFS] or an
// unpacked archive. Both implement the content interfaces of package
// manifest, so a layout can be the source or the target of a copy.
//
// # Names
//
// An image is named by the "org.opencontainers.image.ref.name" annotation
// ([RefNameAnnotation]) of its entry in index.json. Like skopeo's
// "oci:DIR:TAG", skiff stores just the tag there ("latest", "v1.2"), not a
// full reference. Entries without a name are allowed; they are reachable by
// digest.
//
// # Safety
//
// Digests are validated before any path is built from them. Blobs are
// written to a temporary file in the same directory, verified against their
// descriptor while they stream, synced and only then renamed into place, so
// no unverified or partial file ever appears under a final name. index.json
// is replaced the same way. Every file is read and written through the
// layout's directory, opened as an [os.Root] once, when the Layout is
// opened, and kept to its Close: no name resolves outside it, and a
// directory renamed or replaced by a link meanwhile does not move the Layout
// elsewhere. A temporary file is created with O_EXCL, and a partial blob or
// its checkpoints are continued only when they are regular files of the user
// running skiff with one link. Anything else found under a name skiff gives
// its own files (a symbolic link, a FIFO, another user's file) is removed
// without being followed. A blob already under its name is trusted unread
// only when it is the effective user's, with one link, and writable by no
// one else; another's is hashed first, and replaced (and reported) when it
// is not the blob. Reads refuse blobs that are not regular files: symbolic
// links, FIFOs, devices and directories. Every read is verified, and
// index.json is read with a size limit and parsed strictly.
//
// The specifications implemented here:
//   - image layout: https://github.com/opencontainers/image-spec/blob/v1.1.0/image-layout.md
//   - the ref.name annotation: https://github.com/opencontainers/image-spec/blob/v1.1.0/annotations.md#pre-defined-annotation-keys
//   - index.json is an image index: https://github.com/opencontainers/image-spec/blob/v1.1.0/image-index.md
package layout
