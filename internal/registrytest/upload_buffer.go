package registrytest

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// buffer holds the bytes of an upload session.
type buffer interface {
	io.Writer
	Size() int64
	Truncate(n int64) error
	Reader() io.Reader
	Close() error // discards the content
}

type memBuffer struct{ b []byte }

func (m *memBuffer) Write(p []byte) (int, error) { m.b = append(m.b, p...); return len(p), nil }
func (m *memBuffer) Size() int64                 { return int64(len(m.b)) }
func (m *memBuffer) Truncate(n int64) error      { m.b = m.b[:n]; return nil }
func (m *memBuffer) Reader() io.Reader           { return bytes.NewReader(m.b) }
func (m *memBuffer) Close() error                { m.b = nil; return nil }

// fileBuffer keeps an upload in a temporary file, for directory storage.
type fileBuffer struct {
	f *os.File
	n int64
}

func (b *fileBuffer) Write(p []byte) (int, error) {
	n, err := b.f.WriteAt(p, b.n)
	b.n += int64(n)
	return n, err
}

func (b *fileBuffer) Size() int64 { return b.n }

func (b *fileBuffer) Truncate(n int64) error {
	b.n = n
	return b.f.Truncate(n)
}

func (b *fileBuffer) Reader() io.Reader { return io.NewSectionReader(b.f, 0, b.n) }

func (b *fileBuffer) Close() error {
	b.f.Close()
	return os.Remove(b.f.Name())
}

// upload is an upload session. Its lock is held while a request works on it.
type upload struct {
	mu     sync.Mutex
	id     string
	repo   string
	secret string
	buf    buffer
	chunks []int64 // sizes of the non-empty chunks received
	gone   bool    // finished or cancelled
}

// uploadTable holds the live upload sessions.
type uploadTable struct {
	mu  sync.Mutex
	dir string // where file buffers go; memory when empty
	m   map[string]*upload
}

func newUploadTable(dir string) *uploadTable {
	return &uploadTable{dir: dir, m: map[string]*upload{}}
}

func (t *uploadTable) create(repo string) (*upload, error) {
	up := &upload{id: newUUID(), repo: repo, secret: randomHex(12), buf: &memBuffer{}}
	if t.dir != "" {
		dir := filepath.Join(t.dir, "uploads")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		f, err := os.CreateTemp(dir, up.id+"-*")
		if err != nil {
			return nil, err
		}
		up.buf = &fileBuffer{f: f}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.m[up.id] = up
	return up, nil
}

// lock returns the live session id, locked, or nil.
func (t *uploadTable) lock(id string) *upload {
	t.mu.Lock()
	up := t.m[id]
	t.mu.Unlock()
	if up == nil {
		return nil
	}
	up.mu.Lock()
	if up.gone {
		up.mu.Unlock()
		return nil
	}
	return up
}

// remove ends a session the caller holds locked.
func (t *uploadTable) remove(up *upload) {
	t.mu.Lock()
	delete(t.m, up.id)
	t.mu.Unlock()
	up.gone = true
	up.buf.Close()
}

// newUUID returns a random version 4 UUID, the form distribution uses for
// upload ids.
func newUUID() string {
	h := []byte(randomHex(16))
	h[12] = '4'
	h[16] = "89ab"[strings.IndexByte("0123456789abcdef", h[16])%4]
	return string(h[0:8]) + "-" + string(h[8:12]) + "-" + string(h[12:16]) + "-" + string(h[16:20]) + "-" + string(h[20:32])
}
