package server_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/registry/images/imagestest"
	"github.com/skiffoci/skiff/registry/server"
)

// A registry in memory for a test, in one line; push an image to it and
// read the image back.
func ExampleNew() {
	srv := httptest.NewServer(server.New(nil))
	defer srv.Close()

	ctx := context.Background()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/test/app:1"
	img, err := imagestest.Random(1024, 2, nil)
	if err != nil {
		log.Fatal(err)
	}
	desc, err := images.Write(ctx, img, ref, nil)
	if err != nil {
		log.Fatal(err)
	}
	back, err := images.Open(ctx, ref, nil)
	if err != nil {
		log.Fatal(err)
	}
	got, _ := back.Descriptor()
	fmt.Println(len(back.Layers()), "layers;", got.Digest == desc.Digest)
	// Output: 2 layers; true
}
