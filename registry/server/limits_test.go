package server_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/server"
)

// TestUploadSessionsExpire: a session without a request for longer than
// UploadIdleTimeout, by the clock in Options.Now, is gone with its file;
// one that was used meanwhile stays; ExpireUploads reclaims the rest.
func TestUploadSessionsExpire(t *testing.T) {
	clock := testtool.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := start(t, func(o *server.Options) { o.Now = clock.Now })
	a, b := s.session("r"), s.session("r")
	clock.Advance(40 * time.Minute)
	a = s.do("PATCH", a, []byte("abc")).want(t, 202).Header.Get("Location")
	clock.Advance(40 * time.Minute) // b idle 80 min, a 40 min
	if n := len(files(t, s.uploads)); n != 2 {
		t.Fatalf("%d upload files before b is used, want 2", n)
	}
	s.do("GET", b, nil).wantError(t, 404, server.CodeBlobUploadUnknown)
	if n := len(files(t, s.uploads)); n != 1 {
		t.Fatalf("%d upload files after b expired, want 1", n)
	}
	s.do("GET", a, nil).want(t, 204)
	c := s.session("r")
	clock.Advance(time.Hour + time.Second)
	if n := s.ExpireUploads(); n != 2 {
		t.Fatalf("ExpireUploads removed %d sessions, want 2", n)
	}
	if got := files(t, s.uploads); len(got) != 0 {
		t.Fatalf("files left after expiry: %v", got)
	}
	s.do("PATCH", c, []byte("x")).wantError(t, 404, server.CodeBlobUploadUnknown)
}

// A negative UploadIdleTimeout keeps sessions for ever.
func TestUploadSessionsNeverExpire(t *testing.T) {
	clock := testtool.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := start(t, func(o *server.Options) { o.Now, o.UploadIdleTimeout = clock.Now, -1 })
	loc := s.session("r")
	clock.Advance(1000 * time.Hour)
	if s.ExpireUploads() != 0 {
		t.Fatal("a session expired")
	}
	s.do("GET", loc, nil).want(t, 204)
}

// TestMaxUploadSessions: beyond the limit a POST gets 429 TOOMANYREQUESTS
// with a Retry-After of when the first session expires (at most a
// minute); a cancelled or expired session makes room, and a single POST,
// which opens no session, is never refused. The sessions here received
// bytes: they keep their room until they expire.
func TestMaxUploadSessions(t *testing.T) {
	clock := testtool.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := start(t, func(o *server.Options) {
		o.Now, o.MaxUploadSessions, o.UploadIdleTimeout = clock.Now, 2, 10*time.Minute
	})
	first := s.sessionWithBytes("r")
	clock.Advance(9*time.Minute + 30*time.Second)
	s.sessionWithBytes("r")
	r := s.do("POST", "/v2/r/blobs/uploads/", nil).wantError(t, 429, server.CodeTooManyRequests)
	if ra := r.Header.Get("Retry-After"); ra != "30" {
		t.Fatalf("Retry-After %q, want 30 (the first session expires in 30 s)", ra)
	}
	s.do("POST", "/v2/r/blobs/uploads/?digest="+string(manifest.FromBytes([]byte("x"))), []byte("x")).want(t, 201)
	s.do("DELETE", first, nil).want(t, 204)
	s.sessionWithBytes("r")
	s.do("POST", "/v2/r/blobs/uploads/", nil).want(t, 429)
	clock.Advance(11 * time.Minute)
	s.session("r") // the expired ones made room
	if n := len(files(t, s.uploads)); n != 1 {
		t.Fatalf("%d upload files, want 1", n)
	}
}

// sessionWithBytes opens a session on repo and sends it one byte.
func (s *testServer) sessionWithBytes(repo string) string {
	s.t.Helper()
	loc := s.session(repo)
	s.do("PATCH", loc, []byte("x"), "Content-Range", "0-0").want(s.t, 202)
	return loc
}

// TestEmptyUploadSessionsGiveWay: at the limit, a session that received
// no byte and was idle for a minute gives its room to a new one (the
// idlest first), as a client that opened it ahead of need and never used
// it does not come back; one younger than a minute, or one that received
// bytes, keeps it, and the 429 says when the first empty one may give way.
func TestEmptyUploadSessionsGiveWay(t *testing.T) {
	clock := testtool.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := start(t, func(o *server.Options) {
		o.Now, o.MaxUploadSessions, o.UploadIdleTimeout = clock.Now, 3, time.Hour
	})
	oldest := s.session("r")
	clock.Advance(10 * time.Second)
	younger := s.session("r")
	used := s.sessionWithBytes("r")
	clock.Advance(45 * time.Second)
	r := s.do("POST", "/v2/r/blobs/uploads/", nil).wantError(t, 429, server.CodeTooManyRequests)
	if ra := r.Header.Get("Retry-After"); ra != "5" {
		t.Fatalf("Retry-After %q, want 5 (the oldest empty session is idle for 55 s)", ra)
	}
	clock.Advance(5 * time.Second)
	s.session("r")
	s.do("GET", oldest, nil).wantError(t, 404, server.CodeBlobUploadUnknown)
	clock.Advance(10 * time.Second)
	fresh := s.session("r") // younger gave way
	s.do("GET", younger, nil).wantError(t, 404, server.CodeBlobUploadUnknown)
	s.do("PATCH", fresh, []byte("y"), "Content-Range", "0-0").want(t, 202)
	clock.Advance(50 * time.Minute)
	s.do("POST", "/v2/r/blobs/uploads/", nil).want(t, 202) // the empty one opened at 60 s
	s.do("POST", "/v2/r/blobs/uploads/", nil).want(t, 429) // two with bytes and one empty, young
	s.do("GET", used, nil).want(t, 204)
}

// TestMaxBlobSize: an upload that would grow a blob past MaxBlobSize is
// refused with 413 SIZE_INVALID, before its body is read when its length
// is announced, after reading no more than the limit otherwise; what the
// session held before stays, and nothing is stored.
func TestMaxBlobSize(t *testing.T) {
	s := start(t, func(o *server.Options) { o.MaxBlobSize = 100 })
	big := bytes.Repeat([]byte("b"), 101)
	s.do("POST", "/v2/r/blobs/uploads/?digest="+string(manifest.FromBytes(big)), big).
		wantError(t, 413, server.CodeSizeInvalid)
	loc := s.session("r")
	loc = s.do("PATCH", loc, big[:60], "Content-Range", "0-59").want(t, 202).Header.Get("Location")
	s.do("PATCH", loc, big[:41], "Content-Range", "60-100").wantError(t, 413, server.CodeSizeInvalid)
	s.do("PUT", loc+"&digest="+string(manifest.FromBytes(big)), big[60:]).wantError(t, 413, server.CodeSizeInvalid)
	chunked := s.chunkedPATCH(loc, big[:41])
	chunked.wantError(t, 413, server.CodeSizeInvalid)
	s.do("GET", loc, nil).want(t, 204).header(t, "Range", "0-59")
	if got := files(t, s.uploads); len(got) != 1 || firstSize(got) != 60 {
		t.Fatalf("upload files %v, want one of 60 bytes", got)
	}
	exact := big[:100]
	s.do("PUT", loc+"&digest="+string(manifest.FromBytes(exact)), exact[60:]).want(t, 201)
	if _, err := os.Stat(filepath.Join(s.root, ".blobs", "sha256", manifest.FromBytes(big).Hex())); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the refused blob is stored")
	}
}

// chunkedPATCH sends body without Content-Length (chunked encoding).
func (s *testServer) chunkedPATCH(loc string, body []byte) reply {
	s.t.Helper()
	r, err := s.tryReader("PATCH", loc, struct{ *bytes.Reader }{bytes.NewReader(body)})
	if err != nil {
		s.t.Fatal(err)
	}
	return r
}

func firstSize(m map[string]int64) int64 {
	for _, n := range m {
		return n
	}
	return -1
}

func (r reply) header(t testing.TB, name, value string) reply {
	t.Helper()
	if got := r.Header.Get(name); got != value {
		t.Fatalf("%s is %q, want %q", name, got, value)
	}
	return r
}

// TestRemoveTemporary: what an interrupted server left (upload files,
// .tmp- files of the blob store and of layouts) is removed, and nothing
// else.
func TestRemoveTemporary(t *testing.T) {
	s := start(t, nil)
	im := newImage("keep", 100, nil)
	s.push("a/b", "v1", im)
	s.session("a/b")
	s.Close() // as if the server stopped: nothing else touches the root
	leftovers := []string{".uploads/0b0c2c1e-crashed", ".uploads/post-1234", ".blobs/sha256/.tmp-123",
		"a/b/.tmp-index.json-77", "a/b/blobs/sha256/.tmp-" + im.desc.Digest.Hex() + "-9"}
	for _, f := range leftovers {
		p := filepath.Join(s.root, filepath.FromSlash(f))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := files(t, s.root)
	removed, err := server.RemoveTemporary(s.root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range removed {
		got = append(got, f.Path)
	}
	slices.Sort(got)
	slices.Sort(leftovers)
	if !slices.Equal(got, leftovers) {
		t.Fatalf("removed %v, want %v", got, leftovers)
	}
	after := files(t, s.root)
	for _, f := range leftovers {
		delete(before, f)
	}
	if len(after) != len(before) {
		t.Fatalf("after: %v; want %v", after, before)
	}
	checkLayout(t, s.root, "a/b")
}

// TestLockRoot: one holder at a time; a dry run does not create the
// lock file, and is refused while a holder has it.
func TestLockRoot(t *testing.T) {
	root := t.TempDir()
	l, err := server.LockRoot(root, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, server.LockFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a lock without create made the file: %v", err)
	}
	l.Unlock()
	first, err := server.LockRoot(root, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, create := range []bool{true, false} {
		_, err := server.LockRoot(root, create)
		var le *server.LockedError
		if !errors.As(err, &le) || !strings.Contains(err.Error(), server.LockFile) {
			t.Fatalf("second lock (create %v): %v", create, err)
		}
	}
	first.Unlock()
	again, err := server.LockRoot(root, true)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	again.Unlock()
}
