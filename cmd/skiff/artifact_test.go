package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
)

func TestArtifactHelpGolden(t *testing.T) {
	for _, sub := range []string{"push", "pull"} {
		inspectGolden(t, "help-artifact-"+sub+".golden", mustRun(t, "artifact", sub, "--help"))
	}
	inspectGolden(t, "help-artifact.golden", mustRun(t, "artifact", "--help"))
}

// artifactFiles writes a file and a directory to push into a new working
// directory.
func artifactFiles(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	os.MkdirAll("conf/sub", 0o755)
	os.WriteFile("a.txt", []byte("hello\n"), 0o644)
	os.WriteFile("conf/app.toml", []byte("x = 1\n"), 0o644)
	os.WriteFile("conf/sub/deep", []byte("deep"), 0o600)
	return dir
}

// TestArtifactPushPull pushes a file and a directory, pulls them back,
// attaches a referrer and finds it with --referrer-of and referrers --tree.
func TestArtifactPushPull(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	artifactFiles(t)
	ref := srv.Host + "/demo/bundle:1"
	digest := strings.TrimSpace(mustRun(t, "artifact", "push", "--artifact-type", "application/vnd.test", "--annotation", "k=v", ref, "a.txt:text/plain", "conf"))
	manifestJSON := mustRun(t, "manifest", ref)
	for _, want := range []string{`"artifactType":"application/vnd.test"`, `"k":"v"`, `"text/plain"`, `"io.deis.oras.content.unpack":"true"`} {
		if !strings.Contains(manifestJSON, want) {
			t.Errorf("manifest %s lacks %s", manifestJSON, want)
		}
	}
	if got := strings.TrimSpace(mustRun(t, "artifact", "pull", ref, "out")); got != digest {
		t.Errorf("pull printed %q, want %s", got, digest)
	}
	for name, want := range map[string]string{"a.txt": "hello\n", "conf/app.toml": "x = 1\n", "conf/sub/deep": "deep"} {
		if b, err := os.ReadFile(filepath.Join("out", name)); err != nil || string(b) != want {
			t.Errorf("out/%s: %q, %v; want %q", name, b, err, want)
		}
	}

	os.WriteFile("sbom.json", []byte(`{"spdx":1}`), 0o644)
	sbom := strings.TrimSpace(mustRun(t, "artifact", "push", "--artifact-type", "application/spdx+json", "--subject", ref, srv.Host+"/demo/bundle", "sbom.json"))
	sig := strings.TrimSpace(mustRun(t, "artifact", "push", "--artifact-type", "application/vnd.sig", "--subject", srv.Host+"/demo/bundle@"+sbom, srv.Host+"/demo/bundle", "a.txt"))
	if got := strings.TrimSpace(mustRun(t, "artifact", "pull", "--referrer-of", ref, "--artifact-type", "application/spdx+json", "sbom")); got != sbom {
		t.Errorf("--referrer-of pulled %s, want %s", got, sbom)
	}
	if b, _ := os.ReadFile("sbom/sbom.json"); string(b) != `{"spdx":1}` {
		t.Errorf("sbom/sbom.json = %q", b)
	}
	want := srv.Host + "/demo/bundle@" + digest + "\n" +
		"└── application/spdx+json\n" +
		"    └── " + sbom + "\n" +
		"        └── application/vnd.sig\n" +
		"            └── " + sig + "\n"
	if got := mustRun(t, "referrers", "--tree", ref); got != want {
		t.Errorf("referrers --tree:\n%s\nwant:\n%s", got, want)
	}
	if got := mustRun(t, "referrers", "--tree", "--json", ref); !strings.Contains(got, `"referrers": [`) || !strings.Contains(got, sig) {
		t.Errorf("referrers --tree --json: %s", got)
	}
}

// TestArtifactBadInput runs artifact push and pull on what they must
// refuse: one line on stderr, exit 1, and the user's files untouched.
func TestArtifactBadInput(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	dir := artifactFiles(t)
	ref := srv.Host + "/demo/bundle:1"
	mustRun(t, "artifact", "push", ref, "a.txt")
	os.MkdirAll("dst", 0o755)
	os.WriteFile("dst/a.txt", []byte("mine"), 0o644)
	deep := srv.Host + "/demo/deep:1"
	mustRun(t, "artifact", "push", deep, "conf/app.toml")
	outside := t.TempDir()
	os.MkdirAll("linked", 0o755)
	os.Symlink(outside, "linked/conf") // a link planted where a title leads
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"artifact", "push", ref, "missing.txt"}, exitError, "missing.txt"},
		{[]string{"artifact", "push", ref, "../" + filepath.Base(dir) + "/a.txt"}, exitError, ".."},
		{[]string{"artifact", "push", ref, filepath.Join(dir, "a.txt")}, exitError, "absolute"},
		{[]string{"artifact", "push", ref, "a.txt:notatype"}, exitUsage, "type/subtype"},
		{[]string{"artifact", "push", "docker-archive:x.tar", "a.txt"}, exitError, "images only"},
		{[]string{"artifact", "pull", ref, "dst"}, exitError, "dst/a.txt: file already exists (--overwrite replaces it)"},
		{[]string{"artifact", "pull", deep, "linked"}, exitError, "linked/conf"},
		{[]string{"artifact", "pull", srv.Host + "/demo/nothere:1", "new"}, exitError, "MANIFEST_UNKNOWN"},
		{[]string{"artifact", "pull", "--referrer-of", ref, "--artifact-type", "application/none", "new"}, exitError, "no artifact of type application/none"},
		{[]string{"artifact", "pull", "--referrer-of", ref, "new"}, exitUsage, "needs --artifact-type"},
		{[]string{"copy", ref, "docker-archive:x.tar"}, exitError, "application/vnd.unknown.artifact.v1"},
		{[]string{"pull", ref, "y.tar"}, exitError, "skiff artifact pull"},
	}
	for _, tt := range tests {
		code, _, stderr := runSkiff(t, t.Context(), "", tt.args...)
		lines := 1 + btoi(tt.code == exitUsage) // the error, and the usage line
		if code != tt.code || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != lines {
			t.Errorf("skiff %q: exit %d, stderr %q; want exit %d and one line mentioning %q", tt.args, code, stderr, tt.code, tt.want)
		}
	}
	if b, _ := os.ReadFile("dst/a.txt"); string(b) != "mine" {
		t.Errorf("dst/a.txt became %q", b)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("a pull wrote %v outside its directory, through a link", entries)
	}
	for _, name := range []string{"x.tar", "y.tar", "new"} {
		if _, err := os.Lstat(name); err == nil {
			t.Errorf("a refused command left %s", name)
		}
	}
	mustRun(t, "artifact", "pull", "--overwrite", ref, "dst")
	if b, _ := os.ReadFile("dst/a.txt"); string(b) != "hello\n" {
		t.Errorf("--overwrite left dst/a.txt %q", b)
	}
}

// TestArtifactCopiesWithReferrers carries an artifact and the one that
// refers to it with copy --referrers into a layout and an oci-archive, and
// with sync --referrers into another registry; each is pulled there.
func TestArtifactCopiesWithReferrers(t *testing.T) {
	srv, mirror := registrytest.NewServer(t, nil), registrytest.NewServer(t, &registrytest.Options{NoReferrers: true})
	artifactFiles(t)
	ref := srv.Host + "/demo/bundle:1"
	mustRun(t, "artifact", "push", ref, "a.txt", "conf")
	os.WriteFile("sbom.json", []byte("sbom"), 0o644)
	mustRun(t, "artifact", "push", "--artifact-type", "application/spdx+json", "--subject", ref, srv.Host+"/demo/bundle", "sbom.json")
	mustRun(t, "copy", "--referrers", ref, "oci:lay:1")
	mustRun(t, "copy", "--referrers", ref, "oci-archive:a.tar:1")
	mustRun(t, "sync", "--referrers", srv.Host+"/demo/bundle", mirror.Host+"/backup")
	for i, src := range []string{"oci:lay:1", "oci-archive:a.tar:1", mirror.Host + "/backup/demo/bundle:1"} {
		out := filepath.Join("out", strconv.Itoa(i))
		mustRun(t, "artifact", "pull", src, out)
		mustRun(t, "artifact", "pull", "--referrer-of", src, "--artifact-type", "application/spdx+json", out)
		for name, want := range map[string]string{"a.txt": "hello\n", "conf/sub/deep": "deep", "sbom.json": "sbom"} {
			if b, _ := os.ReadFile(filepath.Join(out, name)); string(b) != want {
				t.Errorf("%s: %s is %q, want %q", src, name, b, want)
			}
		}
	}
}
