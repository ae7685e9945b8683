package layout_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

// Interop tests hand layouts to skopeo and umoci, and read theirs. They skip
// when a tool is missing, unless SKIFF_INTEGRATION=1 asks for them to run.

func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("SKIFF_INTEGRATION") == "1" {
		t.Fatalf("%s is not on PATH, and SKIFF_INTEGRATION=1 requires the interop tests", name)
	}
	t.Skipf("%s is not on PATH; install it to run this interop test (SKIFF_INTEGRATION=1 turns this skip into a failure)", name)
	return ""
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s %q: %v\n%s", name, args, err, stderr)
	}
	return out
}

// interopLayout writes a layout with a gzip'd image tagged "v1", a second
// architecture, and an index of both tagged "multi".
func interopLayout(t *testing.T) (string, image, blob) {
	l, dir := create(t)
	amd := buildImage(t, "amd64", map[string]string{"hello": "hello from skiff\n"}, true)
	arm := buildImage(t, "arm64", map[string]string{"hello": "hello from arm64\n"}, true)
	pushImage(t, l, amd, "v1")
	push(t, l, arm.blobs()...)
	idx := buildIndex(t, amd, arm)
	push(t, l, idx)
	if err := l.Tag(context.Background(), idx.desc, "multi"); err != nil {
		t.Fatal(err)
	}
	return dir, amd, idx
}

func TestSkopeoInspect(t *testing.T) {
	skopeo := tool(t, "skopeo")
	dir, im, _ := interopLayout(t)
	var got struct {
		Digest       manifest.Digest
		Architecture string
		Os           string
		Layers       []manifest.Digest
	}
	out := run(t, skopeo, "inspect", "oci:"+dir+":v1")
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("skopeo inspect output: %v\n%s", err, out)
	}
	if got.Digest != im.manifest.desc.Digest || got.Architecture != "amd64" || got.Os != "linux" ||
		!slices.Equal(got.Layers, []manifest.Digest{im.layers[0].desc.Digest}) {
		t.Fatalf("skopeo inspect = %+v", got)
	}
}

// TestSkopeoCopy has skopeo copy a layout skiff wrote into a new layout,
// which skiff then reads: both directions at once.
func TestSkopeoCopy(t *testing.T) {
	skopeo := tool(t, "skopeo")
	src, im, idx := interopLayout(t)
	dst := filepath.Join(t.TempDir(), "copy")
	run(t, skopeo, "--insecure-policy", "copy", "oci:"+src+":v1", "oci:"+dst+":v1")
	run(t, skopeo, "--insecure-policy", "copy", "--all", "oci:"+src+":multi", "oci:"+dst+":multi")

	l, err := layout.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for tag, want := range map[string]manifest.Digest{"v1": im.manifest.desc.Digest, "multi": idx.desc.Digest} {
		d, err := l.Resolve(ctx, tag)
		if err != nil {
			t.Fatal(err)
		}
		if d.Digest != want {
			t.Errorf("%s: skopeo's copy has digest %s, want %s", tag, d.Digest, want)
		}
		testtool.CheckGraph(t, l, d)
	}

	// skopeo adds to a layout skiff created; skiff reads the result.
	run(t, skopeo, "--insecure-policy", "copy", "oci:"+dst+":v1", "oci:"+src+":back")
	back, err := layout.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"v1", "multi", "back"} {
		d, err := back.Resolve(ctx, tag)
		if err != nil {
			t.Fatal(err)
		}
		testtool.CheckGraph(t, back, d)
	}
}

func TestUmociUnpack(t *testing.T) {
	umoci := tool(t, "umoci")
	dir, _, _ := interopLayout(t)
	bundle := filepath.Join(t.TempDir(), "bundle")
	run(t, umoci, "unpack", "--rootless", "--image", dir+":v1", bundle)
	got, err := os.ReadFile(filepath.Join(bundle, "rootfs", "hello"))
	if err != nil || string(got) != "hello from skiff\n" {
		t.Fatalf("unpacked /hello = %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(bundle, "config.json")); err != nil {
		t.Fatalf("umoci wrote no runtime config: %v", err)
	}
}
