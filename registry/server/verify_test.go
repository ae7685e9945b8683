package server_test

import (
	"bytes"
	"context"
	"errors"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/server"
)

// TestUploadCommitNeedsWholeBlob: a blob sent partly (its bytes from 6
// on), continued from the wrong offset, or one byte short or long is never
// committed: 400, nothing under the blob's final names, no upload file
// left.
func TestUploadCommitNeedsWholeBlob(t *testing.T) {
	data := []byte("the twenty-eight bytes here.")
	d := manifest.FromBytes(data)
	long := append(bytes.Clone(data), 'x')
	cases := []struct {
		name string
		send func(s *testServer) reply
	}{
		{"POST, partly read", func(s *testServer) reply { return s.do("POST", "/v2/a/blobs/uploads/?digest="+string(d), data[6:]) }},
		{"PUT, partly read", func(s *testServer) reply { return s.do("PUT", s.session("a")+"&digest="+string(d), data[6:]) }},
		{"resumed from the wrong offset", func(s *testServer) reply {
			loc := s.do("PATCH", s.session("a"), data[:6], "Content-Range", "0-5").want(t, 202).Header.Get("Location")
			s.do("PATCH", loc, data[10:], "Content-Range", "10-27").want(t, 416)
			loc = s.do("PATCH", loc, append(bytes.Clone(data[10:]), "1234"...), "Content-Range", "6-27").want(t, 202).Header.Get("Location")
			return s.do("PUT", loc+"&digest="+string(d), nil)
		}},
		{"POST, one byte short", func(s *testServer) reply { return s.do("POST", "/v2/a/blobs/uploads/?digest="+string(d), data[:27]) }},
		{"POST, one byte long", func(s *testServer) reply { return s.do("POST", "/v2/a/blobs/uploads/?digest="+string(d), long) }},
		{"PUT, one byte short", func(s *testServer) reply { return s.do("PUT", s.session("a")+"&digest="+string(d), data[:27]) }},
		{"PUT, one byte long", func(s *testServer) reply { return s.do("PUT", s.session("a")+"&digest="+string(d), long) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := start(t, nil)
			c.send(s).wantError(t, 400, server.CodeDigestInvalid)
			s.do("HEAD", "/v2/a/blobs/"+string(d), nil).want(t, 404)
			for _, p := range []string{".blobs/sha256/" + d.Hex(), "a/blobs/sha256/" + d.Hex()} {
				if _, err := os.Lstat(filepath.Join(s.root, p)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s exists: %v", p, err)
				}
			}
			if left := files(t, s.uploads); len(left) != 0 {
				t.Errorf("upload files left: %v", left)
			}
			s.pushBlob("a", data) // the whole blob still goes in
		})
	}
}

// TestAdoptHashesLayoutBlobs: a layout found under the root whose layer
// file does not hash to its name is served without that layer, which is
// reported once in the server's log; its other blobs are served.
func TestAdoptHashesLayoutBlobs(t *testing.T) {
	var logged testtool.SyncBuffer
	s := start(t, func(o *server.Options) { o.ErrorLog = log.New(&logged, "", 0) })
	im := newImage("adopt", 4096, nil)
	l, err := layout.Create(filepath.Join(s.root, "o", "app"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cfg := manifest.DescriptorFor(manifest.MediaTypeOCIConfig, im.config)
	lay := manifest.DescriptorFor(manifest.MediaTypeOCILayer, im.layer)
	for _, b := range []struct {
		d   manifest.Descriptor
		raw []byte
	}{{cfg, im.config}, {lay, im.layer}, {im.desc, im.raw}} {
		if err := l.Push(ctx, b.d, bytes.NewReader(b.raw)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Tag(ctx, im.desc, "1"); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(l.Dir(), "blobs", "sha256", lay.Digest.Hex())
	os.Chmod(bad, 0o644)
	if err := os.WriteFile(bad, bytes.Repeat([]byte("X"), len(im.layer)), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s.do("GET", "/v2/o/app/manifests/1", nil, "Accept", manifest.MediaTypeOCIManifest).want(t, 200)
		s.do("GET", "/v2/o/app/blobs/"+string(cfg.Digest), nil).want(t, 200)
		s.do("GET", "/v2/o/app/blobs/"+string(lay.Digest), nil).want(t, 404)
	}
	if _, err := os.Lstat(filepath.Join(s.root, ".blobs", "sha256", lay.Digest.Hex())); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the damaged layer was adopted: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(logged.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], bad) || !strings.Contains(lines[0], "digest mismatch") {
		t.Fatalf("log: %q", logged.String())
	}
}
