package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

func TestRegistryHelpGolden(t *testing.T) {
	for _, sub := range []string{"serve", "gc"} {
		inspectGolden(t, "help-registry-"+sub+".golden", mustRun(t, "registry", sub, "--help"))
	}
}

func TestParseSize(t *testing.T) {
	good := map[string]int64{"0": 0, "1048576": 1 << 20, "512KiB": 512 << 10, "1.5GiB": 3 << 29, "16GiB": 16 << 30, "2TiB": 2 << 40, "10B": 10}
	for in, want := range good {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1GB", "GiB", "1e30", "1 2"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
	code, _, stderr := runSkiff(t, t.Context(), "", "registry", "serve", "--max-blob-size", "2GB")
	if code != exitUsage || !strings.Contains(stderr, "--max-blob-size") {
		t.Fatalf("a bad size: exit %d, %q", code, stderr)
	}
}

// Files an interrupted server left in its root are removed when serve
// starts, and it says so.
func TestRegistryServeRemovesLeftovers(t *testing.T) {
	root := t.TempDir()
	left := []string{".uploads/5d1c3a52-7f0e-4a3b-9a57-3c1a0a1f0e0c", ".blobs/sha256/.tmp-42"}
	for _, f := range left {
		p := filepath.Join(root, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("partial"), 0o644)
	}
	startServe(t, "--root", root)
	for _, f := range left {
		if _, err := os.Stat(filepath.Join(root, f)); err == nil {
			t.Errorf("%s is still there", f)
		}
	}
}

// TestRegistryGC: gc refuses a root a server holds, naming the lock;
// with the server stopped a dry run lists what would go and changes not
// a byte; then gc removes exactly that, and what is left is valid.
func TestRegistryGC(t *testing.T) {
	root := t.TempDir()
	host, stop := startServeStop(t, "--root", root)
	keep := pushTestImage(t, host+"/team/app:keep", 11)
	gone := pushTestImage(t, host+"/team/app:gone", 12)
	ref, _ := reference.Parse(host + "/team/app:gone")
	if err := (&registry.Client{}).Repository(ref).Delete(t.Context(), string(gone)); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runSkiff(t, t.Context(), "", "registry", "gc", "--root", root)
	if code != exitError || !strings.Contains(stderr, filepath.Join(root, ".lock")) {
		t.Fatalf("gc while serving: exit %d, %q", code, stderr)
	}
	stop()

	before := treeSnapshot(t, root)
	dry := mustRun(t, "registry", "gc", "--root", root, "--dry-run")
	if after := treeSnapshot(t, root); after != before {
		t.Fatalf("the dry run changed the root:\n%s\nwas\n%s", after, before)
	}
	if !strings.Contains(dry, "team/app/blobs/sha256/") || !strings.Contains(dry, ".blobs/sha256/") {
		t.Fatalf("dry run lists no blob of the deleted image:\n%s", dry)
	}
	if got := mustRun(t, "registry", "gc", "--root", root); got != dry {
		t.Fatalf("gc removed\n%s\nthe dry run said\n%s", got, dry)
	}
	for _, line := range strings.Split(strings.TrimSpace(dry), "\n") {
		p, _, _ := strings.Cut(line, " ")
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			t.Errorf("%s is still there", p)
		}
	}
	l, err := layout.Open(filepath.Join(root, "team", "app"))
	if err != nil {
		t.Fatal(err)
	}
	if d, err := l.Resolve(t.Context(), "keep"); err != nil || d.Digest != keep {
		t.Fatalf("the kept image: %v %v", d.Digest, err)
	}
	mustRun(t, "copy", "--quiet", "oci:"+l.Dir()+":keep", "oci:"+filepath.Join(t.TempDir(), "out")+":keep")
	if again := mustRun(t, "registry", "gc", "--root", root); again != "" {
		t.Fatalf("a second gc removed more:\n%s", again)
	}
}

// pushTestImage pushes a two-layer image to ref and returns its digest.
func pushTestImage(t *testing.T, ref string, seed uint64) manifest.Digest {
	t.Helper()
	r, _ := reference.Parse(ref)
	im, err := testimage.New(testimage.Options{LayerSizes: []int{30 << 10, 10 << 10}, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	if err := testimage.Push(t.Context(), (&registry.Client{}).Repository(r), im, r.Tag); err != nil {
		t.Fatal(err)
	}
	return im.Manifest.Digest
}

// treeSnapshot describes every file and directory under root: path, mode,
// size and content hash.
func treeSnapshot(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		sum := ""
		if info.Mode().IsRegular() {
			raw, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256(raw)
			sum = hex.EncodeToString(h[:])
		}
		b.WriteString(rel + " " + info.Mode().String() + " " + sum + " " + info.ModTime().String() + "\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
