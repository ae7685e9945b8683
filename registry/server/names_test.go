package server_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry/server"
)

// message returns the message of a spec error body's first error.
func (r reply) message() string {
	var eb struct{ Errors []struct{ Message string } }
	if json.Unmarshal(r.body, &eb) != nil || len(eb.Errors) == 0 {
		return ""
	}
	return eb.Errors[0].Message
}

// TestNestedRepositoryNamesRefused: a push to a repository name with a
// component an OCI layout keeps for its own files (blobs, index.json,
// oci-layout) is refused, before any byte of it is read, with 400
// NAME_INVALID and a message saying why; reads find nothing (404), and
// nothing lands in the layout it would have been stored in. Repositories that nest the ordinary way
// (priv, priv/many, priv/many/more) are served.
func TestNestedRepositoryNamesRefused(t *testing.T) {
	s := start(t, nil)
	im := newImage("many", 100, nil)
	s.push("priv/many", "v1", im)
	before := files(t, filepath.Join(s.root, "priv"))
	blob := []byte("a blob")
	d := string(manifest.FromBytes(blob))
	for _, name := range []string{"priv/many/blobs/sha256", "priv/many/index.json", "priv/many/oci-layout/x", "blobs", "a/blobs"} {
		v2 := "/v2/" + name
		r := s.do("POST", v2+"/blobs/uploads/", nil).wantError(t, 400, server.CodeNameInvalid)
		if m := r.message(); !strings.Contains(m, "OCI image layout") || !strings.Contains(m, "component") {
			t.Errorf("%s: message %q does not say why", name, m)
		}
		s.do("POST", v2+"/blobs/uploads/?digest="+d, blob).wantError(t, 400, server.CodeNameInvalid)
		s.do("POST", v2+"/blobs/uploads/?mount="+string(im.layerDigest())+"&from=priv/many", nil).wantError(t, 400, server.CodeNameInvalid)
		s.putManifest(name, "v1", im.raw).wantError(t, 400, server.CodeNameInvalid)
		s.do("GET", v2+"/tags/list", nil).wantError(t, 404, server.CodeNameUnknown)
		s.do("HEAD", v2+"/blobs/"+string(im.layerDigest()), nil).want(t, 404)
		s.do("DELETE", v2+"/manifests/v1", nil).wantError(t, 404, server.CodeManifestUnknown)
	}
	r := s.do("POST", "/v2/priv/many/blobs/sha256/blobs/uploads/", nil)
	if m := r.message(); !strings.Contains(m, `component "blobs"`) || !strings.Contains(m, "layout of repository priv/many") {
		t.Errorf("message %q does not name the component and the layout", m)
	}
	if after := files(t, filepath.Join(s.root, "priv")); !equalFiles(after, before) {
		t.Errorf("priv changed:\n%v\nwas\n%v", after, before)
	}
	if got := files(t, s.uploads); len(got) != 0 {
		t.Errorf("upload files left: %v", got)
	}
	s.push("priv", "v1", newImage("priv", 50, nil))
	s.push("priv/many/more", "v1", newImage("more", 60, nil))
	for _, repo := range []string{"priv", "priv/many", "priv/many/more"} {
		checkLayout(t, s.root, repo)
		s.do("GET", "/v2/"+repo+"/manifests/v1", nil, "Accept", manifest.MediaTypeOCIManifest).want(t, 200)
	}
	if got := s.catalog(); !slices.Equal(got, []string{"priv", "priv/many", "priv/many/more"}) {
		t.Errorf("catalog %q", got)
	}
}

func equalFiles(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func (s *testServer) catalog() []string {
	s.t.Helper()
	var c struct{ Repositories []string }
	json.Unmarshal(s.do("GET", "/v2/_catalog?n=1000", nil).want(s.t, 200).body, &c)
	return c.Repositories
}

// TestRepositoryAroundNestedLayoutRefused: a layout an earlier server
// stored among another's layout files (legacy/blobs/sha256, pushed before
// such names were refused) is not served, and the repository around it
// cannot be made, since its layout's blobs directory would hold that
// layout: 400 NAME_INVALID naming it, and the old layout is untouched.
func TestRepositoryAroundNestedLayoutRefused(t *testing.T) {
	s := start(t, nil)
	nested := filepath.Join(s.root, "legacy", "blobs", "sha256")
	if _, err := layout.Create(nested); err != nil {
		t.Fatal(err)
	}
	before := files(t, nested)
	r := s.do("POST", "/v2/legacy/blobs/uploads/", nil).wantError(t, 400, server.CodeNameInvalid)
	if m := r.message(); !strings.Contains(m, "legacy/blobs/sha256") {
		t.Errorf("message %q does not name the nested layout", m)
	}
	s.putManifest("legacy", "v1", newImage("x", 10, nil).raw).wantError(t, 400, server.CodeNameInvalid)
	if got := s.catalog(); len(got) != 0 {
		t.Errorf("catalog %q", got)
	}
	if _, err := os.Stat(filepath.Join(s.root, "legacy", layout.IndexFile)); err == nil {
		t.Error("a layout was started around the nested one")
	}
	if after := files(t, nested); !equalFiles(after, before) {
		t.Errorf("the nested layout changed: %v", after)
	}
}

// TestServedRepositoriesAreCatalogAndGC: the repositories the server
// serves (those it answers for rather than 404 NAME_UNKNOWN or 400
// NAME_INVALID), those its catalog lists and those GC keeps the
// references of are one set, over a root holding everything else a
// repository directory could be taken for: a layout inside another's
// blobs directory, under a name component that is a layout file, under
// an invalid or hidden name, behind a link to a directory outside or
// inside the root, with a linked or a directory oci-layout, and a
// directory without one. If GC ever walked other repositories than the
// server serves, it could remove blobs a served image uses.
func TestServedRepositoriesAreCatalogAndGC(t *testing.T) {
	s := start(t, nil)
	im := newImage("served", 100, nil)
	for _, repo := range []string{"a", "a/b", "a/b/c", "z/y"} {
		s.push(repo, "v1", im)
	}
	root, outside := s.root, t.TempDir()
	for _, dir := range []string{"team/app", "a/blobs/legacy", "x/index.json/y", "Upper/case", ".hidden/repo", "broken"} {
		if _, err := layout.Create(filepath.Join(root, dir)); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(root, "broken", layout.IndexFile), []byte("{not json"), 0o644)
	if _, err := layout.Create(filepath.Join(outside, "app")); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"plain/dir", "marker-dir/oci-layout", "marker-link"} {
		os.MkdirAll(filepath.Join(root, dir), 0o755)
	}
	links := map[string]string{"linked": outside, "alias": filepath.Join(root, "a", "b"), "a/team": "../team",
		"marker-link/oci-layout": filepath.Join(root, "a", "oci-layout")}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	candidates := []string{"linked/app", "alias", "alias/c", "a/team/app"}
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if rel, _ := filepath.Rel(root, p); err == nil && d.IsDir() && rel != "." {
			candidates = append(candidates, filepath.ToSlash(rel))
		}
		return nil
	})
	var served []string
	for _, c := range candidates {
		if !reference.ValidRepository(c) {
			continue
		}
		if st := s.do("GET", "/v2/"+c+"/tags/list", nil).StatusCode; st != 404 && st != 400 {
			served = append(served, c)
		}
	}
	slices.Sort(served)
	want := []string{"a", "a/b", "a/b/c", "broken", "team/app", "z/y"}
	if !slices.Equal(served, want) {
		t.Errorf("served %q, want %q", served, want)
	}
	if got := s.catalog(); !slices.Equal(got, served) {
		t.Errorf("catalog %q, served %q", got, served)
	}
	s.Close()
	res, err := server.GC(t.Context(), root, true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Repositories, served) {
		t.Errorf("gc walked %q, served %q", res.Repositories, served)
	}
}

// TestGCAfterRefusedName: after a push to priv/many/blobs/sha256 was
// refused, and with such a layout left there by an earlier server, GC
// removes nothing the images served use: every served layout is whole
// and every blob still served.
func TestGCAfterRefusedName(t *testing.T) {
	s := start(t, nil)
	many := newImage("many", 300, nil)
	s.push("priv/many", "v1", many)
	s.push("pub", "v1", many)
	s.do("POST", "/v2/priv/many/blobs/sha256/blobs/uploads/", nil).wantError(t, 400, server.CodeNameInvalid)
	s.putManifest("priv/many/blobs/sha256", "v1", many.raw).wantError(t, 400, server.CodeNameInvalid)
	// What an earlier server made of that push: a layout inside priv/many's
	// blobs directory, its blobs hard-linked from the store.
	nested := filepath.Join(s.root, "priv", "many", "blobs", "sha256")
	os.WriteFile(filepath.Join(nested, layout.LayoutFile), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
	os.WriteFile(filepath.Join(nested, layout.IndexFile), []byte(`{"schemaVersion":2,"manifests":[]}`), 0o644)
	l, err := layout.Open(nested)
	if err != nil {
		t.Fatal(err)
	}
	old := newImage("old", 200, nil)
	for _, b := range [][]byte{old.config, old.layer, old.raw} {
		d := manifest.FromBytes(b)
		os.MkdirAll(filepath.Join(nested, "blobs", "sha256"), 0o755)
		os.WriteFile(filepath.Join(s.root, ".blobs", "sha256", d.Hex()), b, 0o644)
		os.Link(filepath.Join(s.root, ".blobs", "sha256", d.Hex()), filepath.Join(nested, "blobs", "sha256", d.Hex()))
	}
	if err := l.Tag(t.Context(), old.desc, "v1"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	res, err := server.GC(t.Context(), s.root, false)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, b := range [][]byte{many.config, many.layer, many.raw} {
		used[manifest.FromBytes(b).Hex()] = true
	}
	for _, f := range res.Removed {
		if used[filepath.Base(f.Path)] {
			t.Errorf("gc removed %s, which priv/many:v1 uses", f.Path)
		}
	}
	s2 := startAt(t, s.root, nil)
	for _, repo := range []string{"priv/many", "pub"} {
		checkLayout(t, s.root, repo)
		for _, b := range [][]byte{many.config, many.layer} {
			if r := s2.do("GET", "/v2/"+repo+"/blobs/"+string(manifest.FromBytes(b)), nil).want(t, 200); string(r.body) != string(b) {
				t.Errorf("%s: a blob is served differently after gc", repo)
			}
		}
	}
}
