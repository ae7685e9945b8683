package images_test

import (
	"fmt"
	"log"
	"time"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
)

// Any field of the config in one edit: volumes, a health check and the
// platform, which ConfigChanges does not reach.
func ExampleImage_EditConfigFunc() {
	img := images.Scratch(manifest.Platform{OS: "linux", Architecture: "amd64"})
	img = img.EditConfigFunc(func(c *manifest.Config) {
		c.Config.Volumes = map[string]struct{}{"/data": {}}
		c.Config.Healthcheck = &manifest.Healthcheck{Test: []string{"CMD", "/healthz"}, Interval: 30 * time.Second}
		c.Architecture, c.Variant = "arm64", "v8"
	})
	fmt.Println(img.Platform(), img.Config().Config.Volumes, img.Config().Config.Healthcheck.Test)
	// Output: linux/arm64/v8 map[/data:{}] [CMD /healthz]
}

// Annotations on an image's manifest; an empty value removes one.
func ExampleImage_Annotate() {
	img := images.Scratch(manifest.Platform{OS: "linux", Architecture: "amd64"})
	img, err := img.Annotate(map[string]string{"org.opencontainers.image.source": "https://example.com/app"})
	if err != nil {
		log.Fatal(err)
	}
	doc, _ := img.Manifest()
	fmt.Println(doc.Manifest.Annotations)
	// Output: map[org.opencontainers.image.source:https://example.com/app]
}
