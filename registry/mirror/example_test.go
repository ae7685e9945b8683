package mirror_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/registry/images/imagestest"
	"github.com/skiffoci/skiff/registry/mirror"
	"github.com/skiffoci/skiff/registry/server"
)

// Mirror a repository into another on the same registry (every blob is
// mounted, none moves), run it again (nothing to do), then mirror the
// 1.x releases from 1.1 on into an OCI layout, the shape "skiff registry
// serve" reads.
func Example() {
	ctx := context.Background()
	srv := httptest.NewServer(server.New(nil)) // a registry in memory
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	base, _ := imagestest.Random(8192, 1, nil) // four releases on one base
	for i, tag := range []string{"1.0", "1.1", "1.2", "2.0"} {
		own, _ := imagestest.Layer(512, uint64(i))
		release, _ := base.AppendLayer(own, manifest.History{CreatedBy: "release " + tag})
		if _, err := images.Write(ctx, release, host+"/example/app:"+tag, nil); err != nil {
			log.Fatal(err)
		}
	}

	client := &registry.Client{}
	srcRef, _ := reference.ParseName(host + "/example/app")
	dstRef, _ := reference.ParseName(host + "/mirror/example/app")
	src, dst := client.Repository(srcRef), client.Repository(dstRef)

	report, err := mirror.Sync(ctx, dst, src, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, im := range report.Images {
		fmt.Println(im.Tag, im.Action, im.Bytes, "bytes moved")
	}
	t := report.Totals()
	fmt.Println(t.Mounted, "blobs mounted,", t.Skipped, "found there") // a base layer the tags share is mounted once
	report, _ = mirror.Sync(ctx, dst, src, nil)
	t = report.Totals()
	fmt.Println("again:", t.Unchanged, "unchanged,", t.Bytes, "bytes moved")

	dir, err := os.MkdirTemp("", "mirror-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	l, err := layout.Create(filepath.Join(dir, "example", "app"))
	if err != nil {
		log.Fatal(err)
	}
	releases, _ := mirror.ParsePattern(">=1.1 <2")
	report, err = mirror.Sync(ctx, l, src, &mirror.Options{Tags: []*mirror.Pattern{releases}})
	if err != nil {
		log.Fatal(err)
	}
	tags, _ := l.Tags(ctx)
	fmt.Println("layout:", tags, report.Totals().Blobs, "blobs")
	// Output:
	// 1.0 copied 0 bytes moved
	// 1.1 copied 0 bytes moved
	// 1.2 copied 0 bytes moved
	// 2.0 copied 0 bytes moved
	// 9 blobs mounted, 3 found there
	// again: 4 unchanged, 0 bytes moved
	// layout: [1.1 1.2] 5 blobs
}
