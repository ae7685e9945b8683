package tarball

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
)

// OpenOptions tunes Open and OpenFile. The zero value is ready to use.
type OpenOptions struct {
	// TempDir is where a gzip- or zstd-compressed tarball is decompressed
	// to; "" means os.TempDir().
	TempDir string

	// MaxUncompressed bounds the size of a decompressed tarball; zero
	// means DefaultMaxUncompressed.
	MaxUncompressed int64

	// MaxZstdWindow bounds the window (memory) a zstd-compressed tarball
	// may ask for; zero means 128 MiB, the zstd command's own limit.
	MaxZstdWindow int64
}

func (o *OpenOptions) maxUncompressed() int64 {
	if o == nil || o.MaxUncompressed <= 0 {
		return DefaultMaxUncompressed
	}
	return o.MaxUncompressed
}

// ImageInfo is one image (or index) a tarball holds.
type ImageInfo struct {
	// Tags are the names the tarball gives the image, as written there:
	// "alpine:latest" from manifest.json, a containerd image name in its
	// familiar form, or a bare org.opencontainers.image.ref.name.
	Tags []string

	// RefNames are the org.opencontainers.image.ref.name annotations of
	// the image's index.json entries, as written there ("v1", or a whole
	// reference); Resolve accepts them too.
	RefNames []string

	// Descriptor is the image's manifest (or index) descriptor; Fetch
	// serves the document it names.
	Descriptor manifest.Descriptor

	// Attached reports an entry attached to another image rather than an
	// image of its own: a referrer (it names a subject), an artifact (see
	// manifest.Document.Attached), or what a cosign tag names
	// (sha256-HEX.sig, .att, .sbom). Resolve finds it by name or digest;
	// Resolve("") never picks it.
	Attached bool
}

// Reader reads the images of a docker-load tarball or an OCI archive. It
// implements manifest.Fetcher, manifest.Exister and manifest.Resolver, so
// images can be copied or pushed from it. A Reader is safe for concurrent
// use; Close releases its temporary file, if any.
type Reader struct {
	ra       io.ReaderAt
	entries  map[string]*tarEntry
	blobs    map[manifest.Digest]blobSource
	images   []ImageInfo
	byConfig map[manifest.Digest]int // config digest → index in images, while opening
	closers  []func() error

	mu    sync.RWMutex
	added map[manifest.Digest]blobSource // made after Open: Loadable, CompressLayers
}

// blobSource is where the bytes of one digest are: in memory (manifests
// the reader made), in a tar entry, or the gzip compression of a tar
// entry (CompressLayers).
type blobSource struct {
	data   []byte
	entry  *tarEntry
	synth  bool // data is a manifest synthesized from manifest.json
	gzip   bool // the bytes are entry's, gzip-compressed
	gzSize int64
}

// open returns a reader of the blob's bytes from offset on.
func (b blobSource) open(ra io.ReaderAt, offset int64) (io.ReadCloser, error) {
	var rs io.ReadSeeker
	switch {
	case b.gzip:
		return gzipFrom(b.entry.section(ra), offset)
	case b.entry != nil:
		rs = b.entry.section(ra)
	default:
		rs = bytes.NewReader(b.data)
	}
	if _, err := rs.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	return io.NopCloser(rs), nil
}

// Open indexes the tarball in r, of size bytes, and reads its
// manifest.json and index.json. See the package documentation for the
// formats it reads and the limits it applies. A gzip- or zstd-compressed
// tarball is first decompressed to a temporary file that Close removes.
func Open(r io.ReaderAt, size int64, opts *OpenOptions) (*Reader, error) {
	if opts == nil {
		opts = &OpenOptions{}
	}
	head := make([]byte, 4)
	n, _ := r.ReadAt(head, 0)
	if comp := sniff(head[:n]); comp != "" {
		f, entries, err := inflateToTemp(r, size, comp, opts)
		if err != nil {
			return nil, err
		}
		rd := &Reader{ra: f, entries: entries}
		rd.closers = append(rd.closers, f.Close, func() error { return os.Remove(f.Name()) })
		return rd.load()
	}
	entries, err := indexPlain(r, size)
	if err != nil {
		return nil, err
	}
	return (&Reader{ra: r, entries: entries}).load()
}

// OpenFile opens the tarball at path; Close closes the file.
func OpenFile(path string, opts *OpenOptions) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tarball: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("tarball: %w", err)
	}
	r, err := Open(f, fi.Size(), opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closers = append(r.closers, f.Close)
	return r, nil
}

// load reads the metadata files; on failure it releases what r holds.
func (r *Reader) load() (*Reader, error) {
	r.blobs = make(map[manifest.Digest]blobSource)
	r.byConfig = make(map[manifest.Digest]int)
	err := r.loadImages()
	r.byConfig = nil
	if err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *Reader) loadImages() error {
	_, hasIndex := r.entries["index.json"]
	_, hasManifest := r.entries["manifest.json"]
	if !hasIndex && !hasManifest {
		if _, ok := r.entries["repositories"]; ok {
			return errors.New("tarball: no manifest.json: tarballs of Docker before 1.10 are not supported")
		}
		return errors.New("tarball: neither manifest.json nor index.json: not an image tarball")
	}
	if hasIndex {
		if err := r.loadIndexJSON(); err != nil {
			return err
		}
	}
	if hasManifest {
		return r.loadManifestJSON()
	}
	return nil
}

// Close releases the temporary file of a compressed tarball and the file
// OpenFile opened. Fetch fails after Close.
func (r *Reader) Close() error {
	var errs []error
	for _, c := range r.closers {
		errs = append(errs, c())
	}
	r.closers = nil
	return errors.Join(errs...)
}

// Images returns the images the tarball holds, in the order of index.json
// and then manifest.json.
func (r *Reader) Images() []ImageInfo {
	out := make([]ImageInfo, len(r.images))
	for i, im := range r.images {
		out[i] = im
		out[i].Tags = slices.Clone(im.Tags)
		out[i].RefNames = slices.Clone(im.RefNames)
		out[i].Descriptor = im.Descriptor.Clone()
	}
	return out
}

// Fetch returns the content desc names: a blob, or a manifest stored in or
// synthesized for the tarball. The reader verifies size and digest as it
// streams. Unknown content wraps manifest.ErrNotFound.
func (r *Reader) Fetch(ctx context.Context, desc manifest.Descriptor) (io.ReadCloser, error) {
	src, err := r.lookup(desc)
	if err != nil {
		return nil, err
	}
	rc, err := src.open(r.ra, 0)
	if err != nil {
		return nil, fmt.Errorf("tarball: %s: %w", desc.Digest, err)
	}
	return manifest.VerifyReadCloser(rc, desc), nil
}

// FetchFrom returns the bytes of desc's content from offset on, not
// verified (manifest.RangeFetcher).
func (r *Reader) FetchFrom(ctx context.Context, desc manifest.Descriptor, offset int64) (io.ReadCloser, error) {
	if offset == 0 {
		return r.Fetch(ctx, desc)
	}
	src, err := r.lookup(desc)
	if err != nil {
		return nil, err
	}
	rc, err := src.open(r.ra, offset)
	if err != nil {
		return nil, fmt.Errorf("tarball: %s: %w", desc.Digest, err)
	}
	return rc, nil
}

// Exists reports whether the tarball holds the content desc names.
func (r *Reader) Exists(ctx context.Context, desc manifest.Descriptor) (bool, error) {
	_, err := r.lookup(desc)
	if errors.Is(err, manifest.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// lookup finds the bytes of desc and checks their size.
func (r *Reader) lookup(desc manifest.Descriptor) (blobSource, error) {
	if err := desc.Digest.Validate(); err != nil {
		return blobSource{}, err
	}
	src, ok := r.blobs[desc.Digest]
	if !ok {
		r.mu.RLock()
		src, ok = r.added[desc.Digest]
		r.mu.RUnlock()
	}
	if !ok {
		e, err := r.resolve(blobPath(desc.Digest))
		if err != nil {
			return blobSource{}, fmt.Errorf("tarball: %s: %w", desc.Digest, manifest.ErrNotFound)
		}
		src = blobSource{entry: e}
	}
	if size := src.size(); desc.Size != manifest.SizeUnknown && desc.Size != size {
		return blobSource{}, fmt.Errorf("tarball: %w for %s: descriptor says %d bytes, the tarball has %d",
			manifest.ErrSizeMismatch, desc.Digest, desc.Size, size)
	}
	return src, nil
}

func (s blobSource) size() int64 {
	if s.gzip {
		return s.gzSize
	}
	if s.entry != nil {
		return s.entry.size
	}
	return int64(len(s.data))
}

// blobPath is where an OCI layout keeps the blob d.
func blobPath(d manifest.Digest) string {
	return "blobs/" + d.Algorithm() + "/" + d.Hex()
}

// Resolve returns the descriptor of the image named ref: a tag as in
// manifest.json ("alpine:latest"), any spelling of the same reference
// ("alpine", "docker.io/library/alpine:latest"), a bare
// org.opencontainers.image.ref.name, or a digest, alone or after "@".
// An empty ref names the only image of a tarball whose other entries are
// all attached to images (ImageInfo.Attached), or its only entry.
func (r *Reader) Resolve(ctx context.Context, ref string) (manifest.Descriptor, error) {
	if ref == "" {
		if im, ok := r.soleImage(); ok {
			return im.Descriptor.Clone(), nil
		}
	}
	want, perr := reference.Parse(ref)
	dgst := manifest.Digest(ref)
	if perr == nil && want.Digest != "" {
		dgst = manifest.Digest(want.Digest)
	}
	for _, im := range r.images {
		if im.Descriptor.Digest == dgst || hasTag(im.Tags, ref, want, perr == nil) || slices.Contains(im.RefNames, ref) {
			return im.Descriptor.Clone(), nil
		}
	}
	return manifest.Descriptor{}, fmt.Errorf("tarball: image %q: %w", quoteTrim(ref, 200), manifest.ErrNotFound)
}

// hasTag reports whether one of tags is ref, literally or, when parsed is
// true, as the same normalized reference as want.
func hasTag(tags []string, ref string, want reference.Reference, parsed bool) bool {
	for _, t := range tags {
		if t == ref {
			return true
		}
		if got, err := reference.Parse(t); parsed && err == nil && want.Digest == "" && got == want {
			return true
		}
	}
	return false
}

// soleImage returns the only image that is not attached to another, or
// the only entry of all.
func (r *Reader) soleImage() (ImageInfo, bool) {
	if len(r.images) == 1 {
		return r.images[0], true
	}
	cands := r.Candidates()
	if len(cands) == 1 {
		return cands[0], true
	}
	return ImageInfo{}, false
}

// Candidates returns the images a name-less reference could mean: every
// image of Images that is not attached to another.
func (r *Reader) Candidates() []ImageInfo {
	var out []ImageInfo
	for _, im := range r.Images() {
		if !im.Attached {
			out = append(out, im)
		}
	}
	return out
}
