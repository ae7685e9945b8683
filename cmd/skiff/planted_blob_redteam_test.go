//go:build unix

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/traptest"
)

// RT-V1. layout.Push skips a blob already present under its final name
// when it is "a regular file of the right size", whoever owns it and
// whatever it holds. In a layout others can write (a group's shared
// mirror), another user plants blobs/sha256/HEX with the layer's size
// (public, in the manifest) and other bytes before root pulls into it:
// the pull succeeds, index.json names the image, and the layer under its
// digest is the planted bytes, never verified. An existing blob should be
// trusted only when it is the user's own (safefile's rule for what skiff
// reuses), or hashed first; otherwise replaced through the verified path.
func TestRedteamPlantedRightSizeBlobKept(t *testing.T) {
	traptest.NeedRoot(t)
	srv := registrytest.NewServer(t, nil)
	im := seedImage(t, srv, "demo/app:1", 300<<10)
	scene := traptest.NewScene(t)
	lay := filepath.Join(scene.Out, "lay")
	createLayout(t, lay)
	mustOK(t, os.Chmod(lay, 0o777))
	mustOK(t, os.MkdirAll(filepath.Join(lay, "blobs", "sha256"), 0o777))
	blob := filepath.Join(lay, "blobs", "sha256", layerHex(im))
	planted := bytes.Repeat([]byte("X"), len(im.Layers[0]))
	mustOK(t, os.WriteFile(blob, planted, 0o644))
	mustOK(t, os.Chown(blob, traptest.OtherUID, traptest.OtherUID))
	code, _, stderr := runSkiff(t, t.Context(), "", "pull", "--quiet", "--format", "oci", srv.Host+"/demo/app:1", lay)
	if code != exitOK {
		return // refusing is fine
	}
	if b, _ := os.ReadFile(blob); bytes.Equal(b, planted) {
		t.Errorf("the pull succeeded (%q) and the layer under its digest is another user's planted bytes", stderr)
	}
}
