package layout_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

func Example() {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "skiff-layout-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	l, err := layout.Create(filepath.Join(tmp, "oci"))
	if err != nil {
		log.Fatal(err)
	}
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	configDesc := manifest.DescriptorFor(manifest.MediaTypeOCIConfig, config)
	m := []byte(`{"schemaVersion":2,"mediaType":"` + manifest.MediaTypeOCIManifest + `","config":` +
		`{"mediaType":"` + configDesc.MediaType + `","digest":"` + string(configDesc.Digest) + `","size":` +
		fmt.Sprint(configDesc.Size) + `},"layers":[]}`)
	manifestDesc := manifest.DescriptorFor(manifest.MediaTypeOCIManifest, m)

	// Blobs first, then the manifest, then the name.
	if err := l.Push(ctx, configDesc, bytes.NewReader(config)); err != nil {
		log.Fatal(err)
	}
	if err := l.Push(ctx, manifestDesc, bytes.NewReader(m)); err != nil {
		log.Fatal(err)
	}
	if err := l.Tag(ctx, manifestDesc, "latest"); err != nil {
		log.Fatal(err)
	}

	desc, err := l.Resolve(ctx, "latest")
	if err != nil {
		log.Fatal(err)
	}
	doc, err := manifest.FetchDocument(ctx, l, desc)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(desc.Digest == manifestDesc.Digest, doc.Manifest.Config.Digest == configDesc.Digest)
	// Output: true true
}
