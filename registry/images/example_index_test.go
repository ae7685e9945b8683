package images_test

import (
	"context"
	"fmt"
	"log"
	"sync"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/tarball"
)

// Assemble one multi-platform tag from images built on different machines,
// as a CI pipeline does after its per-platform jobs: each entry's platform
// comes from its image's config.
func ExampleNewIndex() {
	ctx := context.Background()
	amd64, err := images.Open(ctx, exampleHost+"/example/app:1.0", nil)
	if err != nil {
		log.Fatal(err)
	}
	arm64, err := images.Open(ctx, exampleHost+"/example/multi:1.0", &images.Options{Platforms: []manifest.Platform{{OS: "linux", Architecture: "arm64"}}})
	if err != nil {
		log.Fatal(err)
	}
	ix, err := images.NewIndex(amd64, arm64) // two images of one platform would be an error
	if err != nil {
		log.Fatal(err)
	}
	desc, err := images.WriteIndex(ctx, ix, exampleHost+"/example/assembled:1.0", nil) // children first, the index last
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
	srcs := []string{exampleHost + "/example/multi:1.0", exampleHost + "/example/docker:1.0"}
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
	ctx := context.Background()
	ix, err := images.OpenIndex(ctx, exampleHost+"/example/multi:1.0", nil)
	if err != nil {
		log.Fatal(err)
	}
	rebuilt, err := images.Open(ctx, exampleHost+"/example/docker:1.0", nil) // linux/amd64
	if err != nil {
		log.Fatal(err)
	}
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
	var wg sync.WaitGroup
	for _, p := range []string{"amd64", "arm64"} {
		wg.Add(1)
		go func() { // one job
			defer wg.Done()
			mine, err := images.NewIndexFrom(ctx, []string{exampleHost + "/example/multi:1.0"},
				&images.AddOptions{Platforms: []manifest.Platform{{OS: "linux", Architecture: p}}}, nil)
			if err != nil {
				log.Fatal(err)
			}
			add := func(ix *images.Index) (*images.Index, error) { return ix.AddIndex(mine, nil) }
			if _, err := images.UpdateIndex(ctx, exampleHost+"/example/ci:1.0", add, nil); err != nil {
				log.Fatal(err)
			}
		}()
	}
	wg.Wait()
	ix, err := images.OpenIndex(ctx, exampleHost+"/example/ci:1.0", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(ix.Manifests()), "platforms")
	// Output: 2 platforms
}

// exampleBases writes, once, an old base, a new base that fixes it, and an
// app built on the old one, for the rebase examples.
var exampleBases = sync.OnceValue(func() error {
	p := manifest.Platform{OS: "linux", Architecture: "amd64"}
	old, err := exampleBuild("example/base:1.0", images.Scratch(p), "etc/base", "1.0\n", images.ConfigChanges{Env: []string{"BASE=1.0"}})
	if err == nil {
		_, err = exampleBuild("example/base:1.1", images.Scratch(p), "etc/base", "1.1\n", images.ConfigChanges{Env: []string{"BASE=1.1"}})
	}
	if err == nil {
		_, err = exampleBuild("example/svc:1", old, "app/svc", "svc\n", images.ConfigChanges{Cmd: []string{"/app/svc"}})
	}
	return err
})

// exampleBuild writes base with a layer of one file and the config
// changes ch as name in the example registry.
func exampleBuild(name string, base *images.Image, file, data string, ch images.ConfigChanges) (*images.Image, error) {
	l, err := tarball.LayerFromFiles(map[string]tarball.File{file: {Data: []byte(data)}}, nil)
	if err != nil {
		return nil, err
	}
	defer l.Remove()
	im, err := base.AppendLayer(l, manifest.History{CreatedBy: "COPY " + file})
	if err != nil {
		return nil, err
	}
	im = im.EditConfig(ch)
	if _, err := images.Write(context.Background(), im, exampleHost+"/"+name, nil); err != nil {
		return nil, err
	}
	return images.Open(context.Background(), exampleHost+"/"+name, nil)
}

// Move an app onto a patched base without rebuilding it: the base's
// layers are swapped, the app's own kept, and nothing is downloaded.
func ExampleImage_Rebase() {
	if err := exampleBases(); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	app, err := images.Open(ctx, exampleHost+"/example/svc:1", nil)
	if err != nil {
		log.Fatal(err)
	}
	oldBase, err := images.Open(ctx, exampleHost+"/example/base:1.0", nil)
	if err != nil {
		log.Fatal(err)
	}
	newBase, err := images.Open(ctx, exampleHost+"/example/base:1.1", nil)
	if err != nil {
		log.Fatal(err)
	}
	rebased, err := app.Rebase(oldBase, newBase, &images.RebaseOptions{BaseName: exampleHost + "/example/base:1.1"})
	if err != nil {
		log.Fatal(err)
	}
	served.reset()
	if _, err := images.Write(ctx, rebased, exampleHost+"/example/svc:1-rebased", nil); err != nil {
		log.Fatal(err) // the new base's layer is mounted, the app's is there already
	}
	fmt.Println(rebased.Layers()[0].Digest == newBase.Layers()[0].Digest, rebased.Layers()[1].Digest == app.Layers()[1].Digest)
	fmt.Println(rebased.Config().Config.Env, rebased.Config().Config.Cmd, "; blobs downloaded:", served.blobGETs.Load())
	// Output:
	// true true
	// [BASE=1.1] [/app/svc] ; blobs downloaded: 0
}

// Rebase does the same by location, as `skiff rebase` does, for an image
// or every platform of an index; named without an old base, it finds it in
// the annotations an earlier rebase (or buildkit) left.
func ExampleRebase() {
	if err := exampleBases(); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	_, err := images.Rebase(ctx, exampleHost+"/example/svc:1", exampleHost+"/example/base:1.0", exampleHost+"/example/base:1.1", exampleHost+"/example/svc:2", nil)
	if err != nil {
		log.Fatal(err)
	}
	img, err := images.Open(ctx, exampleHost+"/example/svc:2", nil)
	if err != nil {
		log.Fatal(err)
	}
	doc, _ := img.Manifest()
	fmt.Println(doc.Manifest.Annotations[images.BaseNameAnnotation] == exampleHost+"/example/base:1.1")
	// Output: true
}
