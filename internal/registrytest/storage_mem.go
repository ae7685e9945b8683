package registrytest

import (
	"bytes"
	"io"
	"slices"
	"sort"
	"sync"

	"github.com/skiffoci/skiff/manifest"
)

// memStorage is the Storage a Registry uses when none is given.
type memStorage struct {
	mu    sync.RWMutex
	blobs map[manifest.Digest][]byte
	repos map[string]map[Kind]map[string]Link
}

// NewMemoryStorage returns an empty Storage held in memory.
func NewMemoryStorage() Storage {
	return &memStorage{
		blobs: map[manifest.Digest][]byte{},
		repos: map[string]map[Kind]map[string]Link{},
	}
}

func (m *memStorage) StatBlob(d manifest.Digest) (int64, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	b, ok := m.blobs[d]
	if !ok {
		return 0, notFound("blob " + string(d))
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
		return nil, notFound("blob " + string(d))
	}
	return nopSeekCloser{bytes.NewReader(b)}, nil
}

func (m *memStorage) PutBlob(d manifest.Digest, r io.Reader) (int64, error) {
	if err := d.Validate(); err != nil {
		return 0, err
	}
	desc := manifest.Descriptor{Digest: d, Size: manifest.SizeUnknown}
	b, err := io.ReadAll(manifest.NewVerifyingReader(r, desc))
	if err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blobs[d] = b
	return int64(len(b)), nil
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
		return notFound(string(kind) + " " + name)
	}
	delete(links, name)
	return nil
}

func (m *memStorage) Lookup(repo string, kind Kind, name string) (Link, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	l, ok := m.repos[repo][kind][name]
	if !ok {
		return Link{}, notFound(string(kind) + " " + name)
	}
	return l, nil
}

func (m *memStorage) List(repo string, kind Kind) ([]Link, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	kinds, ok := m.repos[repo]
	if !ok {
		return nil, notFound("repository " + repo)
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
