package layout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
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
//
// A Layout keeps its directory open (an [os.Root]) from Open to Close and
// reads and writes every file through it: if the directory is renamed, or
// its name replaced by a link to another directory, while the Layout is in
// use, the Layout goes on in the directory it opened and never in the one
// the name leads to now. Close it when done; one that is forgotten closes
// when the garbage collector finds it unreachable.
type Layout struct {
	// SyncBlobs makes Push flush every blob to stable storage before it
	// is renamed to its final name, so that a power loss cannot leave a
	// blob short or empty. Without it a blob is still verified and
	// renamed only when whole, but its bytes may sit in the page cache;
	// index.json is synced either way, and a blob whose size is wrong is
	// written again by the next Push. Set it before the layout is used.
	SyncBlobs bool

	d      *safefile.Dir // the directory, open for the Layout's whole life
	r      *Reader       // reads through d
	mu     sync.Mutex    // held while index.json is read, changed and replaced
	ranges *ranges       // where PushResumable fetches large blobs in ranges (FetchRanges)
}

// Open opens the layout in dir, after checking its oci-layout file and
// index.json.
func Open(dir string) (*Layout, error) {
	d, err := safefile.OpenDir(dir)
	if err != nil {
		return nil, fmt.Errorf("layout: not an OCI image layout: %w", err)
	}
	return openIn(d)
}

// openIn opens the layout in d, which it closes on failure.
func openIn(d *safefile.Dir) (*Layout, error) {
	r, err := FromFS(rootFS{d.Root()})
	if err != nil {
		d.Close()
		return nil, err
	}
	return &Layout{d: d, r: r}, nil
}

// Create makes a new, empty layout in dir, creating the directory if
// needed, and opens it. If dir already holds a layout, Create opens it
// unchanged, so that images can be added to it. A directory that is not
// empty and holds no oci-layout file is refused.
func Create(dir string) (*Layout, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil { // the directory the user named
		return nil, fmt.Errorf("layout: create %s: %w", dir, err)
	}
	d, err := safefile.OpenDir(dir)
	if err != nil {
		return nil, fmt.Errorf("layout: create %s: %w", dir, err)
	}
	return createIn(d)
}

// CreateRoot is Create in the directory root, opened already (a directory
// opened through another, say, so that no name can lead elsewhere
// meanwhile). The Layout takes root over: its Close closes root, and so
// does a failure.
func CreateRoot(root *os.Root) (*Layout, error) {
	return createIn(safefile.FromRoot(root))
}

// createIn is Create in d, which it closes on failure.
func createIn(d *safefile.Dir) (*Layout, error) {
	_, err := d.Root().Lstat(LayoutFile)
	if errors.Is(err, fs.ErrNotExist) {
		err = initDir(d)
	}
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("layout: create %s: %w", d.Name(), err)
	}
	return openIn(d)
}

// initDir writes an empty layout into d, which must be empty.
// oci-layout comes last: it marks a complete layout.
func initDir(d *safefile.Dir) error {
	if err := checkEmpty(d.Root().FS()); err != nil {
		return err
	}
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
// blobs directory.
func checkEmpty(fsys fs.FS) error {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() != BlobsDir || !e.IsDir() {
			return errors.New("the directory is not empty and holds no " + LayoutFile)
		}
		if blobs, err := fs.ReadDir(fsys, BlobsDir); err != nil || len(blobs) > 0 {
			return errors.New("the directory is not empty and holds no " + LayoutFile)
		}
	}
	return nil
}

// Close closes the layout's directory. A Layout is not used after Close.
func (l *Layout) Close() error { return l.d.Close() }

// Holds reports whether src is a Layout of the same directory, which
// then holds every blob src has.
func (l *Layout) Holds(src manifest.Fetcher) bool {
	s, ok := src.(*Layout)
	if !ok {
		return false
	}
	a, err := s.d.Root().Stat(".")
	b, err2 := l.d.Root().Stat(".")
	return err == nil && err2 == nil && os.SameFile(a, b)
}

// Dir returns the path the layout's directory was opened by.
func (l *Layout) Dir() string { return l.d.Name() }

// Index reads and parses index.json.
func (l *Layout) Index() (*manifest.Index, error) { return l.r.Index() }

// Tags returns the names of the images in index.json, as Reader.Tags.
func (l *Layout) Tags(ctx context.Context) ([]string, error) { return l.r.Tags(ctx) }

// Fetch opens the blob desc names, as [Reader.Fetch] does.
func (l *Layout) Fetch(ctx context.Context, desc manifest.Descriptor) (io.ReadCloser, error) {
	return l.r.Fetch(ctx, desc)
}

// Exists reports whether the layout holds the blob desc names: a regular
// file of desc's size, which is trusted as it is when it is the effective
// user's own, with one link, and writable by no one else, and hashed
// first otherwise (another user who can write the layout could have put
// other bytes under the name). A file that is not the blob does not
// count, so that a push replaces it.
func (l *Layout) Exists(ctx context.Context, desc manifest.Descriptor) (bool, error) {
	name, err := blobPath(desc.Digest)
	if err != nil {
		return false, err
	}
	f, err := l.d.OpenFile(name, os.O_RDONLY)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, safefile.ErrNotRegular) {
		return false, nil
	}
	if err != nil {
		return false, blobError(desc.Digest, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, blobError(desc.Digest, err)
	}
	if desc.Size >= 0 && fi.Size() != desc.Size {
		return false, nil
	}
	if safefile.Trusted(fi) {
		return true, nil
	}
	desc.Size = fi.Size()
	return hashes(ctx, f, desc)
}

// hashes reports whether r holds the bytes desc names; only ctx ending
// is an error.
func hashes(ctx context.Context, r io.Reader, desc manifest.Descriptor) (bool, error) {
	v := manifest.NewVerifier(iobuf.ContextReader(ctx, r), desc)
	if _, err := iobuf.Copy(io.Discard, v); err != nil {
		return false, ctx.Err()
	}
	_, err := v.Verified()
	return err == nil, nil
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
// nothing appears under the final name. A blob already present (as Exists
// says) is not written again, and r is not read.
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
// What is under the blob's name and is not a file of skiff's own (a
// symbolic link, a directory, a FIFO, another user's file that Exists
// found not to be the blob) is removed and reported, so that the rename
// that ends the push can take its place; a file of skiff's own there is
// replaced by that rename.
func (l *Layout) blobDir(ctx context.Context, desc manifest.Descriptor) (dir string, have bool, err error) {
	if err := desc.Digest.Validate(); err != nil {
		return "", false, fmt.Errorf("layout: push: %w", err)
	}
	if desc.Size < 0 {
		return "", false, fmt.Errorf("layout: push %s: the descriptor has no size", desc.Digest)
	}
	if ok, err := l.Exists(ctx, desc); err != nil || ok {
		return "", ok, err
	}
	dir = path.Join(BlobsDir, desc.Digest.Algorithm())
	if err := l.clearBlobName(dir, desc.Digest.Hex()); err != nil {
		return "", false, fmt.Errorf("layout: push %s: %w", desc.Digest, err)
	}
	return dir, false, nil
}

// clearBlobName makes the directory dir of the layout and removes what is
// under name in it unless it is a regular file the effective user owns,
// with one link.
func (l *Layout) clearBlobName(dir, name string) error {
	if err := l.d.Root().MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name = path.Join(dir, name)
	if fi, err := l.d.Root().Lstat(name); err == nil && !safefile.Trusted(fi) {
		return l.d.Discard(name)
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
	if err := writeFileAtomic(l.d, IndexFile, raw); err != nil {
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
	ok, err := l.Exists(ctx, desc)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("layout: index entry %s: the layout does not hold it: %w", desc.Digest, manifest.ErrNotFound)
	}
	return nil
}
