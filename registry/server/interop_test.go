package server_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/manifest"
)

// manyPushes pushes 300 tags to repository many/app, each its own image
// over shared blobs, moves ten of them to other images, deletes ten and
// pushes a referrer by digest; it returns the root and the digest each
// tag the server lists names.
func manyPushes(t *testing.T) (string, map[string]manifest.Digest) {
	s := start(t, nil)
	base := newImage("many", 1000, nil)
	s.pushBlob("many/app", base.config)
	s.pushBlob("many/app", base.layer)
	img := func(i int) image {
		return newImage("many", 1000, map[string]any{"annotations": map[string]string{"n": fmt.Sprint(i)}})
	}
	for i := range 300 {
		s.putManifest("many/app", fmt.Sprintf("t%03d", i), img(i).raw).want(t, 201)
	}
	for i := range 10 {
		s.putManifest("many/app", fmt.Sprintf("t%03d", i), img(1000+i).raw).want(t, 201)
		s.do("DELETE", fmt.Sprintf("/v2/many/app/manifests/t%03d", 290+i), nil).want(t, 202)
	}
	sig := newImage("many", 1000, map[string]any{"subject": img(100).desc, "artifactType": "application/vnd.example.sig"})
	s.putManifest("many/app", string(sig.desc.Digest), sig.raw).want(t, 201)
	tags := map[string]manifest.Digest{}
	for _, tag := range s.tags("many/app") {
		r := s.do("HEAD", "/v2/many/app/manifests/"+tag, nil, "Accept", manifest.MediaTypeOCIManifest).want(t, 200)
		tags[tag] = manifest.Digest(r.Header.Get("Docker-Content-Digest"))
	}
	if len(tags) != 290 {
		t.Fatalf("the server lists %d tags, want 290", len(tags))
	}
	return s.root, tags
}

func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s %q: %v\n%s", name, args, err, stderr)
	}
	return string(out)
}

// TestUmociListsEveryTag: after many pushes, moves and deletes, umoci
// reads the repository's layout and lists the tags the server lists.
func TestUmociListsEveryTag(t *testing.T) {
	umoci := testtool.Need(t, "umoci")
	root, tags := manyPushes(t)
	got := strings.Fields(runTool(t, umoci, "ls", "--layout", filepath.Join(root, "many", "app")))
	slices.Sort(got)
	want := slices.Sorted(func(yield func(string) bool) {
		for tag := range tags {
			if !yield(tag) {
				return
			}
		}
	})
	if !slices.Equal(got, want) {
		t.Fatalf("umoci lists %d tags, the server %d", len(got), len(want))
	}
}

// TestSkopeoReadsEveryTag: skopeo reading oci:ROOT/REPO:TAG directly, as
// the server runs, finds the manifest the server answers for each tag,
// the first, the last, moved ones and others; a deleted tag is not there.
func TestSkopeoReadsEveryTag(t *testing.T) {
	skopeo := testtool.Need(t, "skopeo")
	root, tags := manyPushes(t)
	dir := filepath.Join(root, "many", "app")
	for _, tag := range []string{"t000", "t009", "t010", "t150", "t289"} {
		raw := runTool(t, skopeo, "inspect", "--raw", "oci:"+dir+":"+tag)
		if got := manifest.FromBytes([]byte(raw)); got != tags[tag] {
			t.Errorf("skopeo reads %s as %s, the server answers %s", tag, got, tags[tag])
		}
	}
	cmd := exec.Command(skopeo, "inspect", "--raw", "oci:"+dir+":t295")
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("skopeo reads the deleted tag t295: %s", out)
	}
}
