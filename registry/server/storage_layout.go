package server

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/skiffoci/skiff/internal/iobuf"
	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

// blobStore is the hidden directory under a layout storage's root that
// holds every blob once; repository names cannot start with a dot.
const blobStore = ".blobs"

// layoutStorage keeps each repository as an OCI image layout at
// root/<repository>, readable by skopeo's oci: and umoci. Blobs live once
// in root/.blobs and are hard-linked into the layouts of the repositories
// that hold them; tags and manifests are index.json entries.
//
// Every file is opened through the root as an os.Root (a safefile.Dir), so
// no name, and no link planted under the root, resolves outside it. Files
// are created with O_EXCL and appear under their final name by a link or
// a rename, which replaces what is there and never writes through it; a
// stored blob, hard-linked into layouts, is never written again.
type layoutStorage struct {
	root    string
	mu      sync.Mutex // guards d and layouts; held while a repository is made
	d       *safefile.Dir
	layouts map[string]*repoLayout
	log     atomic.Pointer[log.Logger] // Options.ErrorLog of the Server using it
	// readOnly keeps an index recovered from its journal in memory, not
	// written to index.json: for a dry run of GC.
	readOnly bool
	// maxIndex is the most a repository's index.json may hold (see
	// indexLimit): maxIndexSize, or less in a test.
	maxIndex int64
}

// repoLayout is a repository's layout, read through the root.
type repoLayout struct {
	name  string
	mu    sync.Mutex // guards idx: held while index.json is read, changed and replaced
	idx   *repoIndex // nil until read, and after a failed write
	j     *journal   // of idx
	facts *factTable // of its manifests, once asked for
}

// NewLayoutStorage returns a Storage that keeps every repository as an OCI
// image layout under root (root/library/alpine for library/alpine), so
// the same directory serves skiff, skopeo ("oci:root/library/alpine:3")
// and umoci. Content already there is served. root and its layouts must be
// on one file system: blobs are hard-linked, not copied. A repository
// whose name has a component that a layout keeps for its own files
// (blobs, index.json, oci-layout) is refused with a *NameError.
func NewLayoutStorage(root string) Storage {
	return &layoutStorage{root: root, layouts: map[string]*repoLayout{}, maxIndex: maxIndexSize}
}

// uploadDir is where a Server keeps this storage's uploads when not told:
// under the root, so that a finished one is linked into place.
func (s *layoutStorage) uploadDir() string { return filepath.Join(s.root, UploadsDir) }

// dir returns the root, opened the first time, and made if missing.
func (s *layoutStorage) dir() (*safefile.Dir, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dirLocked()
}

func (s *layoutStorage) dirLocked() (*safefile.Dir, error) {
	if s.d != nil {
		return s.d, nil
	}
	if err := os.MkdirAll(s.root, 0o755); err != nil { // named by whoever runs the server
		return nil, err
	}
	d, err := safefile.OpenDir(s.root)
	s.d = d
	return d, err
}

// blobName is where the store keeps the blob d, relative to the root.
func blobName(d manifest.Digest) string {
	return path.Join(blobStore, d.Algorithm(), d.Hex())
}

// storeDir makes the store's directory for algorithm: the server's own,
// refused when another user owns it or can write it, since a file planted
// there would be served as a verified blob.
func storeDir(d *safefile.Dir, algorithm string) error {
	if err := d.MkdirPrivate(blobStore, 0o755); err != nil {
		return err
	}
	return d.MkdirPrivate(path.Join(blobStore, algorithm), 0o755)
}

// blobInfo describes the stored blob d; what is not a regular file there
// (a planted link, a FIFO) is no blob.
func (s *layoutStorage) blobInfo(d manifest.Digest) (fs.FileInfo, error) {
	if d.Validate() != nil {
		return nil, fmt.Errorf("blob %s: %w", d, manifest.ErrNotFound)
	}
	dir, err := s.dir()
	if err != nil {
		return nil, err
	}
	fi, err := dir.Root().Lstat(blobName(d))
	if errors.Is(err, fs.ErrNotExist) || err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("blob %s: %w", d, manifest.ErrNotFound)
	}
	return fi, err
}

func (s *layoutStorage) StatBlob(d manifest.Digest) (int64, error) {
	fi, err := s.blobInfo(d)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func (s *layoutStorage) OpenBlob(d manifest.Digest) (io.ReadSeekCloser, error) {
	if d.Validate() != nil {
		return nil, fmt.Errorf("blob %s: %w", d, manifest.ErrNotFound)
	}
	dir, err := s.dir()
	if err != nil {
		return nil, err
	}
	f, err := dir.OpenFile(blobName(d), os.O_RDONLY)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, safefile.ErrNotRegular) {
		return nil, fmt.Errorf("blob %s: %w", d, manifest.ErrNotFound)
	}
	return f, err
}

// PutBlob writes r to a temporary file, verifies it, flushes it and renames
// it, and flushes the directory.
func (s *layoutStorage) PutBlob(d manifest.Digest, r io.Reader) (int64, error) {
	if err := d.Validate(); err != nil {
		return 0, err
	}
	dir, err := s.dir()
	if err != nil {
		return 0, err
	}
	if err := storeDir(dir, d.Algorithm()); err != nil {
		return 0, err
	}
	f, tmp, err := dir.CreateTemp(path.Join(blobStore, d.Algorithm(), ".tmp-*"))
	if err != nil {
		return 0, err
	}
	defer dir.Remove(tmp)
	g := manifest.NewDigester(d.Algorithm())
	n, err := io.Copy(io.MultiWriter(f, g), r)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, err
	}
	if got := g.Digest(); got != d {
		return n, fmt.Errorf("%w: expected %s, got %s", manifest.ErrDigestMismatch, d, got)
	}
	if err := linkBlob(dir, tmp, blobName(d)); err != nil {
		return n, err
	}
	return n, dir.SyncDir(path.Dir(blobName(d)))
}

// linkBlob links the verified file from to the name to, unless a blob is
// there already: a stored blob is never written again. What is there that
// is not a regular file, a planted link for one, is replaced (and
// reported).
func linkBlob(d *safefile.Dir, from, to string) error {
	err := d.Link(from, to)
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	if fi, err := d.Root().Lstat(to); err == nil && fi.Mode().IsRegular() {
		return nil
	}
	if err := d.Discard(to); err != nil {
		return err
	}
	return d.Link(from, to)
}

// AdoptBlob hard-links the file at path, which proof proves, into the
// blob store, flushes the store's directory, and removes path. A blob
// stored already is kept: the layouts holding it share its file.
func (s *layoutStorage) AdoptBlob(proof manifest.Verified, path string) error {
	d := proof.Digest()
	if err := d.Validate(); err != nil {
		return fmt.Errorf("server: adopting %s: %w", path, manifest.ErrUnverified)
	}
	rel, ok := s.inRoot(path)
	if !ok {
		return s.copyIn(d, path) // uploads kept outside the root
	}
	dir, err := s.dir()
	if err != nil {
		return err
	}
	defer dir.Remove(rel)
	if fi, err := dir.Root().Lstat(rel); err != nil || !fi.Mode().IsRegular() || fi.Size() != proof.Size() {
		return fmt.Errorf("server: adopting %s as %s: %w: it changed since", path, d, manifest.ErrUnverified)
	}
	if err := storeDir(dir, d.Algorithm()); err != nil {
		return err
	}
	if err := dir.Root().Chmod(rel, 0o644); err != nil {
		return err
	}
	if err := linkBlob(dir, rel, blobName(d)); err != nil { // a file system without hard links
		if err := dir.Commit(rel, blobName(d), false); err != nil {
			return err
		}
	}
	return dir.SyncDir(blobStore + "/" + d.Algorithm())
}

// inRoot returns path relative to the root, if it is under it.
func (s *layoutStorage) inRoot(p string) (string, bool) {
	rel, err := filepath.Rel(s.root, p)
	return filepath.ToSlash(rel), err == nil && filepath.IsLocal(rel)
}

// copyIn stores the verified file at path, outside the root (an upload
// directory elsewhere, as a test registry's may be), by copying it, and
// removes path.
func (s *layoutStorage) copyIn(d manifest.Digest, path string) error {
	defer os.Remove(path)
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = s.PutBlob(d, f)
	return err
}

// repo opens (create: or makes) the layout of repository name.
func (s *layoutStorage) repo(name string, create bool) (*repoLayout, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.layouts[name]; ok {
		return l, nil
	}
	if err := checkName(name); err != nil {
		if !create {
			return nil, fmt.Errorf("repository %s: %w", name, manifest.ErrNotFound) // none can be there
		}
		return nil, err
	}
	d, err := s.dirLocked()
	if err != nil {
		return nil, err
	}
	existed, err := isLayout(d, name)
	if err != nil {
		return nil, err
	}
	if !existed {
		if !create {
			return nil, fmt.Errorf("repository %s: %w", name, manifest.ErrNotFound)
		}
		// Repositories nest (a and a/b), so a new layout's directory may
		// already hold others: start it in place rather than refuse.
		if err := checkNew(d, name); err != nil {
			return nil, err
		}
		// A journal left by a layout of that name removed since must not
		// take the new one for an earlier version of itself.
		if err := d.Remove(journalName(name)); err != nil {
			return nil, err
		}
		if err := startLayout(d, name); err != nil {
			return nil, err
		}
	}
	l := &repoLayout{name: name}
	if existed {
		if err := s.adopt(d, l); err != nil {
			return nil, err
		}
	}
	s.layouts[name] = l
	return l, nil
}

// CheckName refuses the names checkName refuses and, with create, a new
// repository whose layout would not be its own (see checkNew).
func (s *layoutStorage) CheckName(repo string, create bool) error {
	if err := checkName(repo); err != nil || !create {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.layouts[repo]; ok {
		return nil
	}
	d, err := s.dirLocked()
	if err != nil {
		return err
	}
	if ok, err := isLayout(d, repo); err != nil || ok {
		return err
	}
	return checkNew(d, repo)
}

// adopt hard-links into the blob store the blobs of a layout found on
// disk that it lacks: a layout another tool wrote (skiff sync, skopeo,
// umoci) is then served as it is.
func (s *layoutStorage) adopt(d *safefile.Dir, l *repoLayout) error {
	for _, alg := range []string{manifest.SHA256, manifest.SHA512} {
		dir := path.Join(l.name, layout.BlobsDir, alg)
		entries, err := fs.ReadDir(d.Root().FS(), dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		for _, e := range entries {
			dg, err := manifest.ParseDigest(alg + ":" + e.Name())
			if err != nil || !e.Type().IsRegular() {
				continue // temporary and partial files, and what is not a blob
			}
			if err := s.adoptFile(d, path.Join(dir, e.Name()), dg); err != nil {
				return err
			}
		}
	}
	return nil
}

// adoptFile links the layout blob at name into the blob store as d,
// unless d is there. The file is hashed first: one whose bytes are not d
// is left out, and reported once, when its layout is first opened.
func (s *layoutStorage) adoptFile(dir *safefile.Dir, name string, d manifest.Digest) error {
	if fi, err := dir.Root().Lstat(blobName(d)); err == nil && fi.Mode().IsRegular() {
		return nil
	}
	if _, err := verifyFile(dir, name, d); err != nil {
		s.logf("server: not serving the layout blob %s: %v", filepath.Join(dir.Name(), name), err)
		return nil
	}
	if err := storeDir(dir, d.Algorithm()); err != nil {
		return err
	}
	if err := linkBlob(dir, name, blobName(d)); err != nil {
		return fmt.Errorf("serving the layout blob %s: %w", filepath.Join(dir.Name(), name), err)
	}
	return nil
}

// verifyFile reads the regular file name of dir through a Verifier of
// the blob d of its size, and returns the proof.
func verifyFile(dir *safefile.Dir, name string, d manifest.Digest) (manifest.Verified, error) {
	f, err := dir.OpenFile(name, os.O_RDONLY)
	if err != nil {
		return manifest.Verified{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return manifest.Verified{}, err
	}
	v := manifest.NewVerifier(f, manifest.Descriptor{Digest: d, Size: fi.Size()})
	if _, err := iobuf.Copy(io.Discard, v); err != nil {
		return manifest.Verified{}, err
	}
	return v.Verified()
}

// logf reports what the server cannot tell a client, through the
// Options.ErrorLog of the Server using the storage.
func (s *layoutStorage) logf(format string, args ...any) {
	if l := s.log.Load(); l != nil {
		l.Printf(format, args...)
	}
}

// setErrorLog is how New hands the storage Options.ErrorLog.
func (s *layoutStorage) setErrorLog(l *log.Logger) { s.log.Store(l) }

// Repositories finds every layout under root: see repositories.
func (s *layoutStorage) Repositories() ([]string, error) {
	d, err := s.dir()
	if err != nil {
		return nil, err
	}
	return repositories(d)
}
