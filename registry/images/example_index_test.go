package images_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/registry/images/imagestest"
	"github.com/skiffoci/skiff/registry/server"
)

// Assemble one multi-platform tag from images built on different machines,
// as a CI pipeline does after its per-platform jobs: each entry's platform
// comes from its image's config.
func ExampleNewIndex() {
	ctx := context.Background()
	srv := httptest.NewServer(server.New(nil)) // a registry in memory
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	amd64, _ := imagestest.Random(1024, 2, nil) // or images.Open of each job's image
	arm64, _ := imagestest.Random(1024, 2, &imagestest.Options{Seed: 1, Platform: manifest.Platform{OS: "linux", Architecture: "arm64"}})

	ix, err := images.NewIndex(amd64, arm64) // two images of one platform would be an error
	if err != nil {
		log.Fatal(err)
	}
	desc, err := images.WriteIndex(ctx, ix, host+"/example/assembled:1.0", nil) // children first, the index last
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(desc.MediaType)
	for _, d := range ix.Manifests() {
		fmt.Println(d.Platform)
	}
	// Output:
	// application/vnd.oci.image.index.v1+json
	// linux/amd64
	// linux/arm64
}

// NewIndexFrom opens every location at once: an image adds itself, an
// index its entries (those of AddOptions.Platforms, when it names some).
func ExampleNewIndexFrom() {
	ctx := context.Background()
	srv := httptest.NewServer(server.New(nil)) // a registry in memory
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	amd, _ := imagestest.Random(1024, 2, nil)
	arm, _ := imagestest.Random(1024, 2, &imagestest.Options{Seed: 1, Platform: manifest.Platform{OS: "linux", Architecture: "arm64"}})
	multi, _ := images.NewIndex(amd, arm)
	docker, _ := imagestest.Random(100, 1, &imagestest.Options{Docker: true}) // linux/amd64, Docker's media types
	if _, err := images.WriteIndex(ctx, multi, host+"/example/multi:1.0", nil); err != nil {
		log.Fatal(err)
	}
	if _, err := images.Write(ctx, docker, host+"/example/docker:1.0", nil); err != nil {
		log.Fatal(err)
	}

	srcs := []string{host + "/example/multi:1.0", host + "/example/docker:1.0"}
	ix, err := images.NewIndexFrom(ctx, srcs, &images.AddOptions{
		Platforms:  []manifest.Platform{{OS: "linux", Architecture: "arm64"}}, // of example/multi's index
		Duplicates: images.RefuseDuplicates,
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	ix = ix.Annotate(map[string]string{"org.opencontainers.image.version": "1.0"})
	doc, err := ix.Document() // what WriteIndex would push
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range doc.Index.Manifests {
		fmt.Println(d.Platform, d.MediaType)
	}
	// Output:
	// linux/arm64 application/vnd.oci.image.manifest.v1+json
	// linux/amd64 application/vnd.docker.distribution.manifest.v2+json
}

// Edit an index: replace one platform's image with a new build, drop
// another platform, annotate an entry.
func ExampleIndex_Add() {
	amd, _ := imagestest.Random(1024, 2, nil) // or images.OpenIndex of a tag
	arm, _ := imagestest.Random(1024, 2, &imagestest.Options{Seed: 1, Platform: manifest.Platform{OS: "linux", Architecture: "arm64"}})
	ix, err := images.NewIndex(amd, arm)
	if err != nil {
		log.Fatal(err)
	}
	rebuilt, _ := imagestest.Random(100, 1, &imagestest.Options{Docker: true}) // linux/amd64

	if ix, err = ix.Add(rebuilt, nil); err != nil { // replaces linux/amd64; KeepDuplicates keeps both
		log.Fatal(err)
	}
	arm64 := manifest.Platform{OS: "linux", Architecture: "arm64"}
	if ix, err = ix.AnnotateEntry(arm64, map[string]string{"com.example.built-on": "arm-runner-3"}); err != nil {
		log.Fatal(err)
	}
	without, err := ix.Remove(arm64)
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range ix.Manifests() {
		fmt.Println(d.Platform, d.MediaType, d.Annotations)
	}
	fmt.Println(len(without.Manifests()), "entry without linux/arm64")
	// Output:
	// linux/amd64 application/vnd.docker.distribution.manifest.v2+json map[]
	// linux/arm64 application/vnd.oci.image.manifest.v1+json map[com.example.built-on:arm-runner-3]
	// 1 entry without linux/arm64
}

// CI jobs add their platforms to one tag at once: UpdateIndex reads
// the tag back after pushing and merges again when another job's push
// replaced its own, so the tag ends with all of them.
func ExampleUpdateIndex() {
	ctx := context.Background()
	srv := httptest.NewServer(server.New(nil)) // a registry in memory
	defer srv.Close()
	tag := strings.TrimPrefix(srv.URL, "http://") + "/example/ci:1.0"

	var wg sync.WaitGroup
	for i, arch := range []string{"amd64", "arm64"} {
		wg.Add(1)
		go func() { // one job, with the image it built
			defer wg.Done()
			built, _ := imagestest.Random(1024, 1, &imagestest.Options{Seed: uint64(i), Platform: manifest.Platform{OS: "linux", Architecture: arch}})
			add := func(ix *images.Index) (*images.Index, error) { return ix.Add(built, nil) }
			if _, err := images.UpdateIndex(ctx, tag, add, nil); err != nil {
				log.Fatal(err)
			}
		}()
	}
	wg.Wait()
	ix, err := images.OpenIndex(ctx, tag, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(ix.Manifests()), "platforms")
	// Output: 2 platforms
}

// Move an app onto a patched base without rebuilding it: the base's
// layers are swapped, the app's own kept, and only manifests and
// configs are read.
func ExampleImage_Rebase() {
	ctx := context.Background()
	srv := httptest.NewServer(server.New(nil)) // a registry in memory
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	oldBase, _ := imagestest.Random(1024, 1, &imagestest.Options{Seed: 1}) // or images.Open of each
	newBase, _ := imagestest.Random(1024, 1, &imagestest.Options{Seed: 2})
	own, _ := imagestest.Layer(512, 3)
	app, err := oldBase.AppendLayer(own, manifest.History{CreatedBy: "COPY svc /app/"})
	if err != nil {
		log.Fatal(err)
	}
	app = app.EditConfig(images.ConfigChanges{Cmd: []string{"/app/svc"}})

	rebased, err := app.Rebase(oldBase, newBase, &images.RebaseOptions{BaseName: host + "/example/base:1.1"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := images.Write(ctx, rebased, host+"/example/svc:1-rebased", nil); err != nil {
		log.Fatal(err)
	}
	fmt.Println(rebased.Layers()[0].Digest == newBase.Layers()[0].Digest, rebased.Layers()[1].Digest == app.Layers()[1].Digest)
	fmt.Println(rebased.Config().Config.Cmd)
	// Output:
	// true true
	// [/app/svc]
}

// Rebase does the same by location, as `skiff rebase` does, for an image
// or every platform of an index; named without an old base, it finds it in
// the annotations an earlier rebase (or buildkit) left.
func ExampleRebase() {
	ctx := context.Background()
	srv := httptest.NewServer(server.New(nil)) // a registry in memory
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	oldBase, _ := imagestest.Random(1024, 1, &imagestest.Options{Seed: 1})
	newBase, _ := imagestest.Random(1024, 1, &imagestest.Options{Seed: 2})
	own, _ := imagestest.Layer(512, 3)
	app, _ := oldBase.AppendLayer(own, manifest.History{CreatedBy: "COPY svc /app/"})
	for ref, img := range map[string]*images.Image{"/example/base:1.0": oldBase, "/example/base:1.1": newBase, "/example/svc:1": app} {
		if _, err := images.Write(ctx, img, host+ref, nil); err != nil {
			log.Fatal(err)
		}
	}

	_, err := images.Rebase(ctx, host+"/example/svc:1", host+"/example/base:1.0", host+"/example/base:1.1", host+"/example/svc:2", nil)
	if err != nil {
		log.Fatal(err)
	}
	img, err := images.Open(ctx, host+"/example/svc:2", nil)
	if err != nil {
		log.Fatal(err)
	}
	doc, _ := img.Manifest()
	fmt.Println(doc.Manifest.Annotations[images.BaseNameAnnotation] == host+"/example/base:1.1", img.Layers()[0].Digest == newBase.Layers()[0].Digest)
	// Output: true true
}
