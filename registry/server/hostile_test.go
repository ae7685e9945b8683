//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package server_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/server"
)

// outside is a directory beside a served root, with a victim file whose
// bytes must never change, and the lines safefile reports.
type outside struct {
	dir, victim string
	reports     *[]string
}

func newOutside(t *testing.T) outside {
	o := outside{dir: t.TempDir(), reports: new([]string)}
	o.victim = filepath.Join(o.dir, "victim")
	if err := os.WriteFile(o.victim, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(safefile.SetReporter(func(l string) { *o.reports = append(*o.reports, l) }))
	return o
}

// check fails the test if the victim changed or anything else appeared
// or changed beside it.
func (o outside) check(t *testing.T, before map[string]int64) {
	t.Helper()
	if b, err := os.ReadFile(o.victim); err != nil || string(b) != "precious" {
		t.Errorf("victim changed: %q, %v", b, err)
	}
	if after := files(t, o.dir); !equalFiles(after, before) {
		t.Errorf("outside the root:\n%v\nwas\n%v", after, before)
	}
}

// plant puts a trap at path: what a hostile local user could leave there.
var plants = []struct {
	name  string
	plant func(path, victim string) error
}{
	{"symlink to a victim", func(p, v string) error { return os.Symlink(v, p) }},
	{"dangling symlink", func(p, v string) error { return os.Symlink(filepath.Join(filepath.Dir(v), "created"), p) }},
	{"hard link to a victim", func(p, v string) error { return os.Link(v, p) }},
	{"FIFO", func(p, v string) error { return syscall.Mkfifo(p, 0o666) }},
	{"directory", func(p, v string) error { return os.Mkdir(p, 0o755) }},
	{"file of another user", func(p, v string) error {
		if os.Geteuid() != 0 {
			return errors.ErrUnsupported
		}
		if err := os.WriteFile(p, []byte("theirs"), 0o644); err != nil {
			return err
		}
		return os.Chown(p, 12345, 12345)
	}},
}

// TestLockRootPlantedLink: whatever another user planted at ROOT/.lock
// (the lock is a name skiff invents) is removed without being followed,
// with one line saying what it was; the lock is taken on a new file of
// the server's own holding its PID, the victim is byte for byte the same,
// and nothing is created outside the root. A second holder is refused.
func TestLockRootPlantedLink(t *testing.T) {
	for _, p := range plants {
		t.Run(p.name, func(t *testing.T) {
			o := newOutside(t)
			root := t.TempDir()
			lock := filepath.Join(root, server.LockFile)
			if err := p.plant(lock, o.victim); errors.Is(err, errors.ErrUnsupported) {
				t.Skip("chown to another user needs root (CI runs as root)")
			} else if err != nil {
				t.Fatal(err)
			}
			before := files(t, o.dir)
			l, err := server.LockRoot(root, true)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Unlock()
			o.check(t, before)
			if b, err := os.ReadFile(lock); err != nil || string(b) != strconv.Itoa(os.Getpid())+"\n" {
				t.Errorf("lock file %q, %v", b, err)
			}
			if fi, err := os.Lstat(lock); err != nil || !fi.Mode().IsRegular() || fi.Sys().(*syscall.Stat_t).Nlink != 1 {
				t.Errorf("lock file %v, %v", fi, err)
			}
			if len(*o.reports) != 1 || !strings.Contains((*o.reports)[0], lock) {
				t.Errorf("reports %q, want one naming %s", *o.reports, lock)
			}
			var le *server.LockedError
			if _, err := server.LockRoot(root, true); !errors.As(err, &le) {
				t.Errorf("a second lock: %v", err)
			}
		})
	}
}

// A dry run (create false) changes nothing, a planted link included, and
// takes it for what it is: no server holds the root.
func TestLockRootDryRunLeavesLink(t *testing.T) {
	o := newOutside(t)
	root := t.TempDir()
	lock := filepath.Join(root, server.LockFile)
	os.Symlink(o.victim, lock)
	l, err := server.LockRoot(root, false)
	if err != nil {
		t.Fatal(err)
	}
	l.Unlock()
	if target, err := os.Readlink(lock); err != nil || target != o.victim {
		t.Errorf("the dry run changed the link: %q, %v", target, err)
	}
}

// A lock file another user's server holds is respected, not replaced as
// a foreign file would be.
func TestLockRootRespectsAnotherUsersHolder(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root (CI runs as root)")
	}
	root := t.TempDir()
	lock := filepath.Join(root, server.LockFile)
	os.WriteFile(lock, []byte("1\n"), 0o644)
	os.Chown(lock, 12345, 12345)
	f, err := os.Open(lock)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	var le *server.LockedError
	if _, err := server.LockRoot(root, true); !errors.As(err, &le) {
		t.Fatalf("LockRoot: %v, want a LockedError", err)
	}
	if fi, err := os.Stat(lock); err != nil || fi.Sys().(*syscall.Stat_t).Uid != 12345 {
		t.Errorf("the held lock file was replaced: %v", err)
	}
}

// TestReliability51_LinkAtRepositoryDirectory: a repository directory
// that is a link, to a layout outside the root or to one inside, is not
// served, and a push to it is refused with 400 NAME_INVALID naming the
// link; a layout whose blobs directory or index.json is a link is never
// read or written through it. Nothing outside changes.
func TestReliability51_LinkAtRepositoryDirectory(t *testing.T) {
	o := newOutside(t)
	s := start(t, nil)
	im := newImage("inside", 100, nil)
	s.push("real", "v1", im)
	s.push("team/real", "v1", im)
	s.push("r", "v1", im)
	l, err := layout.Create(filepath.Join(o.dir, "layout"))
	if err != nil {
		t.Fatal(err)
	}
	l.Push(t.Context(), manifest.DescriptorFor(manifest.MediaTypeOCIConfig, im.config), strings.NewReader(string(im.config)))
	os.Symlink(filepath.Join(o.dir, "layout"), filepath.Join(s.root, "evil"))
	os.Symlink(filepath.Join(s.root, "real"), filepath.Join(s.root, "alias"))
	os.Symlink(filepath.Join(o.dir, "layout"), filepath.Join(s.root, "team", "app"))
	before := files(t, o.dir)
	for _, name := range []string{"evil", "alias", "team/app"} {
		s.do("GET", "/v2/"+name+"/tags/list", nil).wantError(t, 404, server.CodeNameUnknown)
		s.do("GET", "/v2/"+name+"/blobs/"+string(manifest.FromBytes(im.config)), nil).want(t, 404)
		r := s.do("POST", "/v2/"+name+"/blobs/uploads/", nil).wantError(t, 400, server.CodeNameInvalid)
		if m := r.message(); !strings.Contains(m, "symbolic link") {
			t.Errorf("%s: message %q does not say what is wrong", name, m)
		}
		s.putManifest(name, "v2", im.raw).wantError(t, 400, server.CodeNameInvalid)
	}
	// A layout whose index.json is a link: never read or replaced through
	// it. The server's journal of the repository makes index.json again,
	// in place of the link; without a journal nothing can be served.
	os.WriteFile(o.victim, []byte("precious"), 0o600)
	index := filepath.Join(s.root, "r", layout.IndexFile)
	os.Remove(index)
	os.Symlink(o.victim, index)
	if r := startAt(t, s.root, nil).do("GET", "/v2/r/tags/list", nil).want(t, 200); !strings.Contains(string(r.body), `"v1"`) {
		t.Errorf("recovered from the journal: %s", r.body)
	}
	if fi, err := os.Lstat(index); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("index.json is not a file again: %v", err)
	}
	os.Remove(index)
	os.Symlink(o.victim, index)
	os.RemoveAll(filepath.Join(s.root, ".meta", "r"))
	startAt(t, s.root, nil).do("GET", "/v2/r/tags/list", nil).want(t, 500)
	// A layout whose blobs directory is a link: nothing is linked through it.
	os.RemoveAll(filepath.Join(s.root, "real", "blobs"))
	os.Symlink(o.dir, filepath.Join(s.root, "real", "blobs"))
	s2 := startAt(t, s.root, nil)
	d := s2.pushBlobStatus("real", []byte("more"))
	if d == 201 {
		t.Error("a blob was linked into a layout through its linked blobs directory")
	}
	o.check(t, before)
}

// pushBlobStatus pushes b with a single POST and returns the status.
func (s *testServer) pushBlobStatus(repo string, b []byte) int {
	return s.do("POST", "/v2/"+repo+"/blobs/uploads/?digest="+string(manifest.FromBytes(b)), b).StatusCode
}

// TestReliability51_LinkInBlobStore: a link planted at .blobs/sha256/HEX,
// to a file outside, is no blob: it is never served, and the next push of
// that blob replaces it (reporting it) with the verified bytes; a
// dangling one makes nothing outside. The victim never changes.
func TestReliability51_LinkInBlobStore(t *testing.T) {
	o := newOutside(t)
	s := start(t, nil)
	im := newImage("blob", 100, nil)
	s.push("r", "v1", im)
	layer := im.layerDigest()
	stored := filepath.Join(s.root, ".blobs", "sha256", layer.Hex())
	os.Remove(stored)
	os.Symlink(o.victim, stored)
	fresh := []byte("a blob pushed after the link was planted")
	os.Symlink(filepath.Join(o.dir, "created"), filepath.Join(s.root, ".blobs", "sha256", manifest.FromBytes(fresh).Hex()))
	before := files(t, o.dir)
	if r := s.do("GET", "/v2/r/blobs/"+string(layer), nil); r.StatusCode != 404 || strings.Contains(string(r.body), "precious") {
		t.Fatalf("a linked blob: %d %q", r.StatusCode, r.body)
	}
	s.do("HEAD", "/v2/r/blobs/"+string(layer), nil).want(t, 404)
	s.pushBlob("r", im.layer)
	s.pushBlob("r", fresh)
	for d, want := range map[manifest.Digest][]byte{layer: im.layer, manifest.FromBytes(fresh): fresh} {
		if r := s.do("GET", "/v2/r/blobs/"+string(d), nil).want(t, 200); string(r.body) != string(want) {
			t.Errorf("%s served as %q", d, r.body)
		}
		if fi, err := os.Lstat(filepath.Join(s.root, ".blobs", "sha256", d.Hex())); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s in the store: %v %v", d, fi, err)
		}
	}
	if len(*o.reports) != 2 {
		t.Errorf("reports %q, want one for each link replaced", *o.reports)
	}
	o.check(t, before)
	checkLayout(t, s.root, "r")
}

// TestReliability51_LinkAtUploadFile: an upload session's file replaced
// by a link to a file outside, or by a hard link to it, is never written
// or read through: the request fails, and the victim is the same. A link
// planted at .uploads itself is replaced by the server's own directory.
func TestReliability51_LinkAtUploadFile(t *testing.T) {
	for _, kind := range []string{"symlink", "hard link"} {
		t.Run(kind, func(t *testing.T) {
			o := newOutside(t)
			s := start(t, nil)
			loc := s.session("r")
			id := loc[strings.LastIndex(loc, "/")+1 : strings.Index(loc, "?")]
			file := filepath.Join(s.uploads, id)
			os.Remove(file)
			link := os.Symlink
			if kind == "hard link" {
				link = os.Link
			}
			if err := link(o.victim, file); err != nil {
				t.Fatal(err)
			}
			before := files(t, o.dir)
			s.do("PATCH", loc, []byte("attacker-chosen bytes")).want(t, 500)
			s.do("PUT", loc+"&digest="+string(manifest.FromBytes([]byte("precious"))), nil)
			o.check(t, before)
			if _, err := os.Lstat(filepath.Join(s.root, ".blobs", "sha256", manifest.FromBytes([]byte("precious")).Hex())); err == nil {
				t.Error("the victim's bytes were stored as a blob")
			}
		})
	}
	o := newOutside(t)
	root := t.TempDir()
	os.Symlink(o.dir, filepath.Join(root, server.UploadsDir))
	before := files(t, o.dir)
	s := startAt(t, root, nil)
	s.session("r")
	s.pushBlob("r", []byte("through a fresh .uploads"))
	if fi, err := os.Lstat(s.uploads); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf(".uploads: %v %v", fi, err)
	}
	if got := files(t, s.uploads); len(got) != 1 {
		t.Errorf("upload files %v, want the open session's", got)
	}
	if len(*o.reports) != 1 || !strings.Contains((*o.reports)[0], server.UploadsDir) {
		t.Errorf("reports %q", *o.reports)
	}
	o.check(t, before)
}

// TestReliability51_HostileNames: upload ids, repository names and
// digests built to climb out of the root (.., encoded slashes and dots,
// the server's own file names) reach no file: every request is refused
// with a 4xx, and neither the root nor anything beside it changes.
func TestReliability51_HostileNames(t *testing.T) {
	o := newOutside(t)
	s := start(t, nil)
	im := newImage("names", 100, nil)
	s.push("r", "v1", im)
	loc := s.session("r")
	state := loc[strings.Index(loc, "?"):]
	os.WriteFile(filepath.Join(s.root, "victim"), []byte("inside"), 0o600)
	beforeRoot, beforeOut := files(t, s.root), files(t, o.dir)
	ids := []string{"..", "../..", "..%2F..%2Fvictim", "%2e%2e", "%2e%2e%2f%2e%2e%2fvictim", "..%5C..%5Cvictim",
		".lock", "..%2F.lock", "%2F" + strings.TrimPrefix(o.victim, "/"), "..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2f" + strings.TrimPrefix(o.victim, "/")}
	for _, id := range ids {
		u := "/v2/r/blobs/uploads/" + id + state
		for _, m := range []string{"GET", "PATCH", "PUT", "DELETE"} {
			if r := s.do(m, u+"&digest="+string(manifest.FromBytes([]byte("x"))), []byte("x")); r.StatusCode < 400 || r.StatusCode >= 500 {
				t.Errorf("%s %s: %d", m, id, r.StatusCode)
			}
		}
	}
	names := []string{"..", "r/..", "..%2F..", "%2e%2e/r", "r%2F..%2F..%2Fvictim", ".blobs", ".uploads/x", "r/.%2e/r"}
	for _, n := range names {
		for _, u := range []string{"/v2/" + n + "/tags/list", "/v2/" + n + "/blobs/uploads/", "/v2/" + n + "/manifests/v1"} {
			m := "GET"
			if strings.HasSuffix(u, "uploads/") {
				m = "POST"
			}
			if r := s.do(m, u, nil); r.StatusCode < 400 || r.StatusCode >= 500 {
				t.Errorf("%s %s: %d", m, u, r.StatusCode)
			}
		}
	}
	for _, d := range []string{"sha256:..%2F..%2Fvictim", "sha256:%2e%2e", "sha256:../../../victim", "sha256/../../victim"} {
		if r := s.do("GET", "/v2/r/blobs/"+d, nil); r.StatusCode != 400 && r.StatusCode != 404 {
			t.Errorf("GET blob %s: %d", d, r.StatusCode)
		}
		s.do("PUT", loc+"&digest="+d, []byte("x")).wantError(t, 400, server.CodeDigestInvalid)
	}
	if after := files(t, s.root); !equalFiles(after, beforeRoot) {
		t.Errorf("the root changed:\n%v\nwas\n%v", after, beforeRoot)
	}
	o.check(t, beforeOut)
}

// TestReliability51_HostileMountSources: a mount whose from= climbs out
// of the root, names the server's own directories, or a layout's files,
// mounts nothing: the server opens an upload session instead, as the spec
// says, and nothing is linked or read outside.
func TestReliability51_HostileMountSources(t *testing.T) {
	o := newOutside(t)
	s := start(t, nil)
	im := newImage("mount", 100, nil)
	s.push("src", "v1", im)
	d := string(im.layerDigest())
	before := files(t, o.dir)
	froms := []string{"..", "../src", "src/..", "src%2F..%2F..", "%2e%2e%2fsrc", ".blobs", ".uploads", "src/blobs/sha256",
		"src/index.json", strings.TrimPrefix(o.dir, "/"), "../../../../../../../../" + strings.TrimPrefix(o.dir, "/")}
	for _, from := range froms {
		s.do("POST", "/v2/dst/blobs/uploads/?mount="+d+"&from="+from, nil).want(t, 202)
		s.do("GET", "/v2/dst/blobs/"+d, nil).want(t, 404)
	}
	s.do("POST", "/v2/dst/blobs/uploads/?mount="+d+"&from=src", nil).want(t, 201)
	o.check(t, before)
}
