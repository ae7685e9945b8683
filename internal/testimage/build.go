package testimage

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/tarball"
)

// PushNew makes an image with o and pushes it to ref (HOST/NAME:TAG), a
// registry on loopback; a failure fails t.
func PushNew(t testing.TB, ref string, o Options) *Image {
	t.Helper()
	im, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	r, err := reference.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := Push(context.Background(), (&registry.Client{}).Repository(r), im, r.Tag); err != nil {
		t.Fatal(err)
	}
	return im
}

// Build writes to location an image of platform p: on base (a Scratch
// image when nil), a layer holding files, with the config edits ch. It
// returns the image as read back from location.
func Build(t testing.TB, location string, base *images.Image, p manifest.Platform, files map[string]string, ch images.ConfigChanges) *images.Image {
	t.Helper()
	ctx := context.Background()
	if base == nil {
		base = images.Scratch(p)
	}
	fs := map[string]tarball.File{}
	var names []string
	for name, data := range files {
		fs[name] = tarball.File{Data: []byte(data)}
		names = append(names, name)
	}
	slices.Sort(names)
	l, err := tarball.LayerFromFiles(fs, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Remove()
	im, err := base.AppendLayer(l, manifest.History{CreatedBy: "COPY " + strings.Join(names, " ")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := images.Write(ctx, im.EditConfig(ch), location, nil); err != nil {
		t.Fatal(err)
	}
	back, err := images.Open(ctx, location, &images.Options{Platforms: []manifest.Platform{p}})
	if err != nil {
		t.Fatal(err)
	}
	return back
}
