package registry_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/internal/distribution"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
)

// roundTrip pushes a multi-layer image with c to host, pulls it back and
// checks every byte; then it exercises tags, mounts, resolve and delete.
func roundTrip(t *testing.T, c *registry.Client, host string) {
	t.Helper()
	ctx := t.Context()
	ref, err := reference.Parse(host + "/skiff/integration:v1")
	if err != nil {
		t.Fatal(err)
	}
	repo := c.Repository(ref)
	im, err := testimage.New(testimage.Options{LayerSizes: []int{3 << 20, 100, 600 << 10}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := testimage.Push(ctx, repo, im, "v1"); err != nil {
		t.Fatalf("push: %v", err)
	}
	desc, err := repo.Resolve(ctx, "v1")
	if err != nil || desc.Digest != im.Manifest.Digest {
		t.Fatalf("resolve: %+v %v", desc, err)
	}
	doc, err := repo.FetchManifest(ctx, string(desc.Digest))
	if err != nil || !bytes.Equal(doc.Raw, im.Manifest.Raw) {
		t.Fatalf("manifest round trip: %v", err)
	}
	for _, l := range doc.Manifest.Layers {
		rc, err := repo.Fetch(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, im.Blobs[l.Digest]) {
			t.Fatalf("layer %s: %v", l.Digest, err)
		}
	}
	streamed := bytes.Repeat([]byte("stream"), 300000)
	sdesc, err := repo.PushStream(ctx, manifest.MediaTypeOCILayerGzip, io.MultiReader(bytes.NewReader(streamed)))
	if err != nil || sdesc.Digest != manifest.FromBytes(streamed) {
		t.Fatalf("push stream: %v", err)
	}
	if rc, err := repo.Fetch(ctx, sdesc); err != nil {
		t.Fatal(err)
	} else if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, streamed) {
		t.Fatalf("streamed blob read back: %v", err)
	} else {
		rc.Close()
	}
	tags, err := repo.Tags(ctx)
	if err != nil || len(tags) != 1 || tags[0] != "v1" {
		t.Fatalf("tags = %v, %v", tags, err)
	}
	// Mount into another repository of the same registry.
	other, _ := reference.Parse(host + "/skiff/other:v1")
	dst := c.Repository(other)
	if _, err := images.CopyDescriptor(ctx, dst, repo, desc, &images.CopyOptions{Tag: "v1"}); err != nil {
		t.Fatalf("copy with mount: %v", err)
	}
	if ok, err := dst.Exists(ctx, doc.Manifest.Layers[0]); !ok || err != nil {
		t.Fatalf("mounted layer missing: %v %v", ok, err)
	}
	repos, err := c.Catalog(ctx, host)
	if err != nil || len(repos) != 2 {
		t.Fatalf("catalog = %v, %v", repos, err)
	}
	if err := dst.Delete(ctx, string(desc.Digest)); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := dst.Resolve(ctx, string(desc.Digest)); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestIntegrationDistribution(t *testing.T) {
	for _, v := range distribution.Versions {
		t.Run(v, func(t *testing.T) {
			reg := distribution.Start(t, &distribution.Options{Version: v})
			roundTrip(t, &registry.Client{}, reg.Host)
		})
	}
}

func TestIntegrationDistributionChunked(t *testing.T) {
	for _, v := range distribution.Versions {
		t.Run(v, func(t *testing.T) {
			reg := distribution.Start(t, &distribution.Options{Version: v})
			roundTrip(t, &registry.Client{ChunkSize: 1 << 20}, reg.Host)
		})
	}
}

func TestIntegrationDistributionBasicAuthTLS(t *testing.T) {
	for _, v := range distribution.Versions {
		t.Run(v, func(t *testing.T) { basicAuthTLS(t, v) })
	}
}

func basicAuthTLS(t *testing.T, version string) {
	reg := distribution.Start(t, &distribution.Options{Version: version, TLS: true, Users: map[string]string{"alice": "s3cret-pass"}})
	anon := &registry.Client{RootCAs: reg.Roots, CertsDir: "-"}
	ref, _ := reference.Parse(reg.Host + "/skiff/integration:v1")
	if _, err := anon.Repository(ref).Tags(t.Context()); !errors.Is(err, registry.ErrUnauthorized) {
		t.Fatalf("anonymous: %v, want ErrUnauthorized", err)
	}
	wrong := &registry.Client{RootCAs: reg.Roots, CertsDir: "-", Keychain: auth.Static{reg.Host: {Username: "alice", Password: "nope"}}}
	_, err := wrong.Repository(ref).Tags(t.Context())
	if !errors.Is(err, registry.ErrUnauthorized) || bytes.Contains([]byte(err.Error()), []byte("nope")) {
		t.Fatalf("wrong password: %v", err)
	}
	untrusted := &registry.Client{CertsDir: "-", Keychain: auth.Static{reg.Host: {Username: "alice", Password: "s3cret-pass"}}}
	if _, err := untrusted.Repository(ref).Tags(t.Context()); err == nil {
		t.Fatal("a certificate from an unknown CA was accepted")
	}
	c := &registry.Client{RootCAs: reg.Roots, CertsDir: "-", Keychain: auth.Static{reg.Host: {Username: "alice", Password: "s3cret-pass"}}}
	roundTrip(t, c, reg.Host)
}
