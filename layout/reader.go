package layout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
)

// Names of the files and directories of a layout, and the annotation that
// names an image in index.json.
const (
	LayoutFile        = "oci-layout"
	IndexFile         = "index.json"
	BlobsDir          = "blobs"
	RefNameAnnotation = "org.opencontainers.image.ref.name"
)

// Size limits for the layout's own files; exceeding one is a
// *manifest.LimitError.
const (
	MaxIndexSize      = manifest.MaxManifestSize
	maxLayoutFileSize = 64 << 10
)

// ErrNotRegular is wrapped by errors about a blob or layout file that is
// not a regular file, such as a symbolic link, a FIFO, a device or a
// directory. Such files are refused: following them could read outside the
// layout or block for ever.
var ErrNotRegular = errors.New("not a regular file")

var (
	_ manifest.ReadOnlyStore = (*Reader)(nil)
	_ manifest.Exister       = (*Reader)(nil)
)

// Reader reads an OCI image layout from a file system. It keeps no state
// besides the file system: each call reads index.json afresh, so a Reader
// sees the changes others make. A Reader is safe for concurrent use.
type Reader struct {
	fsys fs.FS
}

// FromFS returns a Reader for the layout at the root of fsys, after
// checking its oci-layout file and index.json. When fsys can describe a
// symbolic link itself (it has an Lstat method, as os.DirFS and
// fstest.MapFS do since Go 1.25), symbolically linked blobs are refused;
// other file systems are trusted to resolve links safely.
func FromFS(fsys fs.FS) (*Reader, error) {
	r := &Reader{fsys: fsys}
	if err := readLayoutFile(fsys); err != nil {
		return nil, err
	}
	if _, err := r.Index(); err != nil {
		return nil, err
	}
	return r, nil
}

// Index reads and parses index.json, an OCI image index of at most
// MaxIndexSize bytes.
func (r *Reader) Index() (*manifest.Index, error) {
	f, _, err := openRegular(r.fsys, IndexFile)
	if err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	defer f.Close()
	raw, err := manifest.ReadLimited(f, MaxIndexSize, IndexFile)
	if err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	return parseIndex(raw)
}

// Tags returns the names of index.json's entries (their
// RefNameAnnotation), sorted, each once; unnamed entries are left out.
func (r *Reader) Tags(ctx context.Context) ([]string, error) {
	idx, err := r.Index()
	if err != nil {
		return nil, err
	}
	var tags []string
	for _, d := range idx.Manifests {
		if name, ok := d.Annotations[RefNameAnnotation]; ok && name != "" {
			tags = append(tags, name)
		}
	}
	slices.Sort(tags)
	return slices.Compact(tags), nil
}

// Fetch opens the blob desc names. The reader verifies size and digest as
// it streams: its last Read fails instead of returning io.EOF when the
// bytes do not match desc. A blob whose file has the wrong size, or that is
// not a regular file, is refused at once. Errors for absent blobs wrap
// manifest.ErrNotFound.
func (r *Reader) Fetch(ctx context.Context, desc manifest.Descriptor) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name, err := blobPath(desc.Digest)
	if err != nil {
		return nil, err
	}
	f, info, err := openRegular(r.fsys, name)
	if err != nil {
		return nil, blobError(desc.Digest, err)
	}
	if desc.Size >= 0 && info.Size() != desc.Size {
		f.Close()
		return nil, fmt.Errorf("layout: blob %s: %w: the file has %d bytes, the descriptor says %d",
			desc.Digest, manifest.ErrSizeMismatch, info.Size(), desc.Size)
	}
	return manifest.VerifyReadCloser(f, desc), nil
}

// Exists reports whether the layout holds the blob desc names: a regular
// file of desc's size. A file of another size or type does not count, so
// that a push replaces it.
func (r *Reader) Exists(ctx context.Context, desc manifest.Descriptor) (bool, error) {
	name, err := blobPath(desc.Digest)
	if err != nil {
		return false, err
	}
	info, err := lstat(r.fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, blobError(desc.Digest, err)
	}
	return info.Mode().IsRegular() && (desc.Size < 0 || info.Size() == desc.Size), nil
}

// Resolve returns the index.json entry whose ref name is ref. Failing that,
// a ref that is a digest names the entry with that digest or, if index.json
// lists none, the manifest or index stored as a blob under it (a child of a
// multi-platform index, say). A ref that is a whole reference
// ("ghcr.io/o/app:1.0", "ghcr.io/o/app@sha256:…") names the entry whose
// ref name is the same reference, else its digest, else its tag: a layout
// holds one repository and does not record which, so a reference of any
// repository is read as its tag or digest. A malformed digest is an error
// wrapping manifest.ErrInvalidDigest; anything else unknown wraps
// manifest.ErrNotFound. The descriptor is returned as index.json holds it,
// annotations included.
func (r *Reader) Resolve(ctx context.Context, ref string) (manifest.Descriptor, error) {
	idx, err := r.Index()
	if err != nil {
		return manifest.Descriptor{}, err
	}
	if d, ok := findName(idx.Manifests, ref); ok {
		return d, nil
	}
	if !looksLikeDigest(ref) && !reference.ValidTag(ref) && ref != "" {
		return r.resolveReference(ctx, idx, ref)
	}
	if !looksLikeDigest(ref) {
		return manifest.Descriptor{}, fmt.Errorf("layout: ref %q: %w", ref, manifest.ErrNotFound)
	}
	return r.resolveDigest(ctx, idx, ref)
}

// resolveDigest finds the entry, or else the blob, that the digest ref
// names.
func (r *Reader) resolveDigest(ctx context.Context, idx *manifest.Index, ref string) (manifest.Descriptor, error) {
	dg, err := manifest.ParseDigest(ref)
	if err != nil {
		return manifest.Descriptor{}, fmt.Errorf("layout: ref: %w", err)
	}
	if d, ok := findDigest(idx.Manifests, dg); ok {
		return d, nil
	}
	return r.resolveBlob(ctx, dg)
}

// resolveReference finds what the whole reference ref names: the entry
// named by the same reference, else by its digest, else by its tag.
func (r *Reader) resolveReference(ctx context.Context, idx *manifest.Index, ref string) (manifest.Descriptor, error) {
	want, err := reference.Parse(ref)
	if err != nil {
		return manifest.Descriptor{}, fmt.Errorf("layout: ref %q is neither a tag, a digest nor a reference: %w", truncate(ref, 140), err)
	}
	for _, d := range idx.Manifests {
		if got, err := reference.Parse(d.Annotations[RefNameAnnotation]); err == nil && got == want {
			return d, nil
		}
	}
	if want.Digest != "" {
		return r.resolveDigest(ctx, idx, want.Digest)
	}
	if d, ok := findName(idx.Manifests, want.Tag); ok {
		return d, nil
	}
	return manifest.Descriptor{}, fmt.Errorf("layout: ref %q: %w", truncate(ref, 140), manifest.ErrNotFound)
}

// resolveBlob reads the blob d names as a manifest or index.
func (r *Reader) resolveBlob(ctx context.Context, d manifest.Digest) (manifest.Descriptor, error) {
	name, err := blobPath(d)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	info, err := lstat(r.fsys, name)
	if err != nil {
		return manifest.Descriptor{}, blobError(d, err)
	}
	doc, err := manifest.FetchDocument(ctx, r, manifest.Descriptor{Digest: d, Size: info.Size()})
	if err != nil {
		return manifest.Descriptor{}, fmt.Errorf("layout: resolve %s: %w", d, err)
	}
	return doc.Descriptor(), nil
}

func looksLikeDigest(ref string) bool {
	alg, _, ok := strings.Cut(ref, ":")
	return ok && (alg == manifest.SHA256 || alg == manifest.SHA512)
}

func findName(list []manifest.Descriptor, name string) (manifest.Descriptor, bool) {
	for _, d := range list {
		if name != "" && d.Annotations[RefNameAnnotation] == name {
			return d, true
		}
	}
	return manifest.Descriptor{}, false
}

func findDigest(list []manifest.Descriptor, dg manifest.Digest) (manifest.Descriptor, bool) {
	for _, d := range list {
		if d.Digest == dg {
			return d, true
		}
	}
	return manifest.Descriptor{}, false
}

// blobPath validates d and only then returns the slash-separated path of
// its blob.
func blobPath(d manifest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("layout: %w", err)
	}
	return BlobsDir + "/" + d.Algorithm() + "/" + d.Hex(), nil
}

func blobError(d manifest.Digest, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("layout: blob %s: %w: %w", d, manifest.ErrNotFound, err)
	}
	return fmt.Errorf("layout: blob %s: %w", d, err)
}
