package tarball_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images/imagestest"
	"github.com/skiffoci/skiff/tarball"
)

// The content interfaces a Reader implements.
var (
	_ manifest.ReadOnlyStore = (*tarball.Reader)(nil)
	_ manifest.Exister       = (*tarball.Reader)(nil)
)

func ExampleWrite() {
	img, err := imagestest.Random(6, 1, nil) // or an image from images.Open
	if err != nil {
		panic(err)
	}
	images := []tarball.Entry{{Tags: []string{"example.com/hello:v1", "example.com/hello:latest"}, Source: img}}
	size, err := tarball.CalculateSize(images, nil)
	if err != nil {
		panic(err)
	}
	var buf bytes.Buffer
	if err := tarball.Write(context.Background(), &buf, images, nil); err != nil {
		panic(err)
	}
	fmt.Println(size == int64(buf.Len()))
	plan, _ := tarball.NewPlan(images, nil)
	for _, e := range plan.Files[:5] {
		fmt.Println(e.HeaderOffset, e.Offset, e.Size, e.Name)
	}
	// Output:
	// true
	// 0 512 30 oci-layout
	// 1024 1536 615 index.json
	// 2560 3072 246 manifest.json
	// 3584 4096 0 blobs/
	// 4096 4608 0 blobs/sha256/
}

func ExampleOpen() {
	img, err := imagestest.Random(6, 1, nil) // or an image from images.Open
	if err != nil {
		panic(err)
	}
	var buf bytes.Buffer
	entry := tarball.Entry{Tags: []string{"example.com/hello:v1", "example.com/hello:latest"}, Source: img}
	if err := tarball.Write(context.Background(), &buf, []tarball.Entry{entry}, nil); err != nil {
		panic(err)
	}
	r, err := tarball.Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
	if err != nil {
		panic(err)
	}
	defer r.Close()
	for _, im := range r.Images() {
		fmt.Println(im.Tags, im.Descriptor.MediaType)
	}
	desc, _ := r.Resolve(context.Background(), "example.com/hello")
	doc, _ := manifest.FetchDocument(context.Background(), r, desc)
	fmt.Println(len(doc.Manifest.Layers), "layer")
	// Output:
	// [example.com/hello:v1 example.com/hello:latest] application/vnd.oci.image.manifest.v1+json
	// 1 layer
}

// An interrupted WriteFile keeps what arrived; the same call continues
// from it, fetching only the rest (blobs complete on disk are hashed
// again, a blob cut short is fetched from its last checkpoint).
func ExampleWriteFile_resume() {
	img, err := imagestest.Random(3<<20, 3, nil) // three layers, 9 MiB; or an image from images.Open
	if err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.tar")
	images := []tarball.Entry{{Tags: []string{"app:1"}, Source: img}}

	ctx, cancel := context.WithCancel(context.Background())
	dropAfter4MiB := func(e manifest.Event) { // as if the link dropped, or the user pressed ^C
		if e.Transfer.BytesDone >= 4<<20 {
			cancel()
		}
	}
	err = tarball.WriteFile(ctx, path, images, &tarball.WriteOptions{Progress: dropAfter4MiB})
	fmt.Println("first try:", errors.Is(err, context.Canceled))
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		fmt.Println(" ", e.Name())
	}

	err = tarball.WriteFile(context.Background(), path, images, nil) // the same call again
	fmt.Println("second try:", err)
	entries, _ = os.ReadDir(dir)
	for _, e := range entries {
		fmt.Println(" ", e.Name())
	}
	// Output:
	// first try: true
	//   .app.tar.skiff-partial
	//   .app.tar.skiff-state
	// second try: <nil>
	//   app.tar
}
