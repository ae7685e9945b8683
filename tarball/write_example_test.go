package tarball_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

// The content interfaces a Reader implements.
var (
	_ manifest.ReadOnlyStore = (*tarball.Reader)(nil)
	_ manifest.Exister       = (*tarball.Reader)(nil)
)

// exampleImage is a one-layer image whose blobs are in memory.
func exampleImage() tarball.Entry {
	store := newMemStore()
	img := buildImage(&testing.T{}, store, spec{layers: []string{"hello\n"}, level: gzip.NoCompression})
	return img.image(store, "example.com/hello:v1", "example.com/hello:latest")
}

func ExampleWrite() {
	images := []tarball.Entry{exampleImage()}
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
	var buf bytes.Buffer
	if err := tarball.Write(context.Background(), &buf, []tarball.Entry{exampleImage()}, nil); err != nil {
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
// from it, fetching only the rest.
func ExampleWriteFile_resume() {
	store, images, _ := bigImage(&testing.T{}, 9) // three layers, 10 MiB
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.tar")

	ctx, cancel := context.WithCancel(context.Background())
	store.limit, store.cancel = 4<<20, cancel // the link drops after 4 MiB
	err := tarball.WriteFile(ctx, path, images, nil)
	fmt.Println("first try:", err != nil)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		fmt.Println(" ", e.Name())
	}

	store.limit = 0
	store.served.Store(0)
	err = tarball.WriteFile(context.Background(), path, images, nil) // the same call again
	fmt.Println("second try:", err, "; fetched less than 7 MiB:", store.served.Load() < 7<<20)
	entries, _ = os.ReadDir(dir)
	for _, e := range entries {
		fmt.Println(" ", e.Name())
	}
	// Output:
	// first try: true
	//   .app.tar.skiff-partial
	//   .app.tar.skiff-state
	// second try: <nil> ; fetched less than 7 MiB: true
	//   app.tar
}
