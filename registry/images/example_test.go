package images_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/registry/images/imagestest"
	"github.com/skiffoci/skiff/registry/server"
	"github.com/skiffoci/skiff/tarball"
)

// exampleHost is a registry started by the test, holding example/app:1.0
// (two layers), example/docker:1.0 (Docker's media types) and
// example/multi:1.0 (an index of linux/amd64 and linux/arm64), for the
// examples to run against; served counts the requests it answers.
var (
	exampleHost string
	served      counts
	exampleDir  string // a directory to add as a layer
	exampleOut  string // where examples write
)

// counts are the requests a registry answered, counted as they arrive:
// before the client has its answer.
type counts struct{ all, blobGETs atomic.Int64 }

func (c *counts) count(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.all.Add(1)
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			c.blobGETs.Add(1)
		}
		h.ServeHTTP(w, r)
	})
}

func (c *counts) reset() { c.all.Store(0); c.blobGETs.Store(0) }

func TestMain(m *testing.M) {
	srv := httptest.NewServer(served.count(server.New(nil)))
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
	var imgs []*images.Image
	for i, arch := range []string{"amd64", "arm64"} {
		im, err := imagestest.Random(4096, 2, &imagestest.Options{Seed: uint64(42 + i),
			Platform: manifest.Platform{OS: "linux", Architecture: arch}})
		if err != nil {
			return err
		}
		imgs = append(imgs, im.EditConfig(images.ConfigChanges{Env: []string{"PATH=/bin"}}))
	}
	docker, err := imagestest.Random(100, 1, &imagestest.Options{Seed: 7, Docker: true})
	if err != nil {
		return err
	}
	index, err := imagestest.Index(imgs...)
	if err != nil {
		return err
	}
	repo := func(name string) *registry.Repository {
		ref, _ := reference.ParseName(exampleHost + "/" + name)
		return client.Repository(ref)
	}
	if _, err := imgs[0].Write(ctx, repo("example/app"), "1.0", nil); err != nil {
		return err
	}
	if _, err := docker.Write(ctx, repo("example/docker"), "1.0", nil); err != nil {
		return err
	}
	if _, err := index.Write(ctx, repo("example/multi"), "1.0", nil); err != nil {
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
	served.reset()
	desc, err := images.Write(ctx, img, exampleHost+"/team/app:debug", opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(img.Layers()), "layers;", img.Config().Config.Env)
	fmt.Println("pushed", len(desc.Digest) > 0, "; base layers downloaded:", served.blobGETs.Load())
	// Output:
	// 3 layers; [PATH=/bin DEBUG=1]
	// pushed true ; base layers downloaded: 0
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
	served.reset()
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
	fmt.Println(len(img.Layers()), "layers; blobs downloaded:", served.blobGETs.Load(), "(the config); requests:", served.all.Load())
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
