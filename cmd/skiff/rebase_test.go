package main

import (
	"archive/tar"
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/distribution"
	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
)

// seedBases writes base/old, base/new and app/svc (on base/old) of
// platform p to host, tagged tag.
func seedBases(t *testing.T, host string, p manifest.Platform, tag string) {
	t.Helper()
	old := testimage.Build(t, host+"/base/old:"+tag, nil, p, map[string]string{"etc/base": "old\n", "etc/old-only": "x"}, images.ConfigChanges{Env: []string{"BASE=old"}})
	testimage.Build(t, host+"/base/new:"+tag, nil, p, map[string]string{"etc/base": "new\n", "etc/fix": p.Architecture + "\n"}, images.ConfigChanges{Env: []string{"BASE=new"}})
	testimage.Build(t, host+"/app/svc:"+tag, old, p, map[string]string{"app/hello": "hi\n"}, images.ConfigChanges{Cmd: []string{"/app/hello"}})
}

// exported runs skiff export and returns the files of the flattened
// image.
func exported(t *testing.T, args ...string) map[string]string {
	t.Helper()
	out := mustRun(t, append(append([]string{"export"}, args...), "-")...)
	files := map[string]string{}
	tr := tar.NewReader(bytes.NewReader([]byte(out)))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[strings.TrimPrefix(h.Name, "./")] = string(b)
	}
}

// TestRebaseCommand rebases an image and an index in the in-process
// registry: crane validates the results and skiff export shows the new
// base's files under the app's.
func TestRebaseCommand(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	rebaseAndCheck(t, srv.Host)
}

// rebaseAndCheck seeds bases and apps on host, rebases them with skiff and
// checks the results.
func rebaseAndCheck(t *testing.T, host string) {
	seedBases(t, host, amd64, "1")
	digest := strings.TrimSpace(mustRun(t, "rebase", "--insecure", host+"/app/svc:1", "--old-base", host+"/base/old:1", "--new-base", host+"/base/new:1"))
	if got := strings.TrimSpace(mustRun(t, "digest", "--insecure", host+"/app/svc:1")); got != digest {
		t.Errorf("rebase printed %s; app/svc:1 is %s", digest, got)
	}
	files := exported(t, "--insecure", host+"/app/svc:1")
	if files["etc/base"] != "new\n" || files["app/hello"] != "hi\n" || files["etc/fix"] != "amd64\n" || files["etc/old-only"] != "" {
		t.Errorf("exported after rebase: %v", files)
	}
	for _, arch := range []manifest.Platform{amd64, arm64} {
		seedBases(t, host, arch, arch.Architecture)
	}
	for _, name := range []string{"base/old", "base/new", "app/svc"} {
		mustRun(t, "index", "create", "--insecure", host+"/"+name+":multi", host+"/"+name+":amd64", host+"/"+name+":arm64")
	}
	mustRun(t, "rebase", "--insecure", host+"/app/svc:multi", "--old-base", host+"/base/old:multi", "--new-base", host+"/base/new:multi", "-t", host+"/app/svc:rebased")
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		files := exported(t, "--insecure", "--platform", p, host+"/app/svc:rebased")
		if files["etc/base"] != "new\n" || files["app/hello"] != "hi\n" || files["etc/fix"] != strings.TrimPrefix(p, "linux/")+"\n" {
			t.Errorf("%s exported after rebase: %v", p, files)
		}
	}
	// Again, onto the same base, found by the annotations: nothing changes.
	before := mustRun(t, "digest", "--insecure", host+"/app/svc:rebased")
	mustRun(t, "rebase", "--insecure", host+"/app/svc:rebased", "--new-base", host+"/base/new:multi")
	if after := mustRun(t, "digest", "--insecure", host+"/app/svc:rebased"); after != before {
		t.Errorf("rebasing onto the base it is on changed the digest: %s → %s", before, after)
	}
	failWith(t, "not built on that base", "rebase", "--insecure", host+"/app/svc:1", "--old-base", host+"/base/old:1", "--new-base", host+"/base/new:1")
	crane := distribution.RequireTool(t, "crane")
	for _, ref := range []string{host + "/app/svc:1", host + "/app/svc:rebased"} {
		runTool(t, crane, "validate", "--insecure", "--remote", ref)
	}
}

func TestRebaseBadInput(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	seedBases(t, srv.Host, amd64, "1")
	h := srv.Host
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"rebase", h + "/app/svc:1"}, exitUsage, "--new-base"},
		{[]string{"rebase", "--new-base", h + "/base/new:1"}, exitUsage, "want one IMG"},
		{[]string{"rebase", h + "/app/svc@sha256:" + strings.Repeat("a", 64), "--new-base", h + "/base/new:1"}, exitUsage, "name the result with -t"},
		{[]string{"rebase", h + "/app/svc:1", "--new-base", h + "/base/new:1"}, exitError, "name the old base"},
		{[]string{"rebase", h + "/app/svc:1", "--old-base", h + "/base/none:1", "--new-base", h + "/base/new:1"}, exitError, "manifest unknown"},
	} {
		code, stdout, stderr := runSkiff(t, t.Context(), "", tt.args...)
		lines := 1
		if tt.code == exitUsage {
			lines = 2
		}
		if code != tt.code || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != lines || stdout != "" {
			t.Errorf("skiff %s: exit %d, stderr %q; want exit %d and %d line(s) mentioning %q", strings.Join(tt.args, " "), code, stderr, tt.code, lines, tt.want)
		}
	}
	if out := mustRun(t, "rebase", "--help"); !slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool { return strings.HasPrefix(l, "usage: skiff rebase") }) {
		t.Errorf("rebase --help: %q", out)
	}
}
