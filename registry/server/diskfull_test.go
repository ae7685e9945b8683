//go:build unix

package server_test

import (
	"fmt"
	"io"
	"log"
	"strings"
	"syscall"
	"testing"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/server"
)

// lines is a concurrency-safe log of the server's error lines.
type lines struct{ testtool.SyncBuffer }

// with returns the lines that contain s.
func (l *lines) with(s string) []string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

const noSpace = "no space left on the registry's disk"

// wantNoSpace fails the test unless r is the full disk's answer.
func (r reply) wantNoSpace(t *testing.T) {
	t.Helper()
	r.wantError(t, 507, server.CodeUnknown)
	if m := r.message(); m != noSpace {
		t.Fatalf("%s %s: message %q, want %q", r.Request.Method, r.Request.URL.Path, m, noSpace)
	}
}

// fullStorage is a layout storage whose disk is full for manifests and
// for links: an injected write error, as the operating system gives it.
type fullStorage struct {
	server.Storage
	full bool
}

func (f *fullStorage) PutBlob(d manifest.Digest, r io.Reader) (int64, error) {
	if f.full {
		return 0, fmt.Errorf("write .blobs/sha256/.tmp-1: %w", syscall.ENOSPC)
	}
	return f.Storage.PutBlob(d, r)
}

func (f *fullStorage) Link(repo string, l server.Link) error {
	if f.full {
		return fmt.Errorf("link %s: %w", repo, syscall.EDQUOT)
	}
	return f.Storage.Link(repo, l)
}

// TestFullDiskAnswer: a write that fails for lack of space (ENOSPC, or
// EDQUOT for a quota) answers 507 with "no space left on the registry's
// disk" and logs one line on the server's log, for a manifest and for a
// blob, leaving no upload file; once there is room, the same pushes
// succeed.
func TestFullDiskAnswer(t *testing.T) {
	var log1 lines
	var store *fullStorage
	s := start(t, func(o *server.Options) {
		store = &fullStorage{Storage: o.Storage, full: true}
		o.Storage, o.ErrorLog = store, log.New(&log1, "", 0)
	})
	im := newImage("full", 100, nil)
	s.do("POST", "/v2/r/blobs/uploads/?digest="+string(manifest.FromBytes(im.config)), im.config).wantNoSpace(t)
	loc := s.session("r")
	s.do("PUT", loc+"&digest="+string(im.layerDigest()), im.layer).wantNoSpace(t)
	empty := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`)
	s.do("PUT", "/v2/r/manifests/empty", empty, "Content-Type", manifest.MediaTypeOCIIndex).wantNoSpace(t)
	if got := log1.with(noSpace); len(got) != 3 {
		t.Fatalf("log lines %q, want one for each 507", got)
	}
	if got := files(t, s.uploads); len(got) != 0 {
		t.Errorf("upload files left: %v", got)
	}
	store.full = false
	s.push("r", "v1", im)
	s.do("PUT", "/v2/r/manifests/empty", empty, "Content-Type", manifest.MediaTypeOCIIndex).want(t, 201)
	checkLayout(t, s.root, "r")
}
