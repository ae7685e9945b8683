package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/distribution"
	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testtool"
)

// TestArtifactOras hands artifacts between skiff and oras (v1.3), on a
// registry with the referrers API and on two without it (the test
// registry so configured, and distribution 2.8): what one pushes or
// attaches, the other pulls or discovers, byte for byte.
func TestArtifactOras(t *testing.T) {
	oras := testtool.Need(t, "oras")
	t.Run("referrers-api", func(t *testing.T) { artifactOras(t, oras, registrytest.NewServer(t, nil).Host) })
	t.Run("tag-schema", func(t *testing.T) {
		artifactOras(t, oras, registrytest.NewServer(t, &registrytest.Options{NoReferrers: true}).Host)
	})
	t.Run("distribution-2.8", func(t *testing.T) {
		artifactOras(t, oras, distribution.Start(t, &distribution.Options{Version: distribution.V2}).Host)
	})
}

func artifactOras(t *testing.T, oras, host string) {
	src := artifactFiles(t)
	os.Symlink("app.toml", "conf/link")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(oras, append(args[:1:1], append([]string{"--plain-http"}, args[1:]...)...)...)
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("oras %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	same := func(dir string) {
		t.Helper()
		for _, name := range []string{"a.txt", "conf/app.toml", "conf/sub/deep", "conf/link"} {
			want, _ := os.Readlink(filepath.Join(src, name))
			got, _ := os.Readlink(filepath.Join(dir, name))
			if want == "" {
				w, _ := os.ReadFile(filepath.Join(src, name))
				g, err := os.ReadFile(filepath.Join(dir, name))
				want, got = string(w), string(g)
				if err != nil {
					got = err.Error()
				}
			}
			if got != want {
				t.Errorf("%s/%s: %q, want %q", dir, name, got, want)
			}
		}
	}

	// skiff pushes, oras pulls.
	ref := host + "/interop/skiff:1"
	mustRun(t, "artifact", "push", "--artifact-type", "application/vnd.test", ref, "a.txt", "conf")
	out := t.TempDir()
	run("pull", "-o", out, ref)
	same(out)

	// oras pushes, skiff pulls.
	oref := host + "/interop/oras:1"
	run("push", "--artifact-type", "application/vnd.test", oref, "a.txt", "conf")
	out = t.TempDir()
	mustRun(t, "artifact", "pull", oref, out)
	same(out)

	// oras attaches, skiff finds it; skiff attaches, oras discovers it.
	os.WriteFile("sbom.json", []byte(`{"spdx":"oras"}`), 0o644)
	run("attach", "--artifact-type", "application/spdx+json", ref, "sbom.json")
	out = t.TempDir()
	mustRun(t, "artifact", "pull", "--referrer-of", ref, "--artifact-type", "application/spdx+json", out)
	if b, _ := os.ReadFile(filepath.Join(out, "sbom.json")); string(b) != `{"spdx":"oras"}` {
		t.Errorf("--referrer-of pulled sbom.json %q, want what oras attached", b)
	}
	sig := strings.TrimSpace(mustRun(t, "artifact", "push", "--artifact-type", "application/vnd.example.sig", "--subject", ref, host+"/interop/skiff", "a.txt"))
	if got := run("discover", "--format", "json", ref); !strings.Contains(got, sig) || !strings.Contains(got, "application/spdx+json") {
		t.Errorf("oras discover does not list skiff's referrer %s beside oras' SBOM:\n%s", sig, got)
	}
	if got := mustRun(t, "referrers", "--tree", ref); !strings.Contains(got, sig) || !strings.Contains(got, "application/spdx+json") {
		t.Errorf("skiff referrers --tree:\n%s", got)
	}
}
