package registryserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/skiffoci/skiff/internal/iobuf"
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
type layoutStorage struct {
	root    string
	mu      sync.Mutex
	layouts map[string]*layout.Layout
	log     atomic.Pointer[log.Logger]
}

// NewLayoutStorage returns a Storage that keeps every repository as an OCI
// image layout under root (root/library/alpine for library/alpine), so
// the same directory serves skiff, skopeo ("oci:root/library/alpine:3")
// and umoci. Content already there is served. root and its layouts must be
// on one file system: blobs are hard-linked, not copied.
func NewLayoutStorage(root string) Storage {
	return &layoutStorage{root: root, layouts: map[string]*layout.Layout{}}
}

func (s *layoutStorage) blobPath(d manifest.Digest) string {
	if d.Validate() != nil {
		return filepath.Join(s.root, blobStore, "invalid") // never created
	}
	return filepath.Join(s.root, blobStore, d.Algorithm(), d.Hex())
}

func (s *layoutStorage) StatBlob(d manifest.Digest) (int64, error) {
	fi, err := os.Stat(s.blobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("blob %s: %w", d, manifest.ErrNotFound)
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func (s *layoutStorage) OpenBlob(d manifest.Digest) (io.ReadSeekCloser, error) {
	f, err := os.Open(s.blobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
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
	dir := filepath.Dir(s.blobPath(d))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
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
	if err := os.Rename(f.Name(), s.blobPath(d)); err != nil {
		return n, err
	}
	return n, syncDir(dir)
}

// AdoptBlob hard-links the file at path, which proof proves, into the
// blob store, flushes the store's directory, and removes path. A blob
// stored already is kept: the layouts holding it share its file.
func (s *layoutStorage) AdoptBlob(proof manifest.Verified, path string) error {
	defer os.Remove(path)
	d := proof.Digest()
	if err := d.Validate(); err != nil {
		return fmt.Errorf("registryserver: adopting %s: %w", path, manifest.ErrUnverified)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Size() != proof.Size() {
		return fmt.Errorf("registryserver: adopting %s as %s: %w: it changed since", path, d, manifest.ErrUnverified)
	}
	dst := s.blobPath(d)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Chmod(path, 0o644); err != nil {
		return err
	}
	err := os.Link(path, dst)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil
	case err != nil: // a file system without hard links
		err = os.Rename(path, dst)
	}
	if err != nil {
		return err
	}
	return syncDir(filepath.Dir(dst))
}

// repo opens (create: or makes) the layout of repository name.
func (s *layoutStorage) repo(name string, create bool) (*layout.Layout, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.layouts[name]; ok {
		return l, nil
	}
	dir := filepath.Join(s.root, filepath.FromSlash(name))
	_, err := os.Stat(filepath.Join(dir, layout.LayoutFile))
	existed := err == nil
	if !existed {
		if !create {
			return nil, fmt.Errorf("repository %s: %w", name, manifest.ErrNotFound)
		}
		// Repositories nest (a and a/b), so a new layout's directory may
		// already hold others: start it in place rather than refuse.
		if err := startLayout(dir); err != nil {
			return nil, err
		}
	}
	l, err := layout.Open(dir)
	if err == nil && existed {
		err = s.adopt(l)
	}
	if err != nil {
		return nil, err
	}
	s.layouts[name] = l
	return l, nil
}

// adopt hard-links into the blob store the blobs of a layout found on
// disk that it lacks: a layout another tool wrote (skiff sync, skopeo,
// umoci) is then served as it is.
func (s *layoutStorage) adopt(l *layout.Layout) error {
	for _, alg := range []string{manifest.SHA256, manifest.SHA512} {
		dir := filepath.Join(l.Dir(), layout.BlobsDir, alg)
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		for _, e := range entries {
			d, err := manifest.ParseDigest(alg + ":" + e.Name())
			if err != nil || !e.Type().IsRegular() {
				continue // temporary and partial files, and what is not a blob
			}
			if err := s.adoptFile(filepath.Join(dir, e.Name()), d); err != nil {
				return err
			}
		}
	}
	return nil
}

// adoptFile links path into the blob store as d, unless d is there. The
// file is hashed first: one whose bytes are not d is left out, and
// reported once, when its layout is first opened.
func (s *layoutStorage) adoptFile(path string, d manifest.Digest) error {
	dst := s.blobPath(d)
	if _, err := os.Lstat(dst); err == nil {
		return nil
	}
	if _, err := verifyFile(path, d); err != nil {
		s.logf("registryserver: not serving the layout blob %s: %v", path, err)
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Link(path, dst); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("serving the layout blob %s: %w", path, err)
	}
	return nil
}

// verifyFile reads the regular file at path through a Verifier of the
// blob d of its size, and returns the proof.
func verifyFile(path string, d manifest.Digest) (manifest.Verified, error) {
	f, err := os.Open(path)
	if err != nil {
		return manifest.Verified{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return manifest.Verified{}, err
	}
	if !fi.Mode().IsRegular() {
		return manifest.Verified{}, fmt.Errorf("%s is not a regular file", path)
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

// startLayout writes the files of an empty layout into dir.
func startLayout(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, layout.IndexFile), []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, layout.LayoutFile), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
}

// linkFile hard-links the stored blob d into l's blobs directory, and
// flushes that directory, so that what the server confirms survives a
// power cut.
func (s *layoutStorage) linkFile(l *layout.Layout, d manifest.Digest) error {
	dst := filepath.Join(l.Dir(), layout.BlobsDir, d.Algorithm(), d.Hex())
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	err := os.Link(s.blobPath(d), dst)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return syncDir(filepath.Dir(dst))
}

func (s *layoutStorage) Link(repo string, ln Link) error {
	if err := checkLink(repo, ln.Kind, ln.Name); err != nil {
		return err
	}
	l, err := s.repo(repo, true)
	if err != nil {
		return err
	}
	switch ln.Kind {
	case KindBlob:
		return s.linkFile(l, ln.Digest)
	case KindManifest:
		if err := s.linkFile(l, ln.Digest); err != nil {
			return err
		}
		return l.AddDescriptor(context.Background(), s.descriptor(ln.Digest, ln.MediaType))
	}
	m, err := s.Lookup(repo, KindManifest, string(ln.Digest))
	if err != nil {
		return err
	}
	return l.Tag(context.Background(), s.descriptor(ln.Digest, m.MediaType), ln.Name)
}

func (s *layoutStorage) descriptor(d manifest.Digest, mediaType string) manifest.Descriptor {
	size, _ := s.StatBlob(d)
	return manifest.Descriptor{MediaType: mediaType, Digest: d, Size: size}
}

func (s *layoutStorage) Unlink(repo string, kind Kind, name string) error {
	if _, err := s.Lookup(repo, kind, name); err != nil {
		return err
	}
	l, err := s.repo(repo, false)
	if err != nil {
		return err
	}
	ctx := context.Background()
	switch kind {
	case KindTag:
		return l.Untag(ctx, name)
	case KindManifest:
		if err := l.RemoveDescriptor(ctx, manifest.Digest(name)); err != nil {
			return err
		}
	}
	d := manifest.Digest(name)
	return os.Remove(filepath.Join(l.Dir(), layout.BlobsDir, d.Algorithm(), d.Hex()))
}

func (s *layoutStorage) Lookup(repo string, kind Kind, name string) (Link, error) {
	if err := checkLink(repo, kind, name); err != nil {
		return Link{}, err
	}
	links, err := s.List(repo, kind)
	if err != nil {
		return Link{}, err
	}
	i := slices.IndexFunc(links, func(l Link) bool { return l.Name == name })
	if i >= 0 {
		return links[i], nil
	}
	if kind == KindManifest {
		return s.blobManifest(repo, name)
	}
	return Link{}, fmt.Errorf("%s %s in %s: %w", kind, name, repo, manifest.ErrNotFound)
}

// blobManifest finds a manifest that index.json does not list but the
// layout holds as a blob: an index's child, as copies into layouts
// store them.
func (s *layoutStorage) blobManifest(repo, name string) (Link, error) {
	l, err := s.repo(repo, false)
	if err != nil {
		return Link{}, err
	}
	d, err := l.Resolve(context.Background(), name)
	if err != nil {
		return Link{}, fmt.Errorf("manifest %s in %s: %w", name, repo, manifest.ErrNotFound)
	}
	return Link{Kind: KindManifest, Name: name, Digest: d.Digest, MediaType: d.MediaType}, nil
}

func (s *layoutStorage) List(repo string, kind Kind) ([]Link, error) {
	l, err := s.repo(repo, false)
	if err != nil {
		return nil, err
	}
	if kind == KindBlob {
		return s.listBlobs(l)
	}
	idx, err := l.Index()
	if err != nil {
		return nil, err
	}
	var links []Link
	for _, d := range idx.Manifests {
		tag, tagged := d.Annotations[layout.RefNameAnnotation]
		switch {
		case kind == KindTag && tagged:
			links = append(links, Link{Kind: KindTag, Name: tag, Digest: d.Digest})
		case kind == KindManifest && !slices.ContainsFunc(links, func(l Link) bool { return l.Digest == d.Digest }):
			links = append(links, Link{Kind: KindManifest, Name: string(d.Digest), Digest: d.Digest, MediaType: d.MediaType})
		}
	}
	sort.Slice(links, func(i, j int) bool { return links[i].Name < links[j].Name })
	return links, nil
}

// listBlobs lists the blobs linked into l that no index entry names.
func (s *layoutStorage) listBlobs(l *layout.Layout) ([]Link, error) {
	idx, err := l.Index()
	if err != nil {
		return nil, err
	}
	named := map[manifest.Digest]bool{}
	for _, d := range idx.Manifests {
		named[d.Digest] = true
	}
	var links []Link
	for _, alg := range []string{manifest.SHA256, manifest.SHA512} {
		entries, err := os.ReadDir(filepath.Join(l.Dir(), layout.BlobsDir, alg))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if d, err := manifest.ParseDigest(alg + ":" + e.Name()); err == nil && !named[d] {
				links = append(links, Link{Kind: KindBlob, Name: string(d), Digest: d})
			}
		}
	}
	return links, nil
}

// Repositories finds every layout under root.
func (s *layoutStorage) Repositories() ([]string, error) {
	var repos []string
	err := filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == s.root {
			return fs.SkipAll
		}
		if err != nil {
			return err
		}
		if d.IsDir() && p != s.root && (strings.HasPrefix(d.Name(), ".") || d.Name() == layout.BlobsDir && isLayout(filepath.Dir(p))) {
			return fs.SkipDir // the store, uploads: repository names start with a letter or digit
		}
		if !d.IsDir() && d.Name() == layout.LayoutFile && p != filepath.Join(s.root, layout.LayoutFile) {
			rel, _ := filepath.Rel(s.root, filepath.Dir(p))
			repos = append(repos, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(repos)
	return repos, err
}

func isLayout(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, layout.LayoutFile))
	return err == nil
}
