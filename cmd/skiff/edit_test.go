package main

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

// seedImage pushes a generated image to srv as name:tag.
func seedImage(t *testing.T, srv *registrytest.Server, name string, sizes ...int) *testimage.Image {
	t.Helper()
	im, err := testimage.New(testimage.Options{LayerSizes: sizes, Seed: 3, Docker: true})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := reference.Parse(srv.Host + "/" + name)
	if err := testimage.Push(t.Context(), (&registry.Client{}).Repository(ref), im, ref.Tag); err != nil {
		t.Fatal(err)
	}
	srv.Log.Reset()
	return im
}

// tarOf returns a tar holding one file of n random bytes.
func tarOf(t *testing.T, n int) []byte {
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(rand.Uint32())
	}
	return testtool.Tar(t, testtool.Entry{Name: "app/data", Data: string(data)})
}

// fetchImage reads back name's manifest and config from srv.
func fetchImage(t *testing.T, srv *registrytest.Server, name string) (*manifest.Document, *manifest.Config) {
	t.Helper()
	ref, _ := reference.Parse(srv.Host + "/" + name)
	repo := (&registry.Client{}).Repository(ref)
	doc, err := repo.FetchManifest(t.Context(), ref.Identifier())
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := manifest.FetchConfig(t.Context(), repo, doc.Manifest.Config)
	if err != nil {
		t.Fatal(err)
	}
	return doc, cfg
}

func runWithStdin(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{stdin: bytes.NewReader(stdin), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	if code := e.run(t.Context(), args); code != exitOK {
		t.Fatalf("skiff %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

func TestAppendSameRepositorySendsOnlyNewContent(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	seedImage(t, srv, "app/web:1", 2<<20, 3<<20)
	layerTar := tarOf(t, 1<<20)
	digest := runWithStdin(t, layerTar, "append", "--quiet", srv.Host+"/app/web:1")
	reqs := srv.Log.Requests()
	var in int64
	for _, r := range reqs {
		in += r.BytesIn
		if r.Method == "GET" && r.BytesOut > 64<<10 {
			t.Fatalf("a base layer was downloaded: %s", r.Path)
		}
	}
	doc, cfg := fetchImage(t, srv, "app/web:1")
	newLayer := doc.Manifest.Layers[2]
	// Two upload sessions open while the base is read, then the layer and
	// the config go up in one PUT each: 7 requests in 4 round trips (on a
	// registry without single-POST uploads, such as distribution, 6).
	if len(reqs) > 7 || in > newLayer.Size+4<<10 {
		t.Fatalf("%d requests, %d bytes sent; want at most 7 and the layer's %d + 4 KiB", len(reqs), in, newLayer.Size)
	}
	for _, r := range reqs[:3] {
		if r.Method == "PUT" {
			t.Fatalf("a PUT before the base was read and the sessions opened: %v", reqs)
		}
	}
	if string(doc.Digest) != digest || len(doc.Manifest.Layers) != 3 || newLayer.MediaType != manifest.MediaTypeDockerLayer {
		t.Fatalf("result %s: %d layers, type %s", digest, len(doc.Manifest.Layers), newLayer.MediaType)
	}
	if cfg.RootFS.DiffIDs[2] != manifest.FromBytes(layerTar) || cfg.History[len(cfg.History)-1].CreatedBy != "skiff append" {
		t.Fatal("config does not record the new layer")
	}
}

func TestAppendGzipPassedThrough(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	seedImage(t, srv, "app/web:1", 1000)
	layerTar := tarOf(t, 5000)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(layerTar)
	zw.Close()
	file := filepath.Join(t.TempDir(), "layer.tar.gz")
	os.WriteFile(file, gz.Bytes(), 0o644)
	runWithStdin(t, nil, "append", "--quiet", "-f", file, srv.Host+"/app/web:1", srv.Host+"/app/web:2")
	doc, cfg := fetchImage(t, srv, "app/web:2")
	if doc.Manifest.Layers[1].Digest != manifest.FromBytes(gz.Bytes()) || cfg.RootFS.DiffIDs[1] != manifest.FromBytes(layerTar) {
		t.Fatal("the gzip stream was not sent as given, or its diffID is wrong")
	}
}

func TestAppendOtherRepositoryMounts(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	seedImage(t, srv, "base/os:1", 2<<20, 1<<20)
	runWithStdin(t, tarOf(t, 1000), "append", "--quiet", srv.Host+"/base/os:1", srv.Host+"/team/app:1")
	if n := srv.Log.Count(func(r registrytest.Request) bool {
		return r.Method == "GET" && strings.Contains(r.Path, "/blobs/") && r.BytesOut > 1<<20
	}); n != 0 {
		t.Fatalf("%d base layers downloaded for a same-registry append", n)
	}
	if n := srv.Log.Count(func(r registrytest.Request) bool { return strings.Contains(r.RawQuery, "mount=") }); n != 2 {
		t.Fatalf("%d mounts, want 2", n)
	}
	if doc, _ := fetchImage(t, srv, "team/app:1"); len(doc.Manifest.Layers) != 3 {
		t.Fatal("result is wrong")
	}
}

func TestAppendAcrossHostsStreams(t *testing.T) {
	src := registrytest.NewServer(t, nil)
	dst := registrytest.NewServer(t, nil)
	seedImage(t, src, "base/os:1", 4<<20)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	var mu sync.Mutex
	var biggest int64
	onDisk := func(r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		var total int64
		filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
			if info, err := d.Info(); err == nil && !d.IsDir() {
				total += info.Size()
			}
			return nil
		})
		biggest = max(biggest, total)
		return false
	}
	// Sampled as the base layer leaves the source and as it arrives at the
	// destination: a copy through a file would have it all on disk by then.
	src.Faults.Add(registrytest.Fault{Match: onDisk})
	dst.Faults.Add(registrytest.Fault{Match: onDisk})
	runWithStdin(t, tarOf(t, 1000), "append", "--quiet", src.Host+"/base/os:1", dst.Host+"/app/x:1")
	mu.Lock()
	peak := biggest
	mu.Unlock()
	if peak > 64<<10 {
		t.Fatalf("%d bytes on disk while the base layer streamed: it went through a file", peak)
	}
	if doc, _ := fetchImage(t, dst, "app/x:1"); len(doc.Manifest.Layers) != 2 {
		t.Fatal("result is wrong")
	}
}

func TestMutate(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	base := seedImage(t, srv, "app/web:1", 1<<20)
	runWithStdin(t, nil, "mutate", "--quiet", "--env", "LOG=debug", "--label", "team=infra", "--entrypoint", `["/app","--serve"]`,
		"--cmd", "", "--user", "1000:1000", "--workdir", "/srv", "--expose", "8080", "-t", srv.Host+"/app/web:debug", srv.Host+"/app/web:1")
	if n := srv.Log.Count(func(r registrytest.Request) bool { return r.BytesIn > 64<<10 }); n != 0 {
		t.Fatal("a layer was uploaded by mutate")
	}
	doc, cfg := fetchImage(t, srv, "app/web:debug")
	rc := cfg.Config
	if doc.Manifest.Layers[0].Digest != base.Manifest.Manifest.Layers[0].Digest || !slices.Contains(rc.Env, "LOG=debug") ||
		rc.Labels["team"] != "infra" || !slices.Equal(rc.Entrypoint, []string{"/app", "--serve"}) || len(rc.Cmd) != 0 ||
		rc.User != "1000:1000" || rc.WorkingDir != "/srv" {
		t.Fatalf("mutated config: %+v", rc)
	}
	if _, ok := rc.ExposedPorts["8080/tcp"]; !ok {
		t.Fatal("port not exposed")
	}
	if orig, _ := fetchImage(t, srv, "app/web:1"); orig.Digest != base.Manifest.Digest {
		t.Fatal("the source tag changed although -t named another")
	}
}

func TestEditUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"append"}, {"append", "a", "b", "c"}, {"mutate"}, {"mutate", "--label", "novalue", "x"},
		{"mutate", "--entrypoint", "[not json", "x"}, {"mutate", "alpine@sha256:" + strings.Repeat("a", 64)},
	} {
		if code, _, stderr := runSkiff(t, t.Context(), "", args...); code != exitUsage {
			t.Errorf("skiff %q: exit %d (%s), want usage", args, code, stderr)
		}
	}
}

func TestAppendToScratch(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	layerTar := tarOf(t, 3000)
	runWithStdin(t, layerTar, "append", "--quiet", "--platform", "linux/arm64", "--base", "scratch", srv.Host+"/new/img:1")
	doc, cfg := fetchImage(t, srv, "new/img:1")
	if len(doc.Manifest.Layers) != 1 || cfg.Architecture != "arm64" || cfg.RootFS.DiffIDs[0] != manifest.FromBytes(layerTar) ||
		doc.MediaType != manifest.MediaTypeOCIManifest || doc.Manifest.Layers[0].MediaType != manifest.MediaTypeOCILayerGzip {
		t.Fatalf("image from scratch: %s", doc.Raw)
	}
	if code, _, stderr := runSkiff(t, t.Context(), "", "append", "scratch"); code != exitUsage {
		t.Fatalf("append scratch alone: exit %d %s", code, stderr)
	}
}
