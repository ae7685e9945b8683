package registry_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/registry/images/imagestest"
	"github.com/skiffoci/skiff/registry/server"
	"github.com/skiffoci/skiff/tarball"
)

// Save an image from a registry as a tarball for "docker load", without
// Docker: read the manifest, then let the tarball writer stream every
// verified blob.
func Example_pullToTarball() {
	ctx := context.Background()
	srv := httptest.NewServer(server.New(nil)) // a registry in memory
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	seed, _ := imagestest.Random(1024, 2, nil) // a two-layer image
	if _, err := images.Write(ctx, seed, host+"/example/app:1.0", nil); err != nil {
		log.Fatal(err)
	}

	ref, err := reference.Parse(host + "/example/app:1.0")
	if err != nil {
		log.Fatal(err)
	}
	repo := (&registry.Client{}).Repository(ref)
	doc, err := repo.FetchManifest(ctx, ref.Identifier())
	if err != nil {
		log.Fatal(err)
	}
	var tar bytes.Buffer // or a file: tarball.WriteFile fills it in parallel
	img := tarball.Entry{Tags: []string{"example/app:1.0"}, Manifest: doc, Fetcher: repo}
	if err := tarball.Write(ctx, &tar, []tarball.Entry{img}, nil); err != nil {
		log.Fatal(err)
	}
	r, err := tarball.Open(bytes.NewReader(tar.Bytes()), int64(tar.Len()), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	fmt.Println(r.Images()[0].Tags, len(doc.Manifest.Layers), "layers")
	// Output: [example/app:1.0] 2 layers
}

// Add files from memory and set an environment variable, then push the
// result without downloading a single layer of the base (python-docker's
// example): only the base's manifest and config are read.
func Example_addFilesAndPush() {
	ctx := context.Background()
	srv := httptest.NewServer(server.New(nil)) // a registry in memory
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	seed, _ := imagestest.Random(1024, 2, nil) // a two-layer image
	if _, err := images.Write(ctx, seed, host+"/example/app:1.0", nil); err != nil {
		log.Fatal(err)
	}

	ref, _ := reference.Parse(host + "/example/app:1.0")
	repo := (&registry.Client{}).Repository(ref)
	img, err := images.OpenFrom(ctx, repo, ref.String(), nil) // a tag, a digest or the whole reference
	if err != nil {
		log.Fatal(err)
	}
	layer, err := tarball.LayerFromFiles(map[string]tarball.File{
		"etc/app/config.yaml": {Data: []byte("debug: true\n")},
		"usr/local/bin/hello": {Data: []byte("#!/bin/sh\necho hello\n"), Mode: 0o755},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer layer.Remove()
	if img, err = img.AppendLayer(layer, manifest.History{CreatedBy: "add config and hello"}); err != nil {
		log.Fatal(err)
	}
	img = img.EditConfig(images.ConfigChanges{Env: []string{"APP_DEBUG=1"}})
	if _, err := img.Write(ctx, repo, "1.0-debug", nil); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(img.Layers()), "layers;", img.Config().Config.Env)
	// Output: 3 layers; [APP_DEBUG=1]
}

// Copy an image to another repository of the same registry: every blob
// is mounted, none is downloaded or uploaded.
func Example_copyWithMount() {
	ctx := context.Background()
	srv := httptest.NewServer(server.New(nil)) // a registry in memory
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	seed, _ := imagestest.Random(1024, 2, nil) // a two-layer image
	if _, err := images.Write(ctx, seed, host+"/example/app:1.0", nil); err != nil {
		log.Fatal(err)
	}

	client := &registry.Client{}
	srcRef, _ := reference.Parse(host + "/example/app:1.0")
	dstRef, _ := reference.Parse(host + "/team/app:1.0")
	src, dst := client.Repository(srcRef), client.Repository(dstRef)
	dst.WillPush()
	root, err := src.Resolve(ctx, srcRef.Tag)
	if err != nil {
		log.Fatal(err)
	}
	var mounted atomic.Int32 // Progress is called from every transfer at once
	_, err = images.CopyDescriptor(ctx, dst, src, root, &images.CopyOptions{
		Tag: dstRef.Tag,
		Progress: func(e manifest.Event) {
			if e.State == manifest.StateMounted {
				mounted.Add(1)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(mounted.Load(), "blobs mounted")
	// Output: 3 blobs mounted
}

// Read a tarball written by "docker save" (or "skiff pull", here) and
// list what it holds; push it with images.Copy.
func Example_readDockerSave() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.tar")
	img, _ := imagestest.Random(1024, 2, nil) // or images.Open of a reference
	if _, err := images.Write(context.Background(), img, "docker-archive:"+path+":example.com/app:v1", nil); err != nil {
		log.Fatal(err)
	}

	r, err := tarball.OpenFile(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	for _, img := range r.Images() {
		rc, err := r.Fetch(context.Background(), img.Descriptor)
		if err != nil {
			log.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rc) // verified as it is read
		rc.Close()
		fmt.Println(img.Tags, err == nil && n == img.Descriptor.Size)
	}
	// Output: [example.com/app:v1] true
}
