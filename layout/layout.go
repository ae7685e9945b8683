package layout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"

	"github.com/skiffoci/skiff/internal/iobuf"
	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/manifest"
)

var (
	_ manifest.Fetcher  = (*Layout)(nil)
	_ manifest.Pusher   = (*Layout)(nil)
	_ manifest.Exister  = (*Layout)(nil)
	_ manifest.Resolver = (*Layout)(nil)
	_ manifest.Tagger   = (*Layout)(nil)
	_ manifest.Store    = (*Layout)(nil)
)

// Layout is an OCI image layout in a directory, open for reading and
// writing. A Layout is safe for concurrent use; changes to index.json are
// serialized within the process, not across processes.
type Layout struct {
	// SyncBlobs makes Push flush every blob to stable storage before it
	// is renamed to its final name, so that a power loss cannot leave a
	// blob short or empty. Without it a blob is still verified and
	// renamed only when whole, but its bytes may sit in the page cache;
	// index.json is synced either way, and a blob whose size is wrong is
	// written again by the next Push. Set it before the layout is used.
	SyncBlobs bool

	dir    string
	r      *Reader
	mu     sync.Mutex // held while index.json is read, changed and replaced
	ranges *ranges    // where PushResumable fetches large blobs in ranges (FetchRanges)
}

// Open opens the layout in dir, after checking its oci-layout file and
// index.json.
func Open(dir string) (*Layout, error) {
	r, err := FromFS(dirFS(dir))
	if err != nil {
		return nil, err
	}
	return &Layout{dir: dir, r: r}, nil
}

// Create makes a new, empty layout in dir, creating the directory if
// needed, and opens it. If dir already holds a layout, Create opens it
// unchanged, so that images can be added to it. A directory that is not
// empty and holds no oci-layout file is refused.
func Create(dir string) (*Layout, error) {
	_, err := os.Lstat(filepath.Join(dir, LayoutFile))
	if errors.Is(err, fs.ErrNotExist) {
		err = initDir(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("layout: create %s: %w", dir, err)
	}
	return Open(dir)
}

// initDir writes an empty layout into dir, which must be absent or empty.
// oci-layout comes last: it marks a complete layout.
func initDir(dir string) error {
	if err := checkEmpty(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil { // the directory the user named
		return err
	}
	d, err := safefile.OpenDir(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Root().MkdirAll(BlobsDir, 0o755); err != nil {
		return err
	}
	idx, err := encodeIndex(&manifest.Index{})
	if err != nil {
		return err
	}
	if err := writeFileAtomic(d, IndexFile, idx); err != nil {
		return err
	}
	return writeFileAtomic(d, LayoutFile, []byte(`{"imageLayoutVersion":"`+layoutVersion+`"}`))
}

// checkEmpty refuses a directory that holds anything but, perhaps, an empty
// blobs directory. An absent directory is empty.
func checkEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() != BlobsDir || !e.IsDir() {
			return errors.New("the directory is not empty and holds no " + LayoutFile)
		}
		if blobs, err := os.ReadDir(filepath.Join(dir, BlobsDir)); err != nil || len(blobs) > 0 {
			return errors.New("the directory is not empty and holds no " + LayoutFile)
		}
	}
	return nil
}

// Holds reports whether src is a Layout of the same directory, which
// then holds every blob src has.
func (l *Layout) Holds(src manifest.Fetcher) bool {
	s, ok := src.(*Layout)
	return ok && filepath.Clean(s.dir) == filepath.Clean(l.dir)
}

// Dir returns the layout's directory.
func (l *Layout) Dir() string { return l.dir }

// Index reads and parses index.json.
func (l *Layout) Index() (*manifest.Index, error) { return l.r.Index() }

// Tags returns the names of the images in index.json, as Reader.Tags.
func (l *Layout) Tags(ctx context.Context) ([]string, error) { return l.r.Tags(ctx) }

// Fetch opens the blob desc names, as [Reader.Fetch] does.
func (l *Layout) Fetch(ctx context.Context, desc manifest.Descriptor) (io.ReadCloser, error) {
	return l.r.Fetch(ctx, desc)
}

// Exists reports whether the layout holds the blob desc names, as
// [Reader.Exists] does.
func (l *Layout) Exists(ctx context.Context, desc manifest.Descriptor) (bool, error) {
	return l.r.Exists(ctx, desc)
}

// Resolve returns the descriptor ref names, as [Reader.Resolve] does.
func (l *Layout) Resolve(ctx context.Context, ref string) (manifest.Descriptor, error) {
	return l.r.Resolve(ctx, ref)
}

// Push stores the blob desc names, read from r. A manifest or index with a
// subject is also listed in index.json, untagged, for Referrers to find.
// The bytes go to a temporary
// file beside the blob's final name and are checked against desc's size and
// digest as they stream; only content a manifest.Verifier proved whole,
// read from its first byte, is renamed into place,
// synced first if SyncBlobs is set. On any error, including ctx ending,
// nothing appears under the final name. A blob already present (a regular
// file of the right size) is not written again, and r is not read.
func (l *Layout) Push(ctx context.Context, desc manifest.Descriptor, r io.Reader) error {
	dir, have, err := l.blobDir(ctx, desc)
	if err != nil || have {
		return err
	}
	err = l.writeBlob(dir, desc, l.SyncBlobs, func(w io.Writer) (manifest.Verified, error) {
		v := manifest.NewVerifier(r, desc)
		if _, err := iobuf.Copy(w, iobuf.ContextReader(ctx, v)); err != nil {
			return manifest.Verified{}, err
		}
		return v.Verified()
	})
	if err == nil {
		err = l.listReferrer(ctx, desc)
	}
	if err != nil {
		return fmt.Errorf("layout: push %s: %w", desc.Digest, err)
	}
	return nil
}

// blobDir checks desc before a push and returns the directory of the
// layout its blob goes to, or have when the layout already holds it.
// Anything but a regular file under the blob's name (a symbolic link, a
// directory, a FIFO) is removed and reported, so that the rename that
// ends the push can take its place; a regular file there is replaced by
// that rename.
func (l *Layout) blobDir(ctx context.Context, desc manifest.Descriptor) (dir string, have bool, err error) {
	if err := desc.Digest.Validate(); err != nil {
		return "", false, fmt.Errorf("layout: push: %w", err)
	}
	if desc.Size < 0 {
		return "", false, fmt.Errorf("layout: push %s: the descriptor has no size", desc.Digest)
	}
	if ok, err := l.r.Exists(ctx, desc); err != nil || ok {
		return "", ok, err
	}
	dir = path.Join(BlobsDir, desc.Digest.Algorithm())
	if err := l.clearBlobName(dir, desc.Digest.Hex()); err != nil {
		return "", false, fmt.Errorf("layout: push %s: %w", desc.Digest, err)
	}
	return dir, false, nil
}

// clearBlobName makes the directory dir of the layout and removes what is
// under name in it unless it is a regular file.
func (l *Layout) clearBlobName(dir, name string) error {
	d, err := l.open()
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Root().MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name = path.Join(dir, name)
	if fi, err := d.Root().Lstat(name); err == nil && !fi.Mode().IsRegular() {
		return d.Discard(name)
	}
	return nil
}

// Tag names the manifest or index desc describes, which the layout must
// hold: it adds desc to index.json with the ref name annotation set to
// name, replacing any entry that already has that name. Following skopeo's
// "oci:DIR:TAG", name is normally a bare tag such as "latest"; it must fit
// the annotation's grammar and must not be a digest.
func (l *Layout) Tag(ctx context.Context, desc manifest.Descriptor, name string) error {
	if err := checkRefName(name); err != nil {
		return err
	}
	return l.AddDescriptor(ctx, withName(desc, name))
}

// AddDescriptor adds desc to index.json as it is, annotations included. The
// layout must hold the manifest or index desc describes. If desc has a ref
// name, it replaces the entry with that name, as Tag does; if not, it
// replaces an unnamed entry with the same digest, so adding an untagged
// image twice lists it once.
func (l *Layout) AddDescriptor(ctx context.Context, desc manifest.Descriptor) error {
	if err := l.checkEntry(ctx, desc); err != nil {
		return err
	}
	return l.editIndex(func(list []manifest.Descriptor) []manifest.Descriptor {
		return withEntry(list, desc)
	})
}

// editIndex replaces index.json's entries with edit's result, atomically
// and serialized with the other edits of this process.
func (l *Layout) editIndex(edit func([]manifest.Descriptor) []manifest.Descriptor) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	idx, err := l.r.Index()
	if err != nil {
		return err
	}
	idx.Manifests = edit(idx.Manifests)
	raw, err := encodeIndex(idx)
	if err != nil {
		return err
	}
	d, err := l.open()
	if err == nil {
		err = writeFileAtomic(d, IndexFile, raw)
		d.Close()
	}
	if err != nil {
		return fmt.Errorf("layout: write %s: %w", IndexFile, err)
	}
	return nil
}

// checkEntry checks that desc may enter index.json.
func (l *Layout) checkEntry(ctx context.Context, desc manifest.Descriptor) error {
	if err := desc.Validate(); err != nil {
		return fmt.Errorf("layout: index entry: %w", err)
	}
	if !manifest.IsManifest(desc.MediaType) && !manifest.IsIndex(desc.MediaType) {
		return fmt.Errorf("layout: index entry %s: %w %q: not a manifest or index", desc.Digest, manifest.ErrUnsupportedMedia, desc.MediaType)
	}
	if name, ok := desc.Annotations[RefNameAnnotation]; ok {
		if err := checkRefName(name); err != nil {
			return err
		}
	}
	ok, err := l.r.Exists(ctx, desc)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("layout: index entry %s: the layout does not hold it: %w", desc.Digest, manifest.ErrNotFound)
	}
	return nil
}
