package tarball_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"strings"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

func ExampleLayerWriter() {
	var blob bytes.Buffer // or an upload stream
	lw := tarball.NewLayerWriter(&blob, &tarball.LayerOptions{MediaType: manifest.MediaTypeDockerLayer})
	err := lw.AddFiles(map[string]tarball.File{
		"etc/motd":        {Data: []byte("hello\n")},
		"usr/bin/greet":   {Data: []byte("#!/bin/sh\ncat /etc/motd\n"), Mode: 0o755},
		"usr/bin/welcome": {Mode: fs.ModeSymlink, Linkname: "greet"},
	})
	if err == nil {
		err = lw.Close()
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	desc := lw.Descriptor()
	fmt.Println(desc.MediaType)
	fmt.Println(desc.Digest == manifest.FromBytes(blob.Bytes()), desc.Size == int64(blob.Len()))
	fmt.Println(strings.HasPrefix(lw.DiffID().String(), "sha256:"))
	// Output:
	// application/vnd.docker.image.rootfs.diff.tar.gzip
	// true true
	// true
}

func ExampleCleanPath() {
	for _, name := range []string{"./usr//bin/", "/etc/passwd", "a/../b", "../etc/passwd", `..\x`} {
		clean, err := tarball.CleanPath(name)
		fmt.Printf("%q %v\n", clean, err)
	}
	// Output:
	// "usr/bin" <nil>
	// "etc/passwd" <nil>
	// "b" <nil>
	// "" tarball: unsafe path "../etc/passwd": climbs above the root
	// "" tarball: unsafe path "..\\x": climbs above the root with backslash separators
}
