package images_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/tarball"
)

func TestParseLocation(t *testing.T) {
	tests := map[string]images.Location{
		"alpine":                        {Kind: images.KindRegistry},
		"docker://ghcr.io/o/r:1":        {Kind: images.KindRegistry},
		"oci:dir":                       {Kind: images.KindOCI, Path: "dir"},
		"oci:dir:v1":                    {Kind: images.KindOCI, Path: "dir", Name: "v1"},
		"oci:/a/b:c/d":                  {Kind: images.KindOCI, Path: "/a/b:c/d"},
		"oci-archive:x.tar:latest":      {Kind: images.KindOCIArchive, Path: "x.tar", Name: "latest"},
		"docker-archive:x.tar":          {Kind: images.KindDockerArchive, Path: "x.tar"},
		"docker-archive:x.tar:alpine:3": {Kind: images.KindDockerArchive, Path: "x.tar", Name: "alpine:3"},
		"localhost:5000/r":              {Kind: images.KindRegistry},
	}
	spelled := map[string]string{"alpine": "docker.io/library/alpine:latest", "docker://ghcr.io/o/r:1": "ghcr.io/o/r:1", "localhost:5000/r": "localhost:5000/r:latest"}
	for in, want := range tests {
		l, err := images.ParseLocation(in)
		if err != nil {
			t.Fatalf("ParseLocation(%q): %v", in, err)
		}
		if want.Kind == images.KindRegistry {
			want.Ref, _ = reference.Parse(spelled[in])
		}
		if l != want {
			t.Errorf("ParseLocation(%q) = %+v, want %+v", in, l, want)
		}
		if back, err := images.ParseLocation(l.String()); err != nil || back != l {
			t.Errorf("%q spelled back as %q reads %+v, %v", in, l.String(), back, err)
		}
	}
	for in, msg := range map[string]string{"oci:": "missing path", "oci-archive::v1": "missing path", "docker-archive:": "missing path",
		"docker-archive:x.tar:UPPER": "lowercase", "UPPER/case": "lowercase", "alpine@sha256:../x": "digest"} {
		if _, err := images.ParseLocation(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseLocation(%q) = %v, want an error mentioning %q", in, err, msg)
		}
	}
}

// TestOpenFromWholeReference: the store-level open takes the reference
// string as a user holds it (it once failed with "invalid digest ...:
// unsupported algorithm"), a digest, or a tag.
func TestOpenFromWholeReference(t *testing.T) {
	ref, _ := reference.Parse(testHost + "/example/app:1.0")
	repo := (&registry.Client{}).Repository(ref)
	img, err := images.OpenFrom(t.Context(), repo, ref.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Descriptor()
	for _, spelling := range []string{"1.0", string(want.Digest), ref.Name() + "@" + string(want.Digest)} {
		got, err := images.OpenFrom(t.Context(), repo, spelling, nil)
		if err != nil {
			t.Fatalf("OpenFrom(%q): %v", spelling, err)
		}
		if d, _ := got.Descriptor(); d.Digest != want.Digest {
			t.Errorf("OpenFrom(%q) opened %s, want %s", spelling, d.Digest, want.Digest)
		}
	}
	if _, err := images.OpenFrom(t.Context(), repo, testHost+"/example/multi:1.0", nil); err == nil || !strings.Contains(err.Error(), "names repository") {
		t.Errorf("another repository's reference: %v", err)
	}
}

// TestWriteAndOpenEverywhere: an edited image written to each kind of
// location by its string is opened back from the same string, with the
// same digest and every layer readable; archives are closed with the
// image.
func TestWriteAndOpenEverywhere(t *testing.T) {
	img, _ := edited(t)
	want, _ := img.Descriptor()
	dir := t.TempDir()
	for _, loc := range []string{
		testHost + "/everywhere/app:2",
		"oci:" + filepath.Join(dir, "lay") + ":2",
		"docker-archive:" + filepath.Join(dir, "d.tar") + ":everywhere/app:2",
		"oci-archive:" + filepath.Join(dir, "o.tar") + ":2",
	} {
		if d, err := images.Write(t.Context(), img, loc, nil); err != nil || d.Digest != want.Digest {
			t.Fatalf("Write %s: %s, %v", loc, d.Digest, err)
		}
		back, err := images.Open(t.Context(), loc, nil)
		if err != nil {
			t.Fatalf("Open %s: %v", loc, err)
		}
		if d, _ := back.Descriptor(); d.Digest != want.Digest {
			t.Errorf("%s holds %s, want %s", loc, d.Digest, want.Digest)
		}
		for _, l := range back.Layers() {
			if _, err := manifest.FetchAll(t.Context(), back, l, l.Size); err != nil {
				t.Errorf("%s: layer %s: %v", loc, l.Digest, err)
			}
		}
		if err := back.Close(); err != nil {
			t.Fatal(err)
		}
		if l := back.Layers()[0]; strings.Contains(loc, "archive:") {
			if _, err := manifest.FetchAll(t.Context(), back, l, l.Size); err == nil {
				t.Errorf("%s: a layer was read after Close", loc)
			}
		}
	}
	var out bytes.Buffer
	if _, err := images.Write(t.Context(), img, "docker-archive:-", nil); err == nil {
		t.Error("an archive to \"-\" without Options.Stdout was written")
	}
	if _, err := images.Write(t.Context(), img, "docker-archive:-", &images.Options{Stdout: &out}); err != nil || out.Len() == 0 {
		t.Errorf("an archive to Options.Stdout: %d bytes, %v", out.Len(), err)
	}
	if _, err := images.Write(t.Context(), img, testHost+"/everywhere/app@"+string(manifest.FromString("other")), nil); err == nil {
		t.Error("a reference naming another digest was written")
	}
}

// TestCopyBetweenLocations: an index copied between registries keeps its
// digest; into a layout it is tagged with the source's tag; into a docker
// archive goes the platform asked for, one only; what cannot be done is
// refused before anything is written.
func TestCopyBetweenLocations(t *testing.T) {
	ctx := t.Context()
	src := testHost + "/example/multi:1.0"
	ix, err := images.OpenIndex(ctx, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ix.Document()
	if d, err := images.Copy(ctx, src, testHost+"/copied/multi:1", nil); err != nil || d.Digest != want.Digest {
		t.Fatalf("registry to registry: %s, %v; want %s", d.Digest, err, want.Digest)
	}
	dir := filepath.Join(t.TempDir(), "lay")
	if _, err := images.Copy(ctx, src, "oci:"+dir, nil); err != nil {
		t.Fatal(err)
	}
	l, _ := layout.Open(dir)
	if d, err := l.Resolve(ctx, "1.0"); err != nil || d.Digest != want.Digest {
		t.Fatalf("the layout names %s, %v under the source's tag", d.Digest, err)
	}
	arm64 := manifest.Platform{OS: "linux", Architecture: "arm64"}
	tarPath := filepath.Join(t.TempDir(), "arm.tar")
	if _, err := images.Copy(ctx, src, "docker-archive:"+tarPath, &images.Options{Platforms: []manifest.Platform{arm64}}); err != nil {
		t.Fatal(err)
	}
	img, err := images.Open(ctx, "docker-archive:"+tarPath+":"+src, nil)
	if err != nil || img.Platform().String() != arm64.String() {
		t.Fatalf("the archive holds %v, %v; want the arm64 image under the source's name", img, err)
	}
	img.Close()
	both := &images.Options{Platforms: []manifest.Platform{arm64, {OS: "linux", Architecture: "amd64"}}}
	refused := map[string]*images.Options{
		"docker-archive:" + filepath.Join(t.TempDir(), "two.tar"): both,
		"docker-archive:" + filepath.Join(t.TempDir(), "r.tar"):   {Referrers: true},
		"oci-archive:" + filepath.Join(t.TempDir(), "o.tar"):      {OCIMediaTypes: true},
		"oci-archive:-": {Referrers: true},
	}
	for dst, opts := range refused {
		if _, err := images.Copy(ctx, src, dst, opts); err == nil {
			t.Errorf("copy to %s with %+v succeeded", dst, opts)
		}
		if path := strings.TrimSuffix(strings.SplitN(dst, ":", 2)[1], ":"); path != "-" {
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused copy left %s: %v", path, err)
			}
		}
	}
}

// TestTransferSeveralIntoOneArchive: only an archive takes several
// images, each under its source's name.
func TestTransferSeveralIntoOneArchive(t *testing.T) {
	ctx := t.Context()
	var srcs []*images.Source
	for _, name := range []string{"/example/app:1.0", "/example/docker:1.0"} {
		l, err := images.ParseLocation(testHost + name)
		if err != nil {
			t.Fatal(err)
		}
		s, err := images.OpenSource(ctx, l, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		srcs = append(srcs, s)
	}
	path := filepath.Join(t.TempDir(), "both.tar")
	if _, err := images.Transfer(ctx, srcs, images.Location{Kind: images.KindDockerArchive, Path: path}, nil); err != nil {
		t.Fatal(err)
	}
	r, err := tarball.OpenFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var tags []string
	for _, im := range r.Images() {
		tags = append(tags, im.Tags...)
	}
	if len(tags) != 2 || !slices.ContainsFunc(tags, func(s string) bool { return strings.HasSuffix(s, "example/docker:1.0") }) {
		t.Fatalf("the archive names %v", tags)
	}
	dst, _ := images.ParseLocation(testHost + "/both/app:1")
	if _, err := images.Transfer(ctx, srcs, dst, nil); err == nil {
		t.Fatal("two images went to one registry reference")
	}
}

// TestResumable: registries and layouts keep what a stopped transfer
// moved; an archive does when its checkpoints wait beside it.
func TestResumable(t *testing.T) {
	dir := t.TempDir()
	archive := filepath.Join(dir, "a.tar")
	loc := images.Location{Kind: images.KindDockerArchive, Path: archive}
	if loc.Resumable() {
		t.Fatal("an archive with nothing beside it is resumable")
	}
	if err := os.WriteFile(filepath.Join(dir, ".a.tar.skiff-state"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if !loc.Resumable() || (images.Location{Kind: images.KindDockerArchive, Path: "-"}).Resumable() {
		t.Fatal("checkpoints beside an archive went unnoticed, or stdout resumes")
	}
	for _, l := range []images.Location{{Kind: images.KindRegistry}, {Kind: images.KindOCI, Path: dir}} {
		if !l.Resumable() {
			t.Errorf("%s is not resumable", l.Kind)
		}
	}
}
