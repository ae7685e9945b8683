//go:build linux

package server_test

import (
	"bytes"
	"errors"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/server"
)

// tmpfs mounts an 8 MiB tmpfs for the test, unmounted when it ends.
func tmpfs(t *testing.T) string {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root (CI runs as root)")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=8m"); err != nil {
		t.Skipf("cannot mount a tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		// Detached: the server's root stays open until the collector
		// closes it.
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// free is how many bytes the file system of dir has free.
func free(t *testing.T, dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// fill writes a file of n bytes (n < 0: until the disk is full) at path.
func fill(t *testing.T, path string, n int64) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for written := int64(0); n < 0 || written < n; written += int64(len(buf)) {
		if _, err := f.Write(buf); err != nil {
			if n < 0 && errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
}

// TestFullDiskTmpfs: a root on a real 8 MiB tmpfs. A push that fills it
// gets 507 with "no space left on the registry's disk" and one line on
// the server's log; the session's file is gone at once, with the room it
// took, and so is the session. On a disk full to the last byte a single
// POST and a manifest PUT get the same answer and leave nothing. Once a
// file is deleted, the same pushes succeed at once, without waiting for
// the idle timeout, and every layout is whole.
func TestFullDiskTmpfs(t *testing.T) {
	root := tmpfs(t)
	var errs lines
	s := startAt(t, root, func(o *server.Options) { o.ErrorLog = log.New(&errs, "", 0) })
	keep := newImage("keep", 1000, nil)
	s.push("app", "keep", keep)
	fill(t, filepath.Join(root, "filler"), free(t, root)-3<<20)

	big := bytes.Repeat([]byte("0123456789abcdef"), 4<<20/16) // 4 MiB, with 3 free
	before := free(t, root)
	loc, status := s.patchAll("app", big)
	if status.StatusCode != 507 {
		t.Fatalf("the push that fills the disk: %d %s", status.StatusCode, status.body)
	}
	status.wantNoSpace(t)
	if got := files(t, s.uploads); len(got) != 0 {
		t.Errorf("upload files left: %v", got)
	}
	if after := free(t, root); after < before-64<<10 {
		t.Errorf("%d bytes free after the failed push, %d before: its bytes were not freed", after, before)
	}
	s.do("GET", loc, nil).wantError(t, 404, server.CodeBlobUploadUnknown)

	late := newImage("late", 2000, nil)
	s.pushBlob("app", late.config)
	s.pushBlob("app", late.layer)
	index := filepath.Join(root, "app", "index.json")
	indexBefore, _ := os.ReadFile(index)
	fill(t, filepath.Join(root, "filler2"), -1)
	small := bytes.Repeat([]byte("x"), 64<<10)
	s.do("POST", "/v2/app/blobs/uploads/?digest="+string(manifest.FromBytes(small)), small).wantNoSpace(t)
	s.putManifest("app", "late", late.raw).wantNoSpace(t)
	if got := errs.with(noSpace); len(got) != 3 {
		t.Errorf("log lines %q, want one for each 507", got)
	}
	if got := files(t, s.uploads); len(got) != 0 {
		t.Errorf("upload files left: %v", got)
	}
	if b, _ := os.ReadFile(index); !bytes.Equal(b, indexBefore) {
		t.Errorf("index.json changed on a full disk: %s", b)
	}

	os.Remove(filepath.Join(root, "filler2"))
	s.putManifest("app", "late", late.raw).want(t, 201)
	os.Remove(filepath.Join(root, "filler"))
	_, status = s.patchAll("app", big)
	status.want(t, 201)
	bigImage := newImage("big", 0, nil)
	bigImage.layer = big
	bigImage = rebuild(bigImage)
	s.pushBlob("app", bigImage.config)
	s.putManifest("app", "big", bigImage.raw).want(t, 201)
	checkLayout(t, root, "app")
	if r := s.do("GET", "/v2/app/tags/list", nil).want(t, 200); string(r.body) != `{"name":"app","tags":["big","keep","late"]}` {
		t.Errorf("tags %s", r.body)
	}
}

// patchAll pushes b to repo through one session in PATCH chunks of 128
// KiB (which the server reads whole even when it refuses one), then PUT.
// It returns the session's first Location and the reply that ended it.
func (s *testServer) patchAll(repo string, b []byte) (string, reply) {
	s.t.Helper()
	first := s.session(repo)
	loc := first
	const chunk = 128 << 10
	for off := 0; off < len(b); off += chunk {
		end := min(off+chunk, len(b))
		r := s.do("PATCH", loc, b[off:end], "Content-Range", strconv.Itoa(off)+"-"+strconv.Itoa(end-1))
		if r.StatusCode != 202 {
			return first, r
		}
		loc = r.Header.Get("Location")
	}
	return first, s.do("PUT", loc+"&digest="+string(manifest.FromBytes(b)), nil)
}
