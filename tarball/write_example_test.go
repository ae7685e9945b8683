package tarball_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images/imagestest"
	"github.com/skiffoci/skiff/tarball"
)

// The content interfaces a Reader implements.
var (
	_ manifest.ReadOnlyStore = (*tarball.Reader)(nil)
	_ manifest.Exister       = (*tarball.Reader)(nil)
)

// exampleImage is a one-layer image made in memory by package
// registry/images/imagestest; one opened with images.Open is used the
// same way.
func exampleImage() tarball.Entry {
	img, err := imagestest.Random(6, 1, nil)
	if err != nil {
		panic(err)
	}
	return tarball.Entry{Tags: []string{"example.com/hello:v1", "example.com/hello:latest"}, Source: img}
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
	img, err := imagestest.Random(3<<20, 3, nil) // three layers, 9 MiB
	if err != nil {
		panic(err)
	}
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.tar")

	ctx, cancel := context.WithCancel(context.Background())
	link := &droppingLink{src: img, limit: 4 << 20, drop: cancel} // the link drops after 4 MiB
	images := []tarball.Entry{{Tags: []string{"app:1"}, Source: img, Fetcher: link}}
	err = tarball.WriteFile(ctx, path, images, nil)
	fmt.Println("first try:", err != nil)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		fmt.Println(" ", e.Name())
	}

	link.limit = 0
	link.served.Store(0)
	err = tarball.WriteFile(context.Background(), path, images, nil) // the same call again
	fmt.Println("second try:", err, "; fetched less than 6 MiB:", link.served.Load() < 6<<20)
	entries, _ = os.ReadDir(dir)
	for _, e := range entries {
		fmt.Println(" ", e.Name())
	}
	// Output:
	// first try: true
	//   .app.tar.skiff-partial
	//   .app.tar.skiff-state
	// second try: <nil> ; fetched less than 6 MiB: true
	//   app.tar
}

// droppingLink serves src's blobs, counting the bytes, and calls drop
// once limit bytes went through (when limit is set): a link that fails
// mid-transfer. FetchFrom lets a resumed transfer ask for the rest only.
type droppingLink struct {
	src    manifest.Fetcher
	served atomic.Int64
	limit  int64
	drop   context.CancelFunc
}

func (l *droppingLink) Fetch(ctx context.Context, d manifest.Descriptor) (io.ReadCloser, error) {
	return l.FetchFrom(ctx, d, 0)
}

func (l *droppingLink) FetchFrom(ctx context.Context, d manifest.Descriptor, offset int64) (io.ReadCloser, error) {
	rc, err := manifest.FetchFrom(ctx, l.src, d, offset)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{&counted{l, rc}, rc}, nil
}

type counted struct {
	l *droppingLink
	r io.Reader
}

func (c *counted) Read(p []byte) (int, error) {
	n, err := c.r.Read(p[:min(len(p), 32<<10)])
	if total := c.l.served.Add(int64(n)); c.l.limit > 0 && total >= c.l.limit {
		c.l.drop()
	}
	return n, err
}
