package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/distribution"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/tarball"
)

// multiArch pushes a two-platform image to host/name:tag and returns the
// images and the index.
func multiArch(t *testing.T, host, name string) ([]*testimage.Image, *manifest.Document) {
	t.Helper()
	ref, err := reference.Parse(host + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	repo := (&registry.Client{}).Repository(ref)
	var ims []*testimage.Image
	for i, p := range []string{"linux/amd64", "linux/arm64"} {
		plat, _ := manifest.ParsePlatform(p)
		im, err := testimage.New(testimage.Options{LayerSizes: []int{1 << 20, 200 << 10, 10}, Seed: uint64(i + 10), Platform: plat})
		if err != nil {
			t.Fatal(err)
		}
		if err := testimage.Push(t.Context(), repo, im, ""); err != nil {
			t.Fatal(err)
		}
		ims = append(ims, im)
	}
	idx, err := testimage.Index(false, ims...)
	if err != nil {
		t.Fatal(err)
	}
	if err := testimage.PushDocument(t.Context(), repo, idx, ref.Tag); err != nil {
		t.Fatal(err)
	}
	return ims, idx
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := runSkiff(t, t.Context(), "", args...)
	if code != exitOK {
		t.Fatalf("skiff %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

func TestPullPushCopyAgainstDistribution(t *testing.T) {
	for _, v := range distribution.Versions {
		t.Run(v, func(t *testing.T) { pullPushCopy(t, distribution.Start(t, &distribution.Options{Version: v})) })
	}
}

func pullPushCopy(t *testing.T, reg *distribution.Registry) {
	ims, idx := multiArch(t, reg.Host, "e2e/app:1.0")
	dir := t.TempDir()
	src := reg.Host + "/e2e/app:1.0"

	// pull: the arm64 image into a docker tarball that skiff and skopeo read.
	file := filepath.Join(dir, "app.tar")
	mustRun(t, "pull", "--platform", "linux/arm64", src, file)
	r, err := tarball.OpenFile(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := r.Images()
	r.Close()
	if len(got) != 1 || got[0].Descriptor.Digest != ims[1].Manifest.Digest {
		t.Fatalf("tarball holds %+v, want the arm64 manifest %s", got, ims[1].Manifest.Digest)
	}
	skopeoInspect(t, "docker-archive:"+file, "arm64")

	// pull to stdout gives the same bytes.
	fromFile, _ := os.ReadFile(file)
	if stdout := mustRun(t, "pull", "--quiet", "--platform", "linux/arm64", src, "-"); stdout != string(fromFile) {
		t.Fatalf("pull to stdout: %d bytes differ from the file's %d", len(stdout), len(fromFile))
	}

	// push the tarball back: the manifest digest survives.
	out := mustRun(t, "push", file, reg.Host+"/e2e/pushed:arm")
	if strings.TrimSpace(out) != string(ims[1].Manifest.Digest) {
		t.Fatalf("push printed %q, want %s", out, ims[1].Manifest.Digest)
	}

	// copy the whole index across repositories (mounted), then to a layout.
	if out := mustRun(t, "copy", src, reg.Host+"/e2e/copy:1.0"); strings.TrimSpace(out) != string(idx.Digest) {
		t.Fatalf("copy printed %q, want the index %s", out, idx.Digest)
	}
	lay := filepath.Join(dir, "layout")
	mustRun(t, "copy", src, "oci:"+lay+":1.0")
	l, err := layout.Open(lay)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := l.Resolve(t.Context(), "1.0"); err != nil || d.Digest != idx.Digest {
		t.Fatalf("layout has %v, %v", d, err)
	}
	skopeoInspect(t, "oci:"+lay+":1.0", "amd64")

	// and from the layout to the registry again.
	if out := mustRun(t, "copy", "oci:"+lay+":1.0", reg.Host+"/e2e/fromlayout:x"); strings.TrimSpace(out) != string(idx.Digest) {
		t.Fatalf("copy from layout printed %q", out)
	}
}

func skopeoInspect(t *testing.T, ref, arch string) {
	t.Helper()
	skopeo := distribution.RequireTool(t, "skopeo")
	out, err := exec.Command(skopeo, "inspect", "--override-arch", arch, ref).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte(`"Architecture": "`+arch+`"`)) {
		t.Fatalf("skopeo inspect %s: %v\n%s", ref, err, out)
	}
}

func TestPullFailureLeavesNoFile(t *testing.T) {
	reg := distribution.Start(t, nil)
	existing := usersFile(t, "keep.tar")
	code, _, stderr := runSkiff(t, t.Context(), "", "pull", reg.Host+"/e2e/none:missing", existing)
	if code != exitError || !strings.Contains(stderr, "404") {
		t.Fatalf("exit %d, %q", code, stderr)
	}
	assertUsersFileAlone(t, existing)
}

// usersFile makes a file of the user's, alone in a new directory, for a
// command to fail to overwrite.
func usersFile(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte("user's file"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// assertUsersFileAlone checks that a failed command left the file
// usersFile made as it was, and nothing beside it.
func assertUsersFileAlone(t *testing.T, path string) {
	t.Helper()
	if b, _ := os.ReadFile(path); string(b) != "user's file" {
		t.Fatal("the user's file was changed")
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Fatalf("files left behind: %v", entries)
	}
}

func TestPullCanceledLeavesNoFile(t *testing.T) {
	reg := distribution.Start(t, nil)
	multiArch(t, reg.Host, "e2e/app:1.0")
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // a pull killed before it could finish
	code, _, _ := runSkiff(t, ctx, "", "pull", reg.Host+"/e2e/app:1.0", filepath.Join(dir, "x.tar"))
	if code != exitError {
		t.Fatalf("exit %d", code)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("files left behind: %v", entries)
	}
}
