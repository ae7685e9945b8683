package imagestest_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/registry/images/imagestest"
	"github.com/skiffoci/skiff/registry/server"
)

// Push a random image and a two-platform index to a registry started in
// the test, and read them back.
func Example() {
	ctx := context.Background()
	srv := httptest.NewServer(server.New(nil))
	defer srv.Close()
	repo := strings.TrimPrefix(srv.URL, "http://") + "/test/app"

	img, err := imagestest.Random(1024, 2, nil) // two layers of 1 KiB
	if err != nil {
		log.Fatal(err)
	}
	if _, err := images.Write(ctx, img, repo+":1", nil); err != nil {
		log.Fatal(err)
	}
	arm64 := manifest.Platform{OS: "linux", Architecture: "arm64"}
	arm, _ := imagestest.Random(1024, 1, &imagestest.Options{Seed: 1, Platform: arm64})
	ix, err := images.NewIndex(img, arm)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := images.WriteIndex(ctx, ix, repo+":multi", nil); err != nil {
		log.Fatal(err)
	}

	back, err := images.Open(ctx, repo+":multi", &images.Options{Platforms: []manifest.Platform{arm64}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(back.Platform(), len(back.Layers()), "layer")
	// Output: linux/arm64 1 layer
}
