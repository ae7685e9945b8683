package registry_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
)

// Quirks of real registries that the command-line table
// (cmd/skiff TestQuirksOfRealRegistries) cannot reach: they bite paths
// the library offers (chunked uploads, mounts from any repository,
// mirrors) and the CLI does not take.

// TestQuirkECRMountNeedsManifest mounts a blob that ECR holds but no
// manifest references: the mount is refused with a 202, and the blob is
// pushed instead.
func TestQuirkECRMountNeedsManifest(t *testing.T) {
	srv := registrytest.NewServer(t, &registrytest.Options{Quirks: []registrytest.Quirk{registrytest.ECRMountNeedsManifest}})
	c := &registry.Client{}
	data := []byte("a layer pushed, its manifest not yet")
	desc := manifest.DescriptorFor(manifest.MediaTypeOCILayerGzip, data)
	if err := repoOn(t, c, srv, "a/staging").Push(t.Context(), desc, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	dst := repoOn(t, c, srv, "a/app")
	mounted, err := dst.Mount(t.Context(), desc, "a/staging")
	if err != nil || mounted {
		t.Fatalf("mount of an unreferenced blob: mounted=%v err=%v; want false, nil", mounted, err)
	}
	if srv.QuirkHits(registrytest.ECRMountNeedsManifest) == 0 {
		t.Fatal("the quirk never acted")
	}
	if ok, err := dst.Exists(t.Context(), desc); err != nil || ok {
		t.Fatalf("a refused mount left the blob: %v, %v", ok, err)
	}
	if err := dst.Push(t.Context(), desc, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
}

// TestQuirkECRChunks pushes in chunks through ECR's PATCH answers: 201
// for each chunk works; a registry that then drops chunks gives a bounded,
// clear error instead of a stored blob or a loop.
func TestQuirkECRChunks(t *testing.T) {
	data := bytes.Repeat([]byte("ecr chunk "), 40000) // 400 kB: several 64 KiB chunks
	desc := manifest.DescriptorFor(manifest.MediaTypeOCILayerGzip, data)
	c := &registry.Client{ChunkSize: 64 << 10}

	srv, repo := serve(t, &registrytest.Options{Quirks: []registrytest.Quirk{registrytest.ECRPatchCreated}}, c, "a/b")
	if err := repo.Push(t.Context(), desc, bytes.NewReader(data)); err != nil {
		t.Fatalf("chunks answered 201: %v", err)
	}
	if n := srv.QuirkHits(registrytest.ECRPatchCreated); n < 4 {
		t.Fatalf("%d PATCHes answered 201, want every chunk's", n)
	}
	if _, err := repo.PushStream(t.Context(), manifest.MediaTypeOCILayer, bytes.NewReader([]byte("streamed"))); err != nil {
		t.Fatalf("a streamed PATCH answered 201: %v", err)
	}

	srv, repo = serve(t, &registrytest.Options{Quirks: []registrytest.Quirk{registrytest.ECRChunkDiscard}}, c, "a/b")
	err := repo.Push(t.Context(), desc, bytes.NewReader(data))
	if err == nil || !strings.Contains(err.Error(), "upload stuck at byte 65536") || !strings.Contains(err.Error(), "201 Created") {
		t.Fatalf("chunks dropped: err = %v; want an error naming the stuck byte and the 201", err)
	}
	if n := srv.QuirkHits(registrytest.ECRChunkDiscard); n == 0 || n > 4 {
		t.Fatalf("%d chunks dropped; want a few tries, bounded", n)
	}
	if ok, _ := repo.Exists(t.Context(), desc); ok {
		t.Fatal("a blob whose chunks were dropped was stored")
	}
}

// TestQuirkHarborMountMissingProject copies an image whose source is a
// Harbor repository pulled from a mirror: Harbor has no such project and
// refuses the mount with 401; the blobs are pushed instead.
func TestQuirkHarborMountMissingProject(t *testing.T) {
	mirror := registrytest.NewServer(t, nil)
	im := seed(t, mirror, nil, "ghost/app", "1", 300, 200)
	harbor := registrytest.NewServer(t, &registrytest.Options{Quirks: []registrytest.Quirk{registrytest.HarborMountMissingProject},
		Auth: registrytest.Auth{Mode: registrytest.AuthBearer, Users: map[string]string{"u": "pw"}}})
	seed(t, harbor, &registry.Client{Keychain: auth.Static{harbor.Host: {Username: "u", Password: "pw"}}}, "team/base", "1", 10)
	mirrorRef, _ := reference.Parse(mirror.Host + "/ghost/app")
	c := &registry.Client{Keychain: auth.Static{harbor.Host: {Username: "u", Password: "pw"}},
		Mirrors: func(ref reference.Reference) ([]registry.Mirror, error) {
			if ref.Registry == harbor.Host && ref.Repository == "ghost/app" {
				return []registry.Mirror{{Ref: mirrorRef}}, nil
			}
			return nil, nil
		}}
	src, dst := repoOn(t, c, harbor, "ghost/app"), repoOn(t, c, harbor, "team/app")
	root, err := src.Resolve(t.Context(), "1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := images.CopyDescriptor(t.Context(), dst, src, root, &images.CopyOptions{Tag: "1"}); err != nil {
		t.Fatalf("copy through a refused mount: %v", err)
	}
	if harbor.QuirkHits(registrytest.HarborMountMissingProject) == 0 {
		t.Fatal("the quirk never acted")
	}
	if doc, err := dst.FetchManifest(t.Context(), "1"); err != nil || doc.Digest != im.Manifest.Digest {
		t.Fatalf("copied %v, %v", doc, err)
	}
}

// TestQuirkArtifactoryMissingTag403 checks the error Artifactory's 403
// for a missing tag makes: it is a refusal and counts as not found.
func TestQuirkArtifactoryMissingTag403(t *testing.T) {
	_, repo := serve(t, &registrytest.Options{Quirks: []registrytest.Quirk{registrytest.ArtifactoryMissingTag403}}, &registry.Client{}, "a/b")
	_, err := repo.Resolve(t.Context(), "nothere")
	if !errors.Is(err, registry.ErrNotFound) || !errors.Is(err, registry.ErrDenied) || !strings.Contains(err.Error(), "does not have permission") {
		t.Fatalf("Resolve of a missing tag: %v; want not found and denied, with Artifactory's words", err)
	}
}
