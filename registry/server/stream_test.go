package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/server"
)

// watchedBody yields n deterministic bytes and, on every Read after the
// first, checks that everything it yielded so far is already in the one
// file of dir, after base bytes that were there before: the server writes
// a body to disk as it arrives and keeps none of it in memory. Only the
// last read of a whole blob (at most 64 KiB) may wait, while the server's
// manifest.Verifier asks for the end of the body to prove the blob.
type watchedBody struct {
	dir        string
	n, sent    int64
	base       int64
	checks     int
	complaints []string
}

func (b *watchedBody) Read(p []byte) (int, error) {
	if b.sent > 0 {
		b.check()
	}
	return b.readRaw(p)
}

func (b *watchedBody) check() {
	entries, err := os.ReadDir(b.dir)
	if err != nil || len(entries) != 1 {
		b.complaints = append(b.complaints, "the upload directory does not hold one file")
		return
	}
	info, err := entries[0].Info()
	pending := int64(0)
	if b.sent == b.n {
		pending = min(b.n, 64<<10)
	}
	if err != nil || info.Size() < b.base+b.sent-pending || info.Size() > b.base+b.sent {
		b.complaints = append(b.complaints, "the upload file has "+strconv.FormatInt(info.Size(), 10)+
			" bytes, not the "+strconv.FormatInt(b.base+b.sent, 10)+" received")
		return
	}
	b.checks++
}

// TestUploadBodyStreamsToDisk: PATCH, PUT ?digest= and POST ?digest=
// bodies reach the upload file byte for byte as they arrive, so a body
// of any size is never held in memory; the blob appears under its final
// name only after its digest verified.
func TestUploadBodyStreamsToDisk(t *testing.T) {
	const size = 8 << 20
	d := streamDigest(size)
	cases := []struct {
		name   string
		method string
		path   func(s *testServer) string
		base   int64
	}{
		{"PATCH", "PATCH", func(s *testServer) string { return s.session("a") }, 0},
		{"PATCH after a chunk", "PATCH", func(s *testServer) string {
			loc := s.session("a")
			return s.do("PATCH", loc, []byte("0123456789"), "Content-Range", "0-9").want(t, 202).Header.Get("Location")
		}, 10},
		{"PUT ?digest=", "PUT", func(s *testServer) string { return s.session("a") + "&digest=" + string(d) }, 0},
		{"POST ?digest=", "POST", func(s *testServer) string { return "/v2/a/blobs/uploads/?digest=" + string(d) }, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := start(t, nil)
			body := &watchedBody{dir: s.uploads, n: size, base: c.base}
			req := httptest.NewRequest(c.method, c.path(s), body)
			req.ContentLength = size
			req.Header.Set("Content-Type", "application/octet-stream")
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if len(body.complaints) > 0 || body.checks < size/(64<<10)-1 {
				t.Fatalf("%d checks passed; %v", body.checks, body.complaints)
			}
			want := http.StatusAccepted
			if c.method != "PATCH" {
				want = http.StatusCreated
			}
			if rec.Code != want {
				t.Fatalf("status %d, want %d: %s", rec.Code, want, rec.Body)
			}
			if c.method != "PATCH" {
				s.do("GET", "/v2/a/blobs/"+string(d), nil).want(t, 200)
				if n := len(files(t, s.uploads)); n != 0 {
					t.Fatalf("%d files left in the upload directory", n)
				}
			}
		})
	}
}

// session opens an upload session in repo and returns its Location.
func (s *testServer) session(repo string) string {
	s.t.Helper()
	return s.do("POST", "/v2/"+repo+"/blobs/uploads/", nil).want(s.t, 202).Header.Get("Location")
}

// streamDigest is the digest of the first n bytes a watchedBody yields.
func streamDigest(n int64) manifest.Digest {
	h := sha256.New()
	b := &watchedBody{n: n}
	buf := make([]byte, 64<<10)
	for {
		k, err := b.readRaw(buf)
		h.Write(buf[:k])
		if errors.Is(err, io.EOF) {
			break
		}
	}
	return manifest.Digest("sha256:" + hex.EncodeToString(h.Sum(nil)))
}

// readRaw yields the bytes without checking anything.
func (b *watchedBody) readRaw(p []byte) (int, error) {
	if b.sent == b.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), b.n-b.sent, 64<<10)]
	for i := range p {
		p[i] = byte((b.sent + int64(i)) * 7 >> 3)
	}
	b.sent += int64(len(p))
	return len(p), nil
}

// A wrong digest at PUT ends the session and leaves nothing: no blob
// under its final name, no file in the upload directory.
func TestUploadWrongDigestLeavesNothing(t *testing.T) {
	s := start(t, nil)
	blob := []byte("the bytes")
	wrong := manifest.FromBytes([]byte("other bytes"))
	loc := s.session("a")
	s.do("PUT", loc+"&digest="+string(wrong), blob).wantError(t, 400, server.CodeDigestInvalid)
	s.do("POST", "/v2/a/blobs/uploads/?digest="+string(wrong), blob).wantError(t, 400, server.CodeDigestInvalid)
	if got := files(t, s.root); len(got) != 0 {
		t.Fatalf("files left: %v", got)
	}
	s.do("GET", loc, nil).wantError(t, 404, server.CodeBlobUploadUnknown)
	s.do("HEAD", "/v2/a/blobs/"+string(wrong), nil).want(t, 404)
	if _, err := os.Stat(filepath.Join(s.root, ".blobs", "sha256", wrong.Hex())); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a blob that did not verify is stored: %v", err)
	}
}

// A sha512 upload is verified by reading the file again, since the
// running hash is sha256.
func TestUploadSHA512(t *testing.T) {
	s := start(t, nil)
	blob := []byte("sha512 content")
	g := manifest.NewDigester(manifest.SHA512)
	g.Write(blob)
	d := g.Digest()
	loc := s.session("a")
	loc = s.do("PATCH", loc, blob[:5]).want(t, 202).Header.Get("Location")
	s.do("PUT", loc+"&digest="+string(d), blob[5:]).want(t, 201)
	if got := s.do("GET", "/v2/a/blobs/"+string(d), nil).want(t, 200).body; string(got) != string(blob) {
		t.Fatalf("got %q", got)
	}
}

// Blob GETs stream from disk with Range, as distribution answers them.
func TestBlobRange(t *testing.T) {
	s := start(t, nil)
	d := s.pushBlob("a", []byte("0123456789"))
	r := s.do("GET", "/v2/a/blobs/"+string(d), nil, "Range", "bytes=3-5").want(t, 206)
	if string(r.body) != "345" || r.Header.Get("Content-Range") != "bytes 3-5/10" {
		t.Fatalf("range answer %q %q", r.body, r.Header.Get("Content-Range"))
	}
	s.do("GET", "/v2/a/blobs/"+string(d), nil, "Range", "bytes=20-").want(t, 416)
}
