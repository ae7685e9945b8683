package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/skiffoci/skiff/internal/safefile"
)

// session is an upload session. Its bytes are in a file of the upload
// directory, hashed with sha256 as they arrive, so that a PUT needs no
// second pass for a sha256 digest. Its lock is held while a request works
// on it; between requests it holds no open file.
type session struct {
	mu     sync.Mutex
	id     string
	repo   string
	secret string
	path   string        // of its file, for the storage to adopt
	dir    *safefile.Dir // the upload directory, which holds the file as id
	file   fs.FileInfo   // the file as created: the one file it ever writes
	size   int64
	sha    hash.Hash // of the bytes so far
	chunks []int64   // sizes of the non-empty chunks received
	used   time.Time // when a request last finished with it
	gone   bool      // finished, cancelled or expired
}

// errTooManySessions is a POST beyond Options.MaxUploadSessions.
var errTooManySessions = errors.New("server: too many upload sessions")

// sessionTable holds the live upload sessions.
type sessionTable struct {
	dir  string        // Options.UploadDir; "" for a temporary one in tmp
	tmp  string        // os.TempDir() when the Server was made
	max  int           // sessions at once; <= 0: no limit
	idle time.Duration // < 0: sessions never expire
	now  func() time.Time

	dmu   sync.Mutex
	d     *safefile.Dir // the upload directory, once opened
	path  string        // its path
	users int           // sessions and single POSTs with a file in it

	mu sync.Mutex
	m  map[string]*session
}

// hold returns the upload directory and its path, for a file to be made
// in it, until the matching drop. Without Options.UploadDir it is a new
// temporary directory, removed when the last holder drops it.
func (t *sessionTable) hold() (*safefile.Dir, string, error) {
	t.dmu.Lock()
	defer t.dmu.Unlock()
	if err := t.openDir(); err != nil {
		return nil, "", err
	}
	t.users++
	return t.d, t.path, nil
}

// drop ends a hold.
func (t *sessionTable) drop() {
	t.dmu.Lock()
	defer t.dmu.Unlock()
	if t.users--; t.users == 0 && t.dir == "" && t.d != nil {
		t.d.Close()
		os.RemoveAll(t.path)
		t.d, t.path = nil, ""
	}
}

// openDir opens the upload directory, made the first time it is needed
// and kept open: it is the server's own (safefile's MkdirPrivate), so a
// link planted at its name is replaced, and another user's directory
// refused. The caller holds dmu.
func (t *sessionTable) openDir() error {
	if t.d != nil {
		return nil
	}
	if t.dir == "" {
		tmp, err := os.MkdirTemp(t.tmp, "skiff-uploads-")
		if err != nil {
			return err
		}
		if t.d, err = safefile.OpenDir(tmp); err != nil {
			os.Remove(tmp)
			return err
		}
		t.path = tmp
		return nil
	}
	parent := filepath.Dir(t.dir)
	if err := os.MkdirAll(parent, 0o755); err != nil { // named by whoever runs the server
		return err
	}
	p, err := safefile.OpenDir(parent)
	if err != nil {
		return err
	}
	defer p.Close()
	base := filepath.Base(t.dir)
	if err := p.MkdirPrivate(base, 0o700); err != nil {
		return err
	}
	d, err := p.OpenDir(base)
	if err == nil {
		t.d, t.path = d, t.dir
	}
	return err
}

// emptyGrace is how long a session that received no byte is kept when
// the table is full and a new session needs its room: clients open
// sessions ahead of need (skiff's copy opens one while it fetches) and
// some never use them.
const emptyGrace = time.Minute

// create opens a session for repo with an empty file, after removing the
// expired sessions. At the limit it takes the room of the session that
// received no byte and was idle longest, past emptyGrace; failing that
// it returns errTooManySessions.
func (t *sessionTable) create(repo string) (*session, error) {
	t.expire()
	up := &session{id: newUUID(), repo: repo, secret: randomHex(12), sha: sha256.New(), used: t.now()}
	for tries := 0; ; tries++ {
		t.mu.Lock()
		if t.max <= 0 || len(t.m) < t.max {
			break
		}
		t.mu.Unlock()
		if tries == 3 || !t.evictEmpty() {
			return nil, errTooManySessions
		}
	}
	t.m[up.id] = up // the id is unknown to anyone yet: no request can find it early
	t.mu.Unlock()
	err := up.createFile(t)
	if err != nil {
		t.mu.Lock()
		delete(t.m, up.id)
		t.mu.Unlock()
		return nil, err
	}
	return up, nil
}

// createFile creates the session's empty file, with O_EXCL, and records
// which file it is; the session holds the upload directory until removed.
func (up *session) createFile(t *sessionTable) error {
	d, dir, err := t.hold()
	if err != nil {
		return err
	}
	f, err := d.Create(up.id, 0o600)
	if err == nil {
		up.file, err = f.Stat()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			d.Remove(up.id)
		}
	}
	if err != nil {
		t.drop()
		return err
	}
	up.dir, up.path = d, filepath.Join(dir, up.id)
	return nil
}

// open opens the session's file with flag: the file it created, not what
// may have been put in its place.
func (up *session) open(flag int) (*os.File, error) {
	f, err := up.dir.OpenFile(up.id, flag)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || !os.SameFile(st, up.file) {
		f.Close()
		return nil, fmt.Errorf("server: the file of upload session %s was replaced", up.id)
	}
	return f, nil
}

// sync flushes the session's file to stable storage.
func (up *session) sync() error {
	f, err := up.open(os.O_RDONLY)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// truncate cuts the session's file to size bytes.
func (up *session) truncate(size int64) error {
	f, err := up.open(os.O_WRONLY)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// lock returns the live session id, locked, or nil. A session idle past
// its time is removed instead.
func (t *sessionTable) lock(id string) *session {
	t.mu.Lock()
	up := t.m[id]
	t.mu.Unlock()
	if up == nil {
		return nil
	}
	up.mu.Lock()
	if !up.gone && t.expired(up) {
		t.remove(up)
	}
	if up.gone {
		up.mu.Unlock()
		return nil
	}
	return up
}

// release ends a request's work on a locked session.
func (t *sessionTable) release(up *session) {
	up.used = t.now()
	up.mu.Unlock()
}

func (t *sessionTable) expired(up *session) bool {
	return t.idle >= 0 && t.now().Sub(up.used) > t.idle
}

// remove ends a session the caller holds locked and deletes its file.
func (t *sessionTable) remove(up *session) {
	t.mu.Lock()
	delete(t.m, up.id)
	t.mu.Unlock()
	up.gone = true
	if up.dir != nil {
		up.dir.Remove(up.id)
		t.drop()
	}
}

// expire removes the sessions idle past their time, skipping those a
// request is working on, and returns how many it removed.
func (t *sessionTable) expire() int {
	n := 0
	for _, up := range t.list() {
		if !up.mu.TryLock() {
			continue // in use: not idle
		}
		if !up.gone && t.expired(up) {
			t.remove(up)
			n++
		}
		up.mu.Unlock()
	}
	return n
}

// evictEmpty removes the session that received no byte and was idle
// longest, if it was idle past emptyGrace (or its idle timeout, when
// shorter), and reports whether it removed one.
func (t *sessionTable) evictEmpty() bool {
	var oldest *session
	for _, up := range t.list() {
		if !up.mu.TryLock() {
			continue // in use
		}
		if !up.gone && up.size == 0 && t.now().Sub(up.used) >= t.grace() && (oldest == nil || up.used.Before(oldest.used)) {
			oldest = up
		}
		up.mu.Unlock()
	}
	if oldest == nil || !oldest.mu.TryLock() {
		return false
	}
	defer oldest.mu.Unlock()
	if oldest.gone || oldest.size != 0 {
		return false
	}
	t.remove(oldest)
	return true
}

// grace is how long an empty session keeps its room against new ones.
func (t *sessionTable) grace() time.Duration {
	if t.idle >= 0 {
		return min(emptyGrace, t.idle)
	}
	return emptyGrace
}

// retryAfter is how long until the first session expires or, for one
// that received no byte, may give its room to a new one: at least a
// second and at most a minute. It is what a client refused for lack of
// room should wait.
func (t *sessionTable) retryAfter() time.Duration {
	wait := time.Minute
	now := t.now()
	for _, up := range t.list() {
		if up.mu.TryLock() {
			switch {
			case up.size == 0:
				wait = min(wait, up.used.Add(t.grace()).Sub(now))
			case t.idle >= 0:
				wait = min(wait, up.used.Add(t.idle).Sub(now))
			}
			up.mu.Unlock()
		}
	}
	return max(wait, time.Second)
}

func (t *sessionTable) list() []*session {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*session, 0, len(t.m))
	for _, up := range t.m {
		out = append(out, up)
	}
	return out
}

// closeAll ends every session no request is working on. The files of
// busy ones stay, for RemoveTemporary to find at the next start: waiting
// for a slow client would hold up a shutdown. Without busy ones the
// upload directory is closed too.
func (t *sessionTable) closeAll() error {
	busy := false
	for _, up := range t.list() {
		if !up.mu.TryLock() {
			busy = true
			continue
		}
		if !up.gone {
			t.remove(up)
		}
		up.mu.Unlock()
	}
	t.dmu.Lock()
	defer t.dmu.Unlock()
	if busy || t.d == nil || t.dir == "" { // a temporary one goes with its last user
		return nil
	}
	err := t.d.Close()
	t.d = nil
	return err
}

// append adds what r yields to the session's file and hash, and returns
// its length. Bytes that arrived before an error stay.
func (up *session) append(r io.Reader) (int64, error) {
	f, err := up.open(os.O_WRONLY)
	if err != nil {
		return 0, err
	}
	if _, err := f.Seek(up.size, io.SeekStart); err != nil {
		f.Close()
		return 0, err
	}
	n, err := io.Copy(&hashedFile{f: f, h: up.sha}, r)
	up.size += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// mark returns what undo needs to take the session back to this point.
func (up *session) mark() (size int64, state []byte) {
	state, _ = up.sha.(encoding.BinaryMarshaler).MarshalBinary()
	return up.size, state
}

// undo truncates the session to a mark, for a chunk that was refused.
func (up *session) undo(size int64, state []byte) error {
	if err := up.sha.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return err
	}
	up.size = size
	return up.truncate(size)
}

// hashedFile writes to a file and hashes what the file took.
type hashedFile struct {
	f *os.File
	h io.Writer
}

func (w *hashedFile) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	return n, err
}

// newUUID returns a random version 4 UUID, the form distribution uses for
// upload ids.
func newUUID() string {
	h := []byte(randomHex(16))
	h[12] = '4'
	h[16] = "89ab"[strings.IndexByte("0123456789abcdef", h[16])%4]
	return string(h[0:8]) + "-" + string(h[8:12]) + "-" + string(h[12:16]) + "-" + string(h[16:20]) + "-" + string(h[20:32])
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
