package images_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
)

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func str(s string) *string { return &s }

// rebaseFixture is an old base, a new one and an app built on the old.
type rebaseFixture struct {
	old, new, app *images.Image
}

// seedRebase writes base/old:1, base/new:1 and app/svc:1 of platform p
// to host, the app on the old base.
func seedRebase(t testing.TB, host string, p manifest.Platform, tag string) rebaseFixture {
	var f rebaseFixture
	f.old = testimage.Build(t, host+"/base/old:"+tag, nil, p, map[string]string{"etc/base": "old\n", "bin/tool": "1"},
		images.ConfigChanges{Env: []string{"PATH=/usr/bin", "BASE=old"}, WorkingDir: str("/"), Cmd: []string{"sh"}, Labels: map[string]string{"base": "old"}})
	newBase := testimage.Build(t, host+"/base/new:"+tag, nil, p, map[string]string{"etc/base": "new\n"},
		images.ConfigChanges{Env: []string{"PATH=/usr/bin", "BASE=new"}, WorkingDir: str("/srv"), Cmd: []string{"sh"}, Labels: map[string]string{"base": "new"}})
	f.new = testimage.Build(t, host+"/base/new:"+tag, newBase, p, map[string]string{"etc/patch": "fixed\n"}, images.ConfigChanges{})
	f.app = testimage.Build(t, host+"/app/svc:"+tag, f.old, p, map[string]string{"app/hello": "hi\n"},
		images.ConfigChanges{Env: []string{"APP=1", "PATH=/app:/usr/bin"}, Cmd: []string{"/app/hello"}, Labels: map[string]string{"app": "svc"}})
	return f
}

// TestRebaseImage moves an app from the old base to the new one in its
// own repository: the new base's layers are mounted, the app's own stay,
// no layer is downloaded, and the config takes the new base's values
// only where the app kept the old base's.
func TestRebaseImage(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	ctx := t.Context()
	f := seedRebase(t, srv.Host, linuxAMD64, "1")
	srv.Log.Reset()
	desc, err := images.Rebase(ctx, srv.Host+"/app/svc:1", srv.Host+"/base/old:1", srv.Host+"/base/new:1", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	layers := map[string]bool{}
	for _, im := range []*images.Image{f.old, f.new, f.app} {
		for _, l := range im.Layers() {
			layers["/blobs/"+string(l.Digest)] = true
		}
	}
	mounts := 0
	for _, r := range srv.Log.Requests() {
		for l := range layers {
			if r.Method == "GET" && strings.HasSuffix(r.Path, l) {
				t.Errorf("a layer was downloaded: %s %s", r.Method, r.Path)
			}
		}
		if r.Method == "POST" && strings.Contains(r.RawQuery, "mount=") {
			mounts++
		}
	}
	if mounts != len(f.new.Layers()) {
		t.Errorf("%d mounts, want one per layer of the new base (%d)", mounts, len(f.new.Layers()))
	}
	got, err := images.Open(ctx, srv.Host+"/app/svc:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Descriptor(); d.Digest != desc.Digest {
		t.Errorf("app/svc:1 is %s, Rebase returned %s", d.Digest, desc.Digest)
	}
	wantLayers := append(f.new.Layers(), f.app.Layers()[len(f.old.Layers()):]...)
	if !slices.EqualFunc(got.Layers(), wantLayers, func(a, b manifest.Descriptor) bool { return a.Digest == b.Digest }) {
		t.Errorf("layers %v, want the new base's then the app's own", got.Layers())
	}
	c, nc, ac := got.Config(), f.new.Config(), f.app.Config()
	if want := append(slices.Clone(nc.RootFS.DiffIDs), ac.RootFS.DiffIDs[len(f.old.Layers()):]...); !slices.Equal(c.RootFS.DiffIDs, want) {
		t.Errorf("diffIDs %v, want %v", c.RootFS.DiffIDs, want)
	}
	if want := append(slices.Clone(nc.History), ac.History[len(f.old.Config().History):]...); !slices.EqualFunc(c.History, want, func(a, b manifest.History) bool { return a.CreatedBy == b.CreatedBy }) {
		t.Errorf("history %v, want the new base's then the app's own", c.History)
	}
	rc := c.Config
	if env := strings.Join(rc.Env, " "); env != "PATH=/app:/usr/bin BASE=new APP=1" {
		t.Errorf("Env %q: want the app's PATH and APP, the new base's BASE", env)
	}
	if rc.WorkingDir != "/srv" || !slices.Equal(rc.Cmd, []string{"/app/hello"}) {
		t.Errorf("WorkingDir %q Cmd %q: want the new base's WorkingDir, the app's Cmd", rc.WorkingDir, rc.Cmd)
	}
	if rc.Labels["base"] != "new" || rc.Labels["app"] != "svc" {
		t.Errorf("labels %v", rc.Labels)
	}
	doc, _ := got.Manifest()
	newDesc, _ := f.new.Descriptor()
	if a := doc.Manifest.Annotations; a[images.BaseNameAnnotation] != srv.Host+"/base/new:1" || a[images.BaseDigestAnnotation] != string(newDesc.Digest) {
		t.Errorf("annotations %v", a)
	}
}

// TestRebaseNotOnBase: an image that does not start with the old base's
// layers is refused, and nothing is written.
func TestRebaseNotOnBase(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	seedRebase(t, srv.Host, linuxAMD64, "1")
	before, _ := images.Open(t.Context(), srv.Host+"/app/svc:1", nil)
	_, err := images.Rebase(t.Context(), srv.Host+"/app/svc:1", srv.Host+"/base/new:1", srv.Host+"/base/old:1", "", nil)
	if !errors.Is(err, images.ErrNotOnBase) {
		t.Fatalf("rebasing off a base it is not on: %v", err)
	}
	after, _ := images.Open(t.Context(), srv.Host+"/app/svc:1", nil)
	if b, a := digestOf(before), digestOf(after); a != b {
		t.Error("a refused rebase changed the tag")
	}
}

func digestOf(im *images.Image) manifest.Digest {
	d, _ := im.Descriptor()
	return d.Digest
}

// TestRebaseFromAnnotations rebases twice: the second time with no old
// base, which the annotations the first left name.
func TestRebaseFromAnnotations(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	ctx := t.Context()
	f := seedRebase(t, srv.Host, linuxAMD64, "1")
	if _, err := images.Rebase(ctx, srv.Host+"/app/svc:1", "", srv.Host+"/base/new:1", "", nil); err == nil || !strings.Contains(err.Error(), "name the old base") {
		t.Errorf("no old base and no annotations: %v", err)
	}
	if _, err := images.Rebase(ctx, srv.Host+"/app/svc:1", srv.Host+"/base/old:1", srv.Host+"/base/new:1", srv.Host+"/app/svc:2", nil); err != nil {
		t.Fatal(err)
	}
	newer := testimage.Build(t, srv.Host+"/base/new:1", f.new, linuxAMD64, map[string]string{"etc/patch2": "more\n"}, images.ConfigChanges{})
	if _, err := images.Rebase(ctx, srv.Host+"/app/svc:2", "", srv.Host+"/base/new:1", srv.Host+"/app/svc:3", nil); err != nil {
		t.Fatal(err)
	}
	got, err := images.Open(ctx, srv.Host+"/app/svc:3", nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, want := len(got.Layers()), len(newer.Layers())+1; n != want || got.Layers()[n-2].Digest != newer.Layers()[n-2].Digest {
		t.Errorf("%d layers, want the newer base's %d and the app's", n, want-1)
	}
}

// TestRebaseIndex rebases every platform of an index onto the new
// base's image of that platform.
func TestRebaseIndex(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	ctx := t.Context()
	fs := map[string]rebaseFixture{}
	for _, p := range []manifest.Platform{linuxAMD64, linuxARM64} {
		fs[p.Architecture] = seedRebase(t, srv.Host, p, p.Architecture)
	}
	for _, name := range []string{"base/old", "base/new", "app/svc"} {
		ix, err := images.NewIndexFrom(ctx, []string{srv.Host + "/" + name + ":amd64", srv.Host + "/" + name + ":arm64"}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := images.WriteIndex(ctx, ix, srv.Host+"/"+name+":multi", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := images.Rebase(ctx, srv.Host+"/app/svc:multi", srv.Host+"/base/old:multi", srv.Host+"/base/new:multi", "", nil); err != nil {
		t.Fatal(err)
	}
	ix, err := images.OpenIndex(ctx, srv.Host+"/app/svc:multi", nil)
	if err != nil {
		t.Fatal(err)
	}
	for arch, f := range fs {
		im, err := ix.Image(ctx, manifest.Platform{OS: "linux", Architecture: arch})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := im.Layers()[0].Digest, f.new.Layers()[0].Digest; got != want {
			t.Errorf("%s: bottom layer %s, want the new base's %s", arch, got, want)
		}
		if im.Platform().Architecture != arch {
			t.Errorf("%s: the image is %s", arch, im.Platform())
		}
	}
}

// TestRebaseDockerOntoOCI: a Docker-typed app keeps Docker's media types,
// the new base's OCI layers taking Docker's names for the same bytes.
func TestRebaseDockerOntoOCI(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	ctx := t.Context()
	seedPlatform(t, srv.Host, "base/docker:1", linuxAMD64, 5, true)
	old, err := images.Open(ctx, srv.Host+"/base/docker:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	testimage.Build(t, srv.Host+"/app/docker:1", old, linuxAMD64, map[string]string{"app/x": "x"}, images.ConfigChanges{})
	newBase := testimage.Build(t, srv.Host+"/base/oci:1", nil, linuxAMD64, map[string]string{"etc/base": "new"}, images.ConfigChanges{})
	if _, err := images.Rebase(ctx, srv.Host+"/app/docker:1", srv.Host+"/base/docker:1", srv.Host+"/base/oci:1", "", nil); err != nil {
		t.Fatal(err)
	}
	got, err := images.Open(ctx, srv.Host+"/app/docker:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := got.Manifest()
	if doc.MediaType != manifest.MediaTypeDockerManifest || got.Layers()[0].MediaType != manifest.MediaTypeDockerLayer || got.Layers()[0].Digest != newBase.Layers()[0].Digest {
		t.Errorf("rebased: %s, bottom layer %s %s", doc.MediaType, got.Layers()[0].MediaType, got.Layers()[0].Digest)
	}
}
