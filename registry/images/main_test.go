package images_test

import (
	"context"
	"log"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/registry/images/imagestest"
	"github.com/skiffoci/skiff/registry/server"
)

// testHost is a registry started for the tests (not the examples, which
// start their own), holding example/app:1.0 (two layers, PATH=/bin),
// example/docker:1.0 (Docker's media types) and example/multi:1.0 (an
// index of linux/amd64 and linux/arm64).
var testHost string

func TestMain(m *testing.M) {
	srv := httptest.NewServer(server.New(nil))
	testHost = strings.TrimPrefix(srv.URL, "http://")
	if err := seedTests(context.Background()); err != nil {
		log.Fatal(err)
	}
	code := m.Run()
	srv.Close()
	os.Exit(code)
}

func seedTests(ctx context.Context) error {
	var imgs []*images.Image
	for i, arch := range []string{"amd64", "arm64"} {
		im, err := imagestest.Random(4096, 2, &imagestest.Options{Seed: uint64(42 + i),
			Platform: manifest.Platform{OS: "linux", Architecture: arch}})
		if err != nil {
			return err
		}
		imgs = append(imgs, im.EditConfig(images.ConfigChanges{Env: []string{"PATH=/bin"}}))
	}
	docker, err := imagestest.Random(100, 1, &imagestest.Options{Seed: 7, Docker: true})
	if err != nil {
		return err
	}
	index, err := images.NewIndex(imgs...)
	if err != nil {
		return err
	}
	if _, err := images.Write(ctx, imgs[0], testHost+"/example/app:1.0", nil); err != nil {
		return err
	}
	if _, err := images.Write(ctx, docker, testHost+"/example/docker:1.0", nil); err != nil {
		return err
	}
	_, err = images.WriteIndex(ctx, index, testHost+"/example/multi:1.0", nil)
	return err
}
