package server

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"sync"

	"github.com/skiffoci/skiff/manifest"
)

// memStorage keeps content in memory: each blob once, as the bytes it was
// stored with, served by a reader over them (no copy per request).
type memStorage struct {
	mu    sync.RWMutex
	blobs map[manifest.Digest][]byte
	repos map[string]map[Kind]map[string]Link
}

// NewMemoryStorage returns an empty Storage held in memory, the one New
// uses without Options.Storage: for tests, and for registries that live
// as long as their process. Finished uploads are read into it from their
// files once; request bodies still stream to files while they are hashed.
func NewMemoryStorage() Storage {
	return &memStorage{
		blobs: map[manifest.Digest][]byte{},
		repos: map[string]map[Kind]map[string]Link{},
	}
}

func memNotFound(what string) error {
	return fmt.Errorf("server: %s: %w", what, manifest.ErrNotFound)
}

func (m *memStorage) StatBlob(d manifest.Digest) (int64, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	b, ok := m.blobs[d]
	if !ok {
		return 0, memNotFound("blob " + string(d))
	}
	return int64(len(b)), nil
}

type nopSeekCloser struct{ *bytes.Reader }

func (nopSeekCloser) Close() error { return nil }

func (m *memStorage) OpenBlob(d manifest.Digest) (io.ReadSeekCloser, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	b, ok := m.blobs[d]
	if !ok {
		return nil, memNotFound("blob " + string(d))
	}
	return nopSeekCloser{bytes.NewReader(b)}, nil
}

// PutBlob reads r whole, verified, into one buffer: of r's length when r
// tells it (a manifest's bytes.Reader), so nothing is copied twice.
func (m *memStorage) PutBlob(d manifest.Digest, r io.Reader) (int64, error) {
	if err := d.Validate(); err != nil {
		return 0, err
	}
	hint := 512
	if l, ok := r.(interface{ Len() int }); ok {
		hint = l.Len()
	}
	b, err := readAll(manifest.NewVerifyingReader(r, manifest.Descriptor{Digest: d, Size: manifest.SizeUnknown}), hint)
	if err != nil {
		return 0, err
	}
	m.put(d, b)
	return int64(len(b)), nil
}

// readAll is io.ReadAll into a buffer of hint bytes and one more, so that
// the read that meets the end needs no larger one (as os.ReadFile does).
func readAll(r io.Reader, hint int) ([]byte, error) {
	b := make([]byte, 0, hint+1)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// AdoptBlob reads the verified file at path into memory, in one buffer of
// its size, and removes it.
func (m *memStorage) AdoptBlob(proof manifest.Verified, path string) error {
	defer os.Remove(path)
	d := proof.Digest()
	if err := d.Validate(); err != nil {
		return fmt.Errorf("server: adopting %s: %w", path, manifest.ErrUnverified)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() != proof.Size() {
		return fmt.Errorf("server: adopting %s as %s: %w: it changed since", path, d, manifest.ErrUnverified)
	}
	b := make([]byte, proof.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return err
	}
	m.put(d, b)
	return nil
}

func (m *memStorage) put(d manifest.Digest, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.blobs[d]; !ok { // readers may hold the stored bytes
		m.blobs[d] = b
	}
}

func (m *memStorage) Link(repo string, l Link) error {
	if err := checkLink(repo, l.Kind, l.Name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	kinds := m.repos[repo]
	if kinds == nil {
		kinds = map[Kind]map[string]Link{}
		m.repos[repo] = kinds
	}
	if kinds[l.Kind] == nil {
		kinds[l.Kind] = map[string]Link{}
	}
	kinds[l.Kind][l.Name] = l
	return nil
}

func (m *memStorage) Unlink(repo string, kind Kind, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	links := m.repos[repo][kind]
	if _, ok := links[name]; !ok {
		return memNotFound(string(kind) + " " + name)
	}
	delete(links, name)
	return nil
}

func (m *memStorage) Lookup(repo string, kind Kind, name string) (Link, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	l, ok := m.repos[repo][kind][name]
	if !ok {
		return Link{}, memNotFound(string(kind) + " " + name)
	}
	return l, nil
}

func (m *memStorage) List(repo string, kind Kind) ([]Link, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	kinds, ok := m.repos[repo]
	if !ok {
		return nil, memNotFound("repository " + repo)
	}
	out := make([]Link, 0, len(kinds[kind]))
	for _, l := range kinds[kind] {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m *memStorage) Repositories() ([]string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]string, 0, len(m.repos))
	for name := range m.repos {
		out = append(out, name)
	}
	slices.Sort(out)
	return out, nil
}

var _ BlobAdopter = (*memStorage)(nil)
