package images_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/registry/images/imagestest"
	"github.com/skiffoci/skiff/registry/server"
	"github.com/skiffoci/skiff/tarball"
)

// Locations are spelled as the skiff command spells them.
func ExampleParseLocation() {
	for _, s := range []string{"alpine:3.20", "docker://ghcr.io/o/app@sha256:" + fmt.Sprintf("%064x", 1), "oci:build/layout:v1", "docker-archive:app.tar:ghcr.io/o/app:1", "oci-archive:app.tar"} {
		l, err := images.ParseLocation(s)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%-14s %q %q -> %s\n", l.Kind, l.Path, l.Name, l)
	}
	// Output:
	// docker         "" "" -> docker.io/library/alpine:3.20
	// docker         "" "" -> ghcr.io/o/app@sha256:0000000000000000000000000000000000000000000000000000000000000001
	// oci            "build/layout" "v1" -> oci:build/layout:v1
	// docker-archive "app.tar" "ghcr.io/o/app:1" -> docker-archive:app.tar:ghcr.io/o/app:1
	// oci-archive    "app.tar" "" -> oci-archive:app.tar
}

// Open one platform of a multi-platform image: only its manifest and
// config are read.
func ExampleOpen() {
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

	arm64 := &images.Options{Platforms: []manifest.Platform{{OS: "linux", Architecture: "arm64"}}}
	img, err := images.Open(ctx, multi, arm64)
	if err != nil {
		log.Fatal(err)
	}
	defer img.Close() // releases the file of an image opened from an archive
	fmt.Println(img.Platform(), len(img.Layers()), "layers")
	// Output: linux/arm64 2 layers
}

// Open a multi-platform index and list its platforms.
func ExampleOpenIndex() {
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
	defer ix.Close()
	for _, d := range ix.Manifests() {
		fmt.Println(d.Platform)
	}
	// Output:
	// linux/amd64
	// linux/arm64
}

// A store the caller holds takes the reference as the user wrote it, a
// tag or a digest.
func ExampleOpenFrom() {
	ctx := context.Background()
	srv := httptest.NewServer(server.New(nil)) // a registry in memory
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	seed, _ := imagestest.Random(1024, 2, nil) // a two-layer image
	if _, err := images.Write(ctx, seed.EditConfig(images.ConfigChanges{Env: []string{"PATH=/bin"}}), host+"/example/app:1.0", nil); err != nil {
		log.Fatal(err)
	}

	ref, _ := reference.Parse(host + "/example/app:1.0")
	repo := (&registry.Client{}).Repository(ref)
	img, err := images.OpenFrom(ctx, repo, ref.String(), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(img.Config().Config.Env)
	// Output: [PATH=/bin]
}

// The index of a store the caller holds.
func ExampleOpenIndexFrom() {
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

	ref, _ := reference.Parse(multi)
	repo := (&registry.Client{}).Repository(ref)
	ix, err := images.OpenIndexFrom(ctx, repo, "1.0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(ix.Manifests()), "platforms")
	// Output: 2 platforms
}

// A Source is a location opened for reading: its store and its root,
// for what the calls above do not do (walking the graph, verifying
// signatures, serving blobs).
func ExampleOpenSource() {
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

	loc, err := images.ParseLocation(multi)
	if err != nil {
		log.Fatal(err)
	}
	src, err := images.OpenSource(ctx, loc, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	g, err := images.Walk(ctx, src.Store, src.Root, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(manifest.IsIndex(src.Root.MediaType), len(g.Docs), "documents,", len(g.Blobs), "blobs")
	// Output: true 3 documents, 6 blobs
}

// Copy a multi-platform index between registries, as `skiff copy` does:
// its digest is kept, and within one registry every blob is mounted.
func ExampleCopy() {
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

	desc, err := images.Copy(ctx, multi, strings.TrimPrefix(srv.URL, "http://")+"/mirror/multi:1.0", nil)
	if err != nil {
		log.Fatal(err)
	}
	doc, _ := seed.Document()
	fmt.Println("digest kept:", desc.Digest == doc.Digest)
	// Output: digest kept: true
}

// Several images in one docker tarball, each under its source's name:
// Transfer takes opened sources.
func ExampleTransfer() {
	ctx := context.Background()
	srv := httptest.NewServer(server.New(nil)) // a registry in memory
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	seed, _ := imagestest.Random(1024, 2, nil) // a two-layer image
	if _, err := images.Write(ctx, seed.EditConfig(images.ConfigChanges{Env: []string{"PATH=/bin"}}), host+"/example/app:1.0", nil); err != nil {
		log.Fatal(err)
	}
	if _, err := images.Write(ctx, seed, host+"/example/other:1.0", nil); err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	var srcs []*images.Source
	for _, name := range []string{"/example/app:1.0", "/example/other:1.0"} {
		loc, err := images.ParseLocation(host + name)
		if err != nil {
			log.Fatal(err)
		}
		src, err := images.OpenSource(ctx, loc, nil)
		if err != nil {
			log.Fatal(err)
		}
		defer src.Close()
		srcs = append(srcs, src)
	}
	dst := images.Location{Kind: images.KindDockerArchive, Path: filepath.Join(dir, "both.tar")}
	if _, err := images.Transfer(ctx, srcs, dst, nil); err != nil {
		log.Fatal(err)
	}
	r, err := tarball.OpenFile(dst.Path, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	fmt.Println(len(r.Images()), "images")
	// Output: 2 images
}

// Open an image, add a layer from a directory, set an environment
// variable and push it under a new tag: the base's layers are not
// downloaded (Example counts the requests).
func ExampleWrite() {
	ctx := context.Background()
	srv := httptest.NewServer(server.New(nil)) // a registry in memory
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	seed, _ := imagestest.Random(1024, 2, nil) // a two-layer image
	if _, err := images.Write(ctx, seed.EditConfig(images.ConfigChanges{Env: []string{"PATH=/bin"}}), host+"/example/app:1.0", nil); err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello\n"), 0o644)

	img, err := images.Open(ctx, host+"/example/app:1.0", nil)
	if err != nil {
		log.Fatal(err)
	}
	layer, err := tarball.LayerFromDir(ctx, dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer layer.Remove()
	if img, err = img.AppendLayer(layer, manifest.History{CreatedBy: "COPY . /"}); err != nil {
		log.Fatal(err)
	}
	img = img.EditConfig(images.ConfigChanges{Env: []string{"MODE=prod"}})
	if _, err := images.Write(ctx, img, host+"/example/app:1.1", nil); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(img.Layers()), "layers;", img.Config().Config.Env)
	// Output: 3 layers; [PATH=/bin MODE=prod]
}

// Write a whole index into an OCI layout.
func ExampleWriteIndex() {
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
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ix, err := images.OpenIndex(ctx, multi, nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := images.WriteIndex(ctx, ix, "oci:"+dir+":1.0", nil); err != nil {
		log.Fatal(err)
	}
	back, err := images.OpenIndex(ctx, "oci:"+dir+":1.0", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(back.Manifests()), "platforms")
	// Output: 2 platforms
}

// A layout to copy into with the stores' own calls, with the resume
// policy of Copy: partial blobs older than Options.PartialMaxAge removed.
func ExampleCreateLayout() {
	ctx := context.Background()
	srv := httptest.NewServer(server.New(nil)) // a registry in memory
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	seed, _ := imagestest.Random(1024, 2, nil) // a two-layer image
	if _, err := images.Write(ctx, seed.EditConfig(images.ConfigChanges{Env: []string{"PATH=/bin"}}), host+"/example/app:1.0", nil); err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	l, err := images.CreateLayout(filepath.Join(dir, "created"), nil)
	if err != nil {
		log.Fatal(err)
	}
	ref, _ := reference.Parse(host + "/example/app:1.0")
	repo := (&registry.Client{}).Repository(ref)
	root, err := repo.Resolve(ctx, ref.String())
	if err != nil {
		log.Fatal(err)
	}
	if _, err := images.CopyDescriptor(ctx, l, repo, root, &images.CopyOptions{Tag: "1.0"}); err != nil {
		log.Fatal(err)
	}
	tags, _ := l.Tags(ctx)
	fmt.Println(tags)
	// Output: [1.0]
}
