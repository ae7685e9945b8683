//go:build unix

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/internal/traptest"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

// What a name skiff writes by is, for the traps planted under it.
const (
	invented  = iota // a partial, state or temporary name: the trap is removed and reported
	blobFinal        // a layout blob's final name: a trap that is not the user's own file, or another user's holding the blob, is removed and reported
	userFinal        // the output the user named: the rename replaces the trap, a directory is refused
)

// trapTarget is one name a trap is planted under, relative to the
// scene's output directory.
type trapTarget struct {
	rel  string
	kind int
}

// trapCase is a command that writes into the scene's output directory,
// the names it writes by there, and how to tell that it wrote its output.
type trapCase struct {
	name    string
	args    func(host, out string, im *testimage.Image) []string
	out     string                                              // the output, in the output directory
	targets func(im *testimage.Image) []trapTarget              // where to plant
	prepare func(t *testing.T, out string)                      // before planting: a layout to write into
	check   func(t *testing.T, out string, im *testimage.Image) // the output is the image
}

func layerHex(im *testimage.Image) string { return im.Manifest.Manifest.Layers[0].Digest.Hex() }

func tarballTargets(name string) func(*testimage.Image) []trapTarget {
	return func(*testimage.Image) []trapTarget {
		return []trapTarget{{"." + name + ".skiff-partial", invented}, {"." + name + ".skiff-state", invented}, {name, userFinal}}
	}
}

func layoutTargets(im *testimage.Image) []trapTarget {
	blobs := "lay/blobs/sha256/"
	return []trapTarget{
		{blobs + "." + layerHex(im) + ".skiff-partial", invented},
		{blobs + "." + layerHex(im) + ".skiff-state", invented},
		{blobs + layerHex(im), blobFinal},
	}
}

func createLayout(t *testing.T, out string) {
	if _, err := layout.Create(out); err != nil {
		t.Fatal(err)
	}
}

func checkTarball(t *testing.T, out string, im *testimage.Image) {
	t.Helper()
	r, err := tarball.OpenFile(out, nil)
	if err != nil {
		t.Fatalf("the output is not a tarball: %v", err)
	}
	defer r.Close()
	checkHasLayer(t, r, im)
}

func checkLayout(t *testing.T, out string, im *testimage.Image) {
	t.Helper()
	l, err := layout.Open(out)
	if err != nil {
		t.Fatalf("the output is not a layout: %v", err)
	}
	checkHasLayer(t, l, im)
	traptest.Owned(t, filepath.Join(out, "blobs", "sha256", layerHex(im)), false)
}

// checkHasLayer reads the image's first layer from store, verified.
func checkHasLayer(t *testing.T, store manifest.Fetcher, im *testimage.Image) {
	t.Helper()
	desc := im.Manifest.Manifest.Layers[0]
	rc, err := store.Fetch(t.Context(), desc)
	if err == nil {
		_, err = manifest.ReadLimited(manifest.VerifyReadCloser(rc, desc), desc.Size, "layer")
		rc.Close()
	}
	if err != nil {
		t.Fatalf("the output's layer: %v", err)
	}
}

var trapCases = []trapCase{
	{
		name: "pull to a tarball", out: "app.tar", targets: tarballTargets("app.tar"), check: checkTarball,
		args: func(h, o string, _ *testimage.Image) []string { return []string{"pull", h + "/demo/app:1", o} },
	},
	{
		name: "pull --format oci-archive", out: "app.tar", targets: tarballTargets("app.tar"), check: checkTarball,
		args: func(h, o string, _ *testimage.Image) []string {
			return []string{"pull", "--format", "oci-archive", h + "/demo/app:1", o}
		},
	},
	{
		name: "pull --no-tar", out: "app", check: checkLayout,
		args: func(h, o string, _ *testimage.Image) []string {
			return []string{"pull", "--no-tar", h + "/demo/app:1", o}
		},
		targets: func(*testimage.Image) []trapTarget {
			return []trapTarget{{".app.skiff-partial", invented}, {".app.skiff-state", invented}}
		},
	},
	{
		name: "pull --format oci", out: "lay", targets: layoutTargets, prepare: createLayout, check: checkLayout,
		args: func(h, o string, _ *testimage.Image) []string {
			return []string{"pull", "--format", "oci", h + "/demo/app:1", o}
		},
	},
	{
		name: "copy to oci:", out: "lay", targets: layoutTargets, prepare: createLayout, check: checkLayout,
		args: func(h, o string, _ *testimage.Image) []string {
			return []string{"copy", h + "/demo/app:1", "oci:" + o + ":v1"}
		},
	},
	{
		name: "copy --referrers to an oci-archive", out: "app.tar", check: checkTarball,
		args: func(h, o string, _ *testimage.Image) []string {
			return []string{"copy", "--referrers", h + "/demo/app:1", "oci-archive:" + o + ":1"}
		},
		targets: func(*testimage.Image) []trapTarget {
			return []trapTarget{{".app.tar.layout.skiff-partial", invented}, {".app.tar.layout.skiff-state", invented}, {"app.tar", userFinal}}
		},
	},
	{
		name: "export to a file", out: "fs.tar",
		args:    func(h, o string, _ *testimage.Image) []string { return []string{"export", h + "/demo/app:1", o} },
		targets: func(*testimage.Image) []trapTarget { return []trapTarget{{"fs.tar", userFinal}} },
		check: func(t *testing.T, out string, im *testimage.Image) {
			if fi, err := os.Stat(out); err != nil || fi.Size() < 1024 {
				t.Fatalf("the export: %v %v", fi, err)
			}
		},
	},
	{
		name: "blob to a file", out: "layer",
		args: func(h, o string, im *testimage.Image) []string {
			return []string{"blob", h + "/demo/app@" + string(im.Manifest.Manifest.Layers[0].Digest), o}
		},
		targets: func(*testimage.Image) []trapTarget { return []trapTarget{{"layer", userFinal}} },
		check: func(t *testing.T, out string, im *testimage.Image) {
			if b, _ := os.ReadFile(out); !bytes.Equal(b, im.Layers[0]) {
				t.Fatalf("the blob's file holds %d bytes, not the blob", len(b))
			}
		},
	},
}

// TestTrapsAtInventedNames plants each trap at every name each kind of
// output is written by, in a directory anyone may write, and runs the
// command as root: the victim is byte-identical afterwards, nothing
// appears beside the output, the output is a regular file or directory
// the user running skiff owns, a trap under an invented name is removed
// and reported in one line on stderr, and the transfer completes.
func TestTrapsAtInventedNames(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	im := seedImage(t, srv, "demo/app:1", 1500<<10, 300<<10)
	for _, tc := range trapCases {
		for _, target := range tc.targets(im) {
			for _, tr := range traptest.Traps {
				t.Run(tc.name+"/"+target.rel+"/"+tr.Name, func(t *testing.T) {
					scene := traptest.NewScene(t)
					out := filepath.Join(scene.Out, tc.out)
					if tc.prepare != nil {
						tc.prepare(t, out)
					}
					at := filepath.Join(scene.Out, target.rel)
					scene.Plant(t, tr, at)
					code, _, stderr := runSkiff(t, t.Context(), "", append(tc.args(srv.Host, out, im), "--quiet")...)
					scene.Check(t)
					expectTrapOutcome(t, target, tr, at, code, stderr)
					if code == exitOK {
						tc.check(t, out, im)
					}
				})
			}
		}
	}
}

// expectTrapOutcome checks the exit code and what was reported for a trap
// of tr planted at the path at, a name of the kind target says.
func expectTrapOutcome(t *testing.T, target trapTarget, tr traptest.Trap, at string, code int, stderr string) {
	t.Helper()
	reported := target.kind == invented || target.kind == blobFinal
	switch {
	case target.kind == userFinal && tr.Name == "directory":
		if code != exitError || !strings.Contains(stderr, at) {
			t.Fatalf("a directory at the output: exit %d, %q; want an error naming it", code, stderr)
		}
		return
	case code != exitOK:
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var reports []string
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if strings.HasPrefix(line, "skiff: removed ") {
			reports = append(reports, line)
		}
	}
	if !reported && len(reports) != 0 {
		t.Errorf("reports for a trap at %s: %q", at, reports)
	}
	if reported && (len(reports) != 1 || !strings.Contains(reports[0], at+":")) {
		t.Errorf("want one line reporting %s, got %q", at, stderr)
	}
	if _, err := os.Lstat(at); err == nil { // an output; partial files are gone
		traptest.Owned(t, at, false)
	}
}

// TestTrapsInUploadState plants each trap at the name push keeps an
// upload's state under, in $XDG_CACHE_HOME/skiff/uploads: the trap is
// removed and reported, the victim untouched, and the push completes.
func TestTrapsInUploadState(t *testing.T) {
	src := registrytest.NewServer(t, nil)
	im := seedImage(t, src, "demo/app:1", 1500<<10, 300<<10)
	layer := im.Manifest.Manifest.Layers[0]
	lay := filepath.Join(t.TempDir(), "lay")
	mustRun(t, "pull", "--quiet", "--format", "oci", src.Host+"/demo/app:1", lay)
	for _, tr := range traptest.Traps {
		t.Run(tr.Name, func(t *testing.T) {
			dst := registrytest.NewServer(t, nil) // holds no blob yet
			sum := sha256.Sum256([]byte(dst.Host + "/demo/pushed@" + string(layer.Digest)))
			scene := traptest.NewScene(t)
			cache := filepath.Join(scene.Out, "cache")
			uploads := filepath.Join(cache, "skiff", "uploads")
			if err := os.MkdirAll(uploads, 0o700); err != nil {
				t.Fatal(err)
			}
			at := filepath.Join(uploads, hex.EncodeToString(sum[:16])+".upload")
			scene.Plant(t, tr, at)
			code, _, stderr := runSkiffEnv(t, map[string]string{"XDG_CACHE_HOME": cache},
				"push", "--quiet", lay, dst.Host+"/demo/pushed:1")
			scene.Check(t)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if strings.Count(stderr, "skiff: removed ") != 1 || !strings.Contains(stderr, at+":") {
				t.Errorf("want one line reporting %s, got %q", at, stderr)
			}
			if _, err := os.Lstat(at); err == nil {
				t.Errorf("the upload's state is left after it completed")
			}
			if code, _, stderr := runSkiff(t, t.Context(), "", "digest", dst.Host+"/demo/pushed:1"); code != exitOK || strings.TrimSpace(stderr) != "" {
				t.Fatalf("the pushed image: exit %d %s", code, stderr)
			}
		})
	}
}

// TestUploadStateDirRefused: a skiff or skiff/uploads directory under
// $XDG_CACHE_HOME that is a link, writable by others or another user's is
// refused with an error naming it, and nothing is written in it; with
// --no-resume the push needs no state and goes ahead.
func TestUploadStateDirRefused(t *testing.T) {
	src := registrytest.NewServer(t, nil)
	seedImage(t, src, "demo/app:1", 1500<<10)
	dst := registrytest.NewServer(t, nil)
	plants := map[string]func(t *testing.T, s *traptest.Scene, dir string){
		"a symlink to another directory": func(t *testing.T, s *traptest.Scene, dir string) {
			mustOK(t, os.Symlink(s.Base, dir))
		},
		"a directory others can write": func(t *testing.T, s *traptest.Scene, dir string) {
			mustOK(t, os.Mkdir(dir, 0o777))
			mustOK(t, os.Chmod(dir, 0o777))
		},
		"another user's directory": func(t *testing.T, s *traptest.Scene, dir string) {
			traptest.NeedRoot(t)
			mustOK(t, os.Mkdir(dir, 0o700))
			mustOK(t, os.Chown(dir, traptest.OtherUID, traptest.OtherUID))
		},
	}
	for _, rel := range []string{"skiff", "skiff/uploads"} {
		for what, plant := range plants {
			t.Run(rel+" is "+what, func(t *testing.T) {
				scene := traptest.NewScene(t)
				cache := filepath.Join(scene.Out, "cache")
				dir := filepath.Join(cache, filepath.FromSlash(rel))
				mustOK(t, os.MkdirAll(filepath.Dir(dir), 0o700))
				plant(t, scene, dir)
				env := map[string]string{"XDG_CACHE_HOME": cache}
				args := []string{"copy", "--quiet", src.Host + "/demo/app:1", dst.Host + "/demo/pushed:1"}
				code, _, stderr := runSkiffEnv(t, env, args...)
				if code != exitError || !strings.Contains(stderr, "refusing to keep state in "+dir) {
					t.Fatalf("exit %d, %q; want an error naming %s", code, stderr, dir)
				}
				scene.Check(t)
				if code, _, stderr := runSkiffEnv(t, env, append(args, "--no-resume")...); code != exitOK {
					t.Fatalf("with --no-resume: exit %d %s", code, stderr)
				}
			})
		}
	}
}

// runSkiffEnv is runSkiff with the environment variables vars.
func runSkiffEnv(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }}
	code := e.run(t.Context(), args)
	return code, stdout.String(), stderr.String()
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
