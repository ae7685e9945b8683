package images_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/tarball"
)

// exampleHost is an in-process registry holding example/app:1.0 (two
// layers) and example/multi:1.0 (an index of linux/amd64 and
// linux/arm64), for the examples to run against; exampleReg counts what
// it serves.
var (
	exampleHost string
	exampleReg  *registrytest.Registry
	exampleDir  string // a directory to add as a layer
	exampleOut  string // where examples write
)

func TestMain(m *testing.M) {
	exampleReg = registrytest.New(nil)
	srv := httptest.NewServer(exampleReg)
	exampleHost = strings.TrimPrefix(srv.URL, "http://")
	if err := seedExamples(context.Background()); err != nil {
		log.Fatal(err)
	}
	code := m.Run()
	srv.Close()
	os.RemoveAll(exampleDir)
	os.RemoveAll(exampleOut)
	os.Exit(code)
}

func seedExamples(ctx context.Context) error {
	client := &registry.Client{}
	var imgs []*testimage.Image
	for i, arch := range []string{"amd64", "arm64"} {
		im, err := testimage.New(testimage.Options{LayerSizes: []int{4096, 512}, Seed: uint64(42 + i),
			Platform: manifest.Platform{OS: "linux", Architecture: arch}, Env: []string{"PATH=/bin"}})
		if err != nil {
			return err
		}
		imgs = append(imgs, im)
	}
	app, _ := reference.Parse(exampleHost + "/example/app:1.0")
	if err := testimage.Push(ctx, client.Repository(app), imgs[0], "1.0"); err != nil {
		return err
	}
	docker, err := testimage.New(testimage.Options{LayerSizes: []int{100}, Seed: 7, Docker: true})
	if err != nil {
		return err
	}
	dockerRef, _ := reference.Parse(exampleHost + "/example/docker:1.0")
	if err := testimage.Push(ctx, client.Repository(dockerRef), docker, "1.0"); err != nil {
		return err
	}
	multi, _ := reference.Parse(exampleHost + "/example/multi:1.0")
	repo := client.Repository(multi)
	for _, im := range imgs {
		if err := testimage.Push(ctx, repo, im, ""); err != nil {
			return err
		}
	}
	idx, err := testimage.Index(false, imgs...)
	if err != nil {
		return err
	}
	if err := testimage.PushDocument(ctx, repo, idx, "1.0"); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "skiff-example-")
	if err != nil {
		return err
	}
	exampleDir = dir
	if exampleOut, err = os.MkdirTemp("", "skiff-example-out-"); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello\n"), 0o644)
}

// python-docker's workflow: open a remote image, remove its last layer,
// add a directory and files from memory, set an environment variable,
// save it as a docker tarball and push it to another repository. The push
// mounts the base's layers: none is downloaded for it.
func Example() {
	ctx := context.Background()
	opts := &images.Options{Client: &registry.Client{Keychain: auth.FromEnvironment()}}
	img, err := images.Open(ctx, exampleHost+"/example/app:1.0", opts) // manifest and config only
	if err != nil {
		log.Fatal(err)
	}
	if img, err = img.RemoveLayer(-1); err != nil {
		log.Fatal(err)
	}
	dirLayer, err := tarball.LayerFromDir(ctx, exampleDir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer dirLayer.Remove()
	files, err := tarball.LayerFromFiles(map[string]tarball.File{"etc/app.conf": {Data: []byte("debug=1\n")}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer files.Remove()
	if img, err = img.AppendLayer(dirLayer, manifest.History{CreatedBy: "COPY build /"}); err != nil {
		log.Fatal(err)
	}
	if img, err = img.AppendLayer(files, manifest.History{CreatedBy: "add app.conf"}); err != nil {
		log.Fatal(err)
	}
	img = img.EditConfig(images.ConfigChanges{Env: []string{"DEBUG=1"}})

	if _, err := images.Write(ctx, img, "docker-archive:"+filepath.Join(exampleOut, "app.tar")+":example/app:debug", opts); err != nil {
		log.Fatal(err)
	}
	exampleReg.Log.Reset()
	desc, err := images.Write(ctx, img, exampleHost+"/team/app:debug", opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(img.Layers()), "layers;", img.Config().Config.Env)
	fmt.Println("pushed", len(desc.Digest) > 0, "; base layers downloaded:", blobGETs())
	// Output:
	// 3 layers; [PATH=/bin DEBUG=1]
	// pushed true ; base layers downloaded: 0
}

// blobGETs counts the blob downloads the example registry served since
// its log was reset.
func blobGETs() int {
	return exampleReg.Log.Count(func(r registrytest.Request) bool {
		return r.Method == "GET" && strings.Contains(r.Path, "/blobs/")
	})
}

// appendlayer's workflow: a tar from standard input becomes a new layer
// on top of a remote image, under a new tag, with the credentials of the
// environment (docker's config.json, ACCESS_TOKEN, ...). Only the base's
// manifest and config are read: no layer is downloaded or uploaded but
// the new one.
func Example_appendLayer() {
	ctx := context.Background()
	stdin := exampleTar() // os.Stdin in a command
	opts := &images.Options{Client: &registry.Client{Keychain: auth.FromEnvironment()}}
	exampleReg.Log.Reset()
	img, err := images.Open(ctx, exampleHost+"/example/app:1.0", opts)
	if err != nil {
		log.Fatal(err)
	}
	layer, err := tarball.LayerFromTar(ctx, stdin, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer layer.Remove()
	if img, err = img.AppendLayer(layer, manifest.History{CreatedBy: "skiff append"}); err != nil {
		log.Fatal(err)
	}
	if _, err := images.Write(ctx, img, exampleHost+"/example/app:1.0-appended", opts); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(img.Layers()), "layers; blobs downloaded:", blobGETs(), "(the config); requests:", exampleReg.Log.Count(nil))
	// Output: 3 layers; blobs downloaded: 1 (the config); requests: 5
}

// exampleTar is a small tar stream, as "tar c files" would write it.
func exampleTar() *bytes.Buffer {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "app/hello", Mode: 0o755, Size: 6, Typeflag: tar.TypeReg})
	tw.Write([]byte("hello\n"))
	tw.Close()
	return &buf
}

// dockersave's workflow: one platform of a multi-platform image, saved as
// a docker tarball.
func Example_onePlatformToTarball() {
	ctx := context.Background()
	arm64 := &images.Options{Platforms: []manifest.Platform{{OS: "linux", Architecture: "arm64"}}}
	path := filepath.Join(exampleOut, "multi-arm64.tar")
	if _, err := images.Copy(ctx, exampleHost+"/example/multi:1.0", "docker-archive:"+path, arm64); err != nil {
		log.Fatal(err)
	}
	img, err := images.Open(ctx, "docker-archive:"+path, nil) // the only image there
	if err != nil {
		log.Fatal(err)
	}
	defer img.Close()
	fmt.Println(img.Platform(), len(img.Layers()), "layers")
	// Output: linux/arm64 2 layers
}

// Replace one platform of an index with an edited image and write the
// index back: the other platform is untouched.
func ExampleIndex_Replace() {
	ctx := context.Background()
	ix, err := images.OpenIndex(ctx, exampleHost+"/example/multi:1.0", nil)
	if err != nil {
		log.Fatal(err)
	}
	arm64 := manifest.Platform{OS: "linux", Architecture: "arm64"}
	img, err := ix.Image(ctx, arm64)
	if err != nil {
		log.Fatal(err)
	}
	if ix, err = ix.Replace(arm64, img.EditConfig(images.ConfigChanges{Env: []string{"ARM=1"}})); err != nil {
		log.Fatal(err)
	}
	if _, err := images.WriteIndex(ctx, ix, exampleHost+"/example/multi:1.0-arm-edited", nil); err != nil {
		log.Fatal(err)
	}
	before, _ := images.OpenIndex(ctx, exampleHost+"/example/multi:1.0", nil)
	for i, d := range ix.Manifests() {
		fmt.Println(d.Platform, d.Digest == before.Manifests()[i].Digest)
	}
	// Output:
	// linux/amd64 true
	// linux/arm64 false
}

// Errors keep their cause: errors.Is tells a missing image from other
// failures.
func ExampleOpen_errors() {
	_, err := images.Open(context.Background(), exampleHost+"/example/app:no-such-tag", nil)
	fmt.Println(errors.Is(err, registry.ErrNotFound), errors.Is(err, manifest.ErrNotFound), errors.Is(err, registry.ErrUnauthorized))
	// Output: true true false
}

// go-containerregistry's tarball workflow: two images with several tags
// in one tarball, its size known before writing, progress reported, a
// non-distributable (foreign) layer, and one image read back by tag.
func Example_tarballOfTwoImages() {
	ctx := context.Background()
	app, err := images.Open(ctx, exampleHost+"/example/app:1.0", nil)
	if err != nil {
		log.Fatal(err)
	}
	base, err := tarball.LayerFromFiles(map[string]tarball.File{"Windows/base": {Data: []byte("os")}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer base.Remove()
	withForeign, err := app.AppendLayer(foreignLayer{base, "https://example.com/base.tar.gz"}, manifest.History{})
	if err != nil {
		log.Fatal(err)
	}
	imgs := []tarball.Entry{
		{Tags: []string{"example/app:1.0", "example/app:latest"}, Source: app},
		{Tags: []string{"example/app:2", "example/app:foreign"}, Source: withForeign},
	}
	size, _ := tarball.CalculateSize(imgs, nil)
	var moved atomic.Int64
	progress := func(e manifest.Event) { // from every blob at once
		if e.State == manifest.StateDone {
			moved.Add(e.Bytes)
		}
	}
	path := filepath.Join(exampleOut, "two.tar")
	if err := tarball.WriteFile(ctx, path, imgs, &tarball.WriteOptions{Progress: progress}); err != nil {
		log.Fatal(err)
	}
	r, err := tarball.OpenFile(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	back, err := images.OpenFrom(ctx, r, "example/app:foreign", nil)
	if err != nil {
		log.Fatal(err)
	}
	fi, _ := os.Stat(path)
	fmt.Println("size known:", fi.Size() == size, "; images:", len(r.Images()), "; layers of :foreign:", len(back.Layers()))
	fmt.Println("foreign:", manifest.IsForeign(back.Layers()[2].MediaType), back.Layers()[2].URLs, "; progress saw bytes:", moved.Load() > 0)
	// Output:
	// size known: true ; images: 2 ; layers of :foreign: 3
	// foreign: true [https://example.com/base.tar.gz] ; progress saw bytes: true
}

// foreignLayer marks a layer non-distributable, as Windows base layers
// are: registries leave it at its URLs.
type foreignLayer struct {
	*tarball.Layer
	url string
}

func (f foreignLayer) Describe() (manifest.Descriptor, manifest.Digest) {
	d, diffID := f.Layer.Describe()
	d.MediaType, d.URLs = manifest.MediaTypeOCIForeignLayer, []string{f.url}
	return d, diffID
}
