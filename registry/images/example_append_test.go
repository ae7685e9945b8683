package images_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/registry/images/imagestest"
	"github.com/skiffoci/skiff/registry/server"
)

// Append a directory as a layer to an image in a registry, in one call,
// as crane append and skiff append do: the base's layers stay where they
// are.
func ExampleAppend() {
	ctx := context.Background()
	srv := httptest.NewServer(server.New(nil)) // a registry in memory
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	base, _ := imagestest.Random(1024, 2, nil)
	if _, err := images.Write(ctx, base, host+"/team/base:1", nil); err != nil {
		log.Fatal(err)
	}
	dir, _ := os.MkdirTemp("", "app")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello\n"), 0o644)

	if _, err := images.Append(ctx, host+"/team/base:1", host+"/team/app:1", []string{dir}, nil); err != nil {
		log.Fatal(err)
	}
	app, err := images.Open(ctx, host+"/team/app:1", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(app.Layers()), "layers")
	// Output: 3 layers
}
