package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata/")
	}
}

// inspectUpdating reports whether the run was asked to rewrite golden files.
func inspectUpdating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// inspectGolden compares got with testdata/name, or rewrites it with -update.
func inspectGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if inspectUpdating() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

var inspectCommandNames = []string{"manifest", "config", "digest", "ls", "catalog", "blob", "tag", "delete",
	"export", "flatten", "referrers", "login", "logout", "sync"}

func TestInspectHelpGolden(t *testing.T) {
	for _, name := range inspectCommandNames {
		stdout := mustRun(t, name, "--help")
		inspectGolden(t, "help-"+name+".golden", stdout)
	}
}

func TestManifestConfigDigest(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	im := seedImage(t, srv, "demo/app:1", 2000, 10)
	ims, idx := multiArch(t, srv.Host, "demo/multi:1")
	ref := srv.Host + "/demo/app:1"
	if got := mustRun(t, "manifest", ref); got != string(im.Manifest.Raw) {
		t.Fatalf("manifest printed %q, want the stored bytes", got)
	}
	if got := mustRun(t, "manifest", srv.Host+"/demo/multi:1"); got != string(idx.Raw) {
		t.Fatal("manifest of an index is not the index's bytes")
	}
	if got := mustRun(t, "manifest", "--platform", "linux/arm64", srv.Host+"/demo/multi:1"); got != string(ims[1].Manifest.Raw) {
		t.Fatal("manifest --platform linux/arm64 is not the arm64 manifest")
	}
	if got := mustRun(t, "config", ref); got != string(im.Config) {
		t.Fatalf("config printed %q", got)
	}
	if got := mustRun(t, "config", srv.Host+"/demo/multi:1", "--platform", "linux/arm64"); got != string(ims[1].Config) {
		t.Fatal("config --platform linux/arm64 is not the arm64 config")
	}
	if got := mustRun(t, "digest", ref); got != string(im.Manifest.Digest)+"\n" {
		t.Fatalf("digest printed %q", got)
	}
	inspectGolden(t, "digest.json.golden", mustRun(t, "digest", "--json", srv.Host+"/demo/multi:1"))
}

func TestInspectFromLayoutAndArchive(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	im := seedImage(t, srv, "demo/app:1", 3000)
	dir := t.TempDir()
	lay, arc := filepath.Join(dir, "lay"), filepath.Join(dir, "app.tar")
	mustRun(t, "copy", "--quiet", srv.Host+"/demo/app:1", "oci:"+lay+":v1")
	mustRun(t, "pull", "--quiet", srv.Host+"/demo/app:1", arc)
	for _, loc := range []string{"oci:" + lay + ":v1", "oci:" + lay, "docker-archive:" + arc} {
		if got := mustRun(t, "manifest", loc); got != string(im.Manifest.Raw) {
			t.Errorf("manifest %s differs", loc)
		}
		if got := mustRun(t, "config", loc); got != string(im.Config) {
			t.Errorf("config %s differs", loc)
		}
		if got := mustRun(t, "digest", loc); got != string(im.Manifest.Digest)+"\n" {
			t.Errorf("digest %s = %q", loc, got)
		}
	}
	cfg := im.Manifest.Manifest.Config.Digest
	out := filepath.Join(dir, "cfg.json")
	mustRun(t, "blob", "oci:"+lay+"@"+string(cfg), out)
	if b, _ := os.ReadFile(out); !bytes.Equal(b, im.Config) {
		t.Fatal("blob from a layout differs")
	}
	fromReg := mustRun(t, "export", srv.Host+"/demo/app:1")
	if fromLayout := mustRun(t, "export", "oci:"+lay+":v1"); fromLayout != fromReg || len(fromReg) < 3000 {
		t.Fatal("export from a layout differs from export from the registry")
	}
}

// pagedTags serves reg with tag lists cut into pages of 50, as registries
// that paginate by default do.
func pagedTags(t *testing.T, reg *registrytest.Registry) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/tags/list") && !r.URL.Query().Has("n") {
			r.URL.RawQuery = "n=50"
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestLsCatalogPaginate(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	im := seedImage(t, srv, "demo/app:1", 100)
	seedImage(t, srv, "other/x:1", 100)
	ref, _ := reference.Parse(srv.Host + "/demo/app")
	repo := (&registry.Client{}).Repository(ref)
	want := []string{"1"}
	for i := range 120 {
		tag := fmt.Sprintf("t%03d", i)
		if err := repo.Tag(t.Context(), im.Manifest.Descriptor(), tag); err != nil {
			t.Fatal(err)
		}
		want = append(want, tag)
	}
	paged := pagedTags(t, srv.Registry)
	got := strings.Fields(mustRun(t, "ls", paged+"/demo/app"))
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("ls listed %d tags, want %d", len(got), len(want))
	}
	if n := srv.Log.Count(func(r registrytest.Request) bool { return strings.HasSuffix(r.Path, "/tags/list") }); n != 3 {
		t.Fatalf("ls asked for %d pages of tags, want 3", n)
	}
	inspectGolden(t, "ls.json.golden", strings.ReplaceAll(mustRun(t, "ls", "--json", srv.Host+"/other/x"), srv.Host, "HOST"))
	inspectGolden(t, "catalog.json.golden", mustRun(t, "catalog", "--json", srv.Host))
	if got := mustRun(t, "catalog", srv.Host); got != "demo/app\nother/x\n" {
		t.Fatalf("catalog printed %q", got)
	}
}

func TestBlobVerified(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	im := seedImage(t, srv, "demo/app:1", 50000)
	layer := im.Manifest.Manifest.Layers[0].Digest
	dir := t.TempDir()
	out := filepath.Join(dir, "layer.tgz")
	mustRun(t, "blob", srv.Host+"/demo/app@"+string(layer), out)
	if b, _ := os.ReadFile(out); manifest.FromBytes(b) != layer {
		t.Fatal("blob wrote other bytes")
	}
	if got := mustRun(t, "blob", srv.Host+"/demo/app@"+string(layer)); manifest.FromString(got) != layer {
		t.Fatal("blob to stdout wrote other bytes")
	}
	os.Remove(out)
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"), WrongBytes: true})
	code, _, stderr := runSkiff(t, t.Context(), "", "blob", srv.Host+"/demo/app@"+string(layer), out)
	if code != exitError || !strings.Contains(stderr, "digest mismatch") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("wrong bytes: exit %d, %q", code, stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a failed blob left %v", entries)
	}
}

func TestTagAndDelete(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	im := seedImage(t, srv, "demo/app:1", 100)
	if got := mustRun(t, "tag", srv.Host+"/demo/app:1", "stable"); got != string(im.Manifest.Digest)+"\n" {
		t.Fatalf("tag printed %q", got)
	}
	if n := srv.Log.Count(func(r registrytest.Request) bool { return strings.Contains(r.Path, "/blobs/") }); n != 0 {
		t.Fatalf("tag touched %d blobs", n)
	}
	if doc, _ := fetchImage(t, srv, "demo/app:stable"); doc.Digest != im.Manifest.Digest {
		t.Fatal("the new tag names another manifest")
	}
	if got := mustRun(t, "delete", "--quiet", srv.Host+"/demo/app:stable"); got != string(im.Manifest.Digest)+"\n" {
		t.Fatalf("delete printed %q", got)
	}
	var deletes []string
	for _, r := range srv.Log.Requests() {
		if r.Method == "DELETE" {
			deletes = append(deletes, r.Path)
		}
	}
	if len(deletes) != 1 || !strings.HasSuffix(deletes[0], string(im.Manifest.Digest)) {
		t.Fatalf("deleted with %v, want once by digest", deletes)
	}
	code, _, stderr := runSkiff(t, t.Context(), "", "config", srv.Host+"/demo/app:1")
	if code != exitError || !strings.Contains(stderr, "404") {
		t.Fatalf("config of a deleted image: exit %d %q", code, stderr)
	}
}

// tarNames lists the entry names of a tar.
func tarNames(t *testing.T, b []byte) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
	}
}

func TestExportAndFlatten(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	im := seedImage(t, srv, "demo/app:1", 3000, 2000, 1000)
	exported := mustRun(t, "export", srv.Host+"/demo/app:1")
	if names := tarNames(t, []byte(exported)); len(names) < 3 {
		t.Fatalf("export holds %v", names)
	}
	file := filepath.Join(t.TempDir(), "rootfs.tar")
	mustRun(t, "export", srv.Host+"/demo/app:1", file)
	if b, _ := os.ReadFile(file); string(b) != exported {
		t.Fatal("export to a file differs from export to stdout")
	}
	digest := strings.TrimSpace(mustRun(t, "flatten", srv.Host+"/demo/app:1", "-t", srv.Host+"/demo/flat:1"))
	doc, cfg := fetchImage(t, srv, "demo/flat:1")
	if string(doc.Digest) != digest || len(doc.Manifest.Layers) != 1 || len(cfg.RootFS.DiffIDs) != 1 || len(cfg.History) != 1 {
		t.Fatalf("flattened image: %s", doc.Raw)
	}
	if doc.MediaType != im.Manifest.MediaType || doc.Manifest.Layers[0].MediaType != manifest.MediaTypeDockerLayer {
		t.Fatalf("flattened media types %s / %s, base %s", doc.MediaType, doc.Manifest.Layers[0].MediaType, im.Manifest.MediaType)
	}
	if cfg.RootFS.DiffIDs[0] != manifest.FromString(exported) {
		t.Fatal("the flattened layer is not the exported filesystem")
	}
	multiArch(t, srv.Host, "demo/multi:1")
	mustRun(t, "flatten", "--quiet", "--platform", "linux/arm64", srv.Host+"/demo/multi:1", "-t", srv.Host+"/demo/multi:flat")
	doc, cfg = fetchImage(t, srv, "demo/multi:flat")
	if doc.MediaType != manifest.MediaTypeOCIManifest || doc.Manifest.Layers[0].MediaType != manifest.MediaTypeOCILayerGzip || cfg.Architecture != "arm64" {
		t.Fatalf("flattened OCI image: %s", doc.Raw)
	}
}

func TestExportFailureLeavesNothing(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	seedImage(t, srv, "demo/app:1", 3000, 2000)
	keep := usersFile(t, "rootfs.tar")
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"), WrongBytes: true})
	code, _, stderr := runSkiff(t, t.Context(), "", "export", srv.Host+"/demo/app:1", keep)
	if code != exitError || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("export of a corrupt layer: exit %d %q", code, stderr)
	}
	assertUsersFileAlone(t, keep)
}

func TestReferrersJSON(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	ims, _ := multiArch(t, srv.Host, "demo/signed:1")
	ref, _ := reference.Parse(srv.Host + "/demo/signed")
	repo := (&registry.Client{}).Repository(ref)
	empty := manifest.DescriptorFor(manifest.MediaTypeOCIEmpty, []byte("{}"))
	if err := repo.Push(t.Context(), empty, strings.NewReader("{}")); err != nil {
		t.Fatal(err)
	}
	subject := ims[0].Manifest.Descriptor()
	for _, at := range []string{"application/vnd.example.sig", "application/spdx+json"} {
		doc, err := manifest.Marshal(manifest.MediaTypeOCIManifest, manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIManifest,
			ArtifactType: at, Config: empty, Layers: []manifest.Descriptor{empty}, Subject: &subject})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := repo.PushManifest(t.Context(), doc.Raw, doc.MediaType, string(doc.Digest)); err != nil {
			t.Fatal(err)
		}
	}
	name := srv.Host + "/demo/signed@" + string(subject.Digest)
	inspectGolden(t, "referrers.json.golden", mustRun(t, "referrers", "--json", name))
	if got := mustRun(t, "referrers", "--artifact-type", "application/spdx+json", name); strings.Count(got, "\n") != 1 || !strings.Contains(got, "spdx") {
		t.Fatalf("referrers --artifact-type printed %q", got)
	}
}

func TestInspectErrors(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	seedImage(t, srv, "demo/app:1", 100)
	h := srv.Host
	tests := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"manifest", "UPPER/x"}, exitError, "must be lowercase"},
		{[]string{"manifest", h + "/demo/app:nope"}, exitError, "404"},
		{[]string{"config", h + "/demo/app:nope"}, exitError, "404"},
		{[]string{"digest", "127.0.0.1:1/x:y"}, exitError, "cannot reach 127.0.0.1:1"},
		{[]string{"ls", h + "/demo/app:1"}, exitError, "tag"},
		{[]string{"ls", h + "/demo/none"}, exitError, "404"},
		{[]string{"ls", "127.0.0.1:1/x"}, exitError, "cannot reach"},
		{[]string{"catalog", "not a host"}, exitError, "not a registry host"},
		{[]string{"catalog", "127.0.0.1:1"}, exitError, "cannot reach"},
		{[]string{"blob", h + "/demo/app:1"}, exitUsage, "names no digest"},
		{[]string{"blob", h + "/demo/app@sha256:" + strings.Repeat("a", 64), "-"}, exitError, "404"},
		{[]string{"tag", h + "/demo/app:1", "bad/tag"}, exitUsage, "is not a tag"},
		{[]string{"tag", h + "/demo/app:nope", "x"}, exitError, "404"},
		{[]string{"delete", h + "/demo/app:nope"}, exitError, "404"},
		{[]string{"export", h + "/demo/app:nope", "-"}, exitError, "404"},
		{[]string{"export", "oci:/nonexistent/dir", "-"}, exitError, "not an OCI image layout"},
		{[]string{"flatten"}, exitUsage, "want one REF"},
		{[]string{"referrers", "127.0.0.1:1/x:y"}, exitError, "cannot reach"},
		{[]string{"manifest"}, exitUsage, "want one REF"},
	}
	for _, tt := range tests {
		code, _, stderr := runSkiff(t, t.Context(), "", tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.err) {
			t.Errorf("skiff %q: exit %d, stderr %q; want exit %d mentioning %q", tt.args, code, stderr, tt.code, tt.err)
		}
		if code == exitError && strings.Count(stderr, "\n") != 1 || strings.Contains(stderr, "goroutine ") {
			t.Errorf("skiff %q: not a one-line error: %q", tt.args, stderr)
		}
	}
}

// TestInspectWrongCredentials: a wrong password is a one-line error that
// says so, never the password itself.
func TestInspectWrongCredentials(t *testing.T) {
	srv := registrytest.NewServer(t, &registrytest.Options{Auth: registrytest.Auth{Mode: registrytest.AuthBearer,
		Users: map[string]string{"ci": "right-pw"}}})
	for _, cmd := range []string{"manifest", "digest", "config", "ls"} {
		ref := srv.Host + "/demo/app:1"
		if cmd == "ls" {
			ref = srv.Host + "/demo/app"
		}
		code, stdout, stderr := runSkiff(t, t.Context(), "wrong-pw-123\n", cmd, "--user", "ci", "--password-stdin", ref)
		if code != exitError || stdout != "" || !strings.Contains(stderr, "401") && !strings.Contains(stderr, "unauthorized") {
			t.Errorf("%s with a wrong password: exit %d, stdout %q, stderr %q", cmd, code, stdout, stderr)
		}
		if strings.Contains(stderr, "wrong-pw-123") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: stderr %q", cmd, stderr)
		}
	}
}
