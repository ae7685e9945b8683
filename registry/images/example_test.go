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

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/registry/images/imagestest"
	"github.com/skiffoci/skiff/registry/server"
	"github.com/skiffoci/skiff/tarball"
)

// python-docker's workflow: open a remote image, remove its last layer,
// add a directory and files from memory, set an environment variable,
// save it as a docker tarball and push it to another repository. The push
// mounts the base's layers: the registry, which counts the blobs it
// sends, sends none for it.
func Example() {
	ctx := context.Background()
	var blobGETs atomic.Int64 // a registry in memory, counting blob downloads as they arrive
	reg := server.New(nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			blobGETs.Add(1)
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	base, _ := imagestest.Random(1024, 2, nil) // a two-layer image to start from
	if _, err := images.Write(ctx, base, host+"/example/app:1.0", nil); err != nil {
		log.Fatal(err)
	}
	tmp, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	build := filepath.Join(tmp, "build") // the directory to add
	os.Mkdir(build, 0o755)
	os.WriteFile(filepath.Join(build, "hello.txt"), []byte("hello\n"), 0o644)

	opts := &images.Options{Client: &registry.Client{Keychain: auth.FromEnvironment()}}
	img, err := images.Open(ctx, host+"/example/app:1.0", opts) // manifest and config only
	if err != nil {
		log.Fatal(err)
	}
	if img, err = img.RemoveLayer(-1); err != nil {
		log.Fatal(err)
	}
	dirLayer, err := tarball.LayerFromDir(ctx, build, nil)
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

	if _, err := images.Write(ctx, img, "docker-archive:"+filepath.Join(tmp, "app.tar")+":example/app:debug", opts); err != nil {
		log.Fatal(err)
	}
	blobGETs.Store(0) // the tarball needed every blob; the push needs none
	if _, err := images.Write(ctx, img, host+"/team/app:debug", opts); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(img.Layers()), "layers;", img.Config().Config.Env, "; blobs downloaded for the push:", blobGETs.Load())
	// Output: 3 layers; [DEBUG=1] ; blobs downloaded for the push: 0
}

// appendlayer's workflow: a tar from standard input becomes a new layer
// on top of a remote image, under a new tag, with the credentials of the
// environment (docker's config.json, ACCESS_TOKEN, ...). Only the base's
// manifest and config are read: of its blobs, the registry, which counts
// them, sends only the config.
func Example_appendLayer() {
	ctx := context.Background()
	var blobGETs atomic.Int64 // a registry in memory, counting blob downloads as they arrive
	reg := server.New(nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			blobGETs.Add(1)
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	base, _ := imagestest.Random(1024, 2, nil) // a two-layer image to start from
	if _, err := images.Write(ctx, base, host+"/example/app:1.0", nil); err != nil {
		log.Fatal(err)
	}
	var stdin bytes.Buffer // os.Stdin in a command: a tar, as "tar c app" writes it
	tw := tar.NewWriter(&stdin)
	tw.WriteHeader(&tar.Header{Name: "app/hello", Mode: 0o755, Size: 6})
	tw.Write([]byte("hello\n"))
	tw.Close()

	opts := &images.Options{Client: &registry.Client{Keychain: auth.FromEnvironment()}}
	img, err := images.Open(ctx, host+"/example/app:1.0", opts)
	if err != nil {
		log.Fatal(err)
	}
	layer, err := tarball.LayerFromTar(ctx, &stdin, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer layer.Remove()
	if img, err = img.AppendLayer(layer, manifest.History{CreatedBy: "skiff append"}); err != nil {
		log.Fatal(err)
	}
	if _, err := images.Write(ctx, img, host+"/example/app:1.0-appended", opts); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(img.Layers()), "layers; blobs downloaded:", blobGETs.Load(), "(the config)")
	// Output: 3 layers; blobs downloaded: 1 (the config)
}

// dockersave's workflow: one platform of a multi-platform image, saved as
// a docker tarball.
func Example_onePlatformToTarball() {
	ctx := context.Background()
	srv := httptest.NewServer(server.New(nil)) // a registry in memory
	defer srv.Close()
	multi := strings.TrimPrefix(srv.URL, "http://") + "/example/multi:1.0"
	amd, _ := imagestest.Random(1024, 2, nil)
	arm, _ := imagestest.Random(1024, 2, &imagestest.Options{Seed: 1, Platform: manifest.Platform{OS: "linux", Architecture: "arm64"}})
	ix, _ := images.NewIndex(amd, arm)
	if _, err := images.WriteIndex(ctx, ix, multi, nil); err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	arm64 := &images.Options{Platforms: []manifest.Platform{{OS: "linux", Architecture: "arm64"}}}
	path := filepath.Join(dir, "multi-arm64.tar")
	if _, err := images.Copy(ctx, multi, "docker-archive:"+path, arm64); err != nil {
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
	srv := httptest.NewServer(server.New(nil)) // a registry in memory
	defer srv.Close()
	multi := strings.TrimPrefix(srv.URL, "http://") + "/example/multi:1.0"
	amd, _ := imagestest.Random(1024, 2, nil)
	arm, _ := imagestest.Random(1024, 2, &imagestest.Options{Seed: 1, Platform: manifest.Platform{OS: "linux", Architecture: "arm64"}})
	seed, _ := images.NewIndex(amd, arm)
	if _, err := images.WriteIndex(ctx, seed, multi, nil); err != nil {
		log.Fatal(err)
	}

	ix, err := images.OpenIndex(ctx, multi, nil)
	if err != nil {
		log.Fatal(err)
	}
	arm64 := manifest.Platform{OS: "linux", Architecture: "arm64"}
	img, err := ix.Image(ctx, arm64)
	if err != nil {
		log.Fatal(err)
	}
	edited, err := ix.Replace(arm64, img.EditConfig(images.ConfigChanges{Env: []string{"ARM=1"}}))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := images.WriteIndex(ctx, edited, multi+"-arm-edited", nil); err != nil {
		log.Fatal(err)
	}
	for i, d := range edited.Manifests() {
		fmt.Println(d.Platform, d.Digest == ix.Manifests()[i].Digest)
	}
	// Output:
	// linux/amd64 true
	// linux/arm64 false
}

// Errors keep their cause: errors.Is tells a missing image from other
// failures.
func ExampleOpen_errors() {
	srv := httptest.NewServer(server.New(nil)) // a registry in memory, empty
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	_, err := images.Open(context.Background(), host+"/example/app:no-such-tag", nil)
	fmt.Println(errors.Is(err, registry.ErrNotFound), errors.Is(err, manifest.ErrNotFound), errors.Is(err, registry.ErrUnauthorized))
	// Output: true true false
}

// go-containerregistry's tarball workflow: two images with several tags
// in one tarball, its size known before writing, progress reported, a
// non-distributable (foreign) layer, and one image read back by tag.
func Example_tarballOfTwoImages() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	app, _ := imagestest.Random(1024, 2, nil) // or an image from images.Open
	base, err := tarball.LayerFromFiles(map[string]tarball.File{"Windows/base": {Data: []byte("os")}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer base.Remove()
	// Non-distributable, as Windows base layers are: registries leave it at its URLs.
	base.Desc.MediaType, base.Desc.URLs = manifest.MediaTypeOCIForeignLayer, []string{"https://example.com/base.tar.gz"}
	withForeign, err := app.AppendLayer(base, manifest.History{})
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
	path := filepath.Join(dir, "two.tar")
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
