package cosign_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/cosign"
)

// testKeys returns a key of every type Sign supports, with the algorithm
// Verify should report for it: the one "cosign verify --key" checks by
// default.
func testKeys(t testing.TB) map[string]struct {
	key crypto.Signer
	alg string
} {
	return map[string]struct {
		key crypto.Signer
		alg string
	}{
		"p256":    {must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)), "ecdsa-sha2-256-nistp256"},
		"p384":    {must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader)), "ecdsa-sha2-256-nistp384"},
		"p521":    {must(ecdsa.GenerateKey(elliptic.P521(), rand.Reader)), "ecdsa-sha2-256-nistp521"},
		"ed25519": {ed25519Key(t), "ed25519"},
		"rsa2048": {must(rsa.GenerateKey(rand.Reader, 2048)), "rsa-sign-pkcs1-2048-sha256"},
	}
}

// TestSignVerifyRoundTrip signs with every key type, through PEM, into
// an in-memory store and an OCI layout, and verifies.
func TestSignVerifyRoundTrip(t *testing.T) {
	for name, k := range testKeys(t) {
		key := must(cosign.ParsePrivateKey(must(cosign.MarshalPrivateKey(k.key))))
		pub := must(cosign.ParsePublicKey(must(cosign.MarshalPublicKey(key.Public()))))
		l := must(layout.Create(t.TempDir()))
		for _, dst := range []cosign.Target{newMemStore(), l} {
			img := putImage(t, dst)
			signed, err := cosign.Sign(t.Context(), dst, img, key, &cosign.SignOptions{Reference: "example.com/app", Optional: map[string]any{"by": "test"}})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got, err := cosign.Verify(t.Context(), dst, img, pub, &cosign.VerifyOptions{Identity: "example.com/app:1"})
			if err != nil {
				t.Fatalf("%s %T: %v", name, dst, err)
			}
			if len(got) != 1 || got[0].Algorithm != k.alg || got[0].Manifest != signed.Manifest.Digest || got[0].Optional["by"] != "test" {
				t.Errorf("%s %T: verified %+v; want one, by %s, in %s", name, dst, got, k.alg, signed.Manifest.Digest)
			}
			other := sameTypeKey(t, pub)
			if _, err := cosign.Verify(t.Context(), dst, img, other.Public(), nil); !errors.Is(err, cosign.ErrBadSignature) {
				t.Errorf("%s: another key: %v, want ErrBadSignature", name, err)
			}
		}
	}
}

// putImage stores a small image in dst and returns its descriptor.
func putImage(t testing.TB, dst cosign.Target) manifest.Descriptor {
	t.Helper()
	empty := manifest.DescriptorFor(manifest.MediaTypeOCIEmpty, []byte("{}"))
	if err := dst.Push(t.Context(), empty, strings.NewReader("{}")); err != nil {
		t.Fatal(err)
	}
	doc := must(manifest.Marshal(manifest.MediaTypeOCIManifest, &manifest.Manifest{SchemaVersion: 2,
		MediaType: manifest.MediaTypeOCIManifest, Config: empty, Layers: []manifest.Descriptor{}}))
	if err := dst.Push(t.Context(), doc.Descriptor(), strings.NewReader(string(doc.Raw))); err != nil {
		t.Fatal(err)
	}
	if err := dst.Tag(t.Context(), doc.Descriptor(), "1"); err != nil {
		t.Fatal(err)
	}
	return doc.Descriptor()
}

// TestSignAppends signs one image with two keys, then with the first
// again: the .sig tag holds both signatures once each.
func TestSignAppends(t *testing.T) {
	store := newMemStore()
	img := putImage(t, store)
	k1, k2 := must(newKey()), must(newKey())
	opts := &cosign.SignOptions{Reference: "example.com/app"}
	first := must(cosign.Sign(t.Context(), store, img, k1, opts))
	second := must(cosign.Sign(t.Context(), store, img, k2, opts))
	again := must(cosign.Sign(t.Context(), store, img, k1, opts))
	if first.Kept != 0 || second.Kept != 1 || !again.AlreadySigned || again.Manifest.Digest != second.Manifest.Digest {
		t.Fatalf("first %+v, second %+v, again %+v", first, second, again)
	}
	doc := must(manifest.FetchDocument(t.Context(), store, store.tags[first.Tag]))
	if len(doc.Manifest.Layers) != 2 {
		t.Fatalf("%d layers, want 2", len(doc.Manifest.Layers))
	}
	for _, k := range []crypto.Signer{k1, k2} {
		if got, err := cosign.Verify(t.Context(), store, img, k.Public(), nil); err != nil || len(got) != 1 {
			t.Errorf("verify: %v, %v; want one signature by each key", got, err)
		}
	}
}

// TestSignAppendsToCosign adds skiff's signature to the .sig tag cosign
// wrote: cosign's stays, and the config is the one cosign writes for the
// same layers.
func TestSignAppendsToCosign(t *testing.T) {
	c, store := loadCase(t, "tag-p256")
	key := must(newKey())
	signed := must(cosign.Sign(t.Context(), store, c.Image, key, &cosign.SignOptions{Reference: "example.com/app"}))
	if signed.Kept != 1 {
		t.Fatalf("kept %d signatures, want cosign's 1", signed.Kept)
	}
	for _, pub := range []crypto.PublicKey{key.Public(), must(cosign.ParsePublicKey([]byte(c.Key)))} {
		if _, err := cosign.Verify(t.Context(), store, c.Image, pub, nil); err != nil {
			t.Error(err)
		}
	}
	// cosign's two-signature manifest and its config, rebuilt from its layers.
	two, store2 := loadCase(t, "tag-two-keys")
	doc := must(manifest.FetchDocument(t.Context(), store2, two.Tags[must(manifest.CosignTag(two.Image.Digest, ".sig"))]))
	config := must(manifest.FetchAll(t.Context(), store2, doc.Manifest.Config, 1<<20))
	if got := string(cosign.SignatureConfig(doc.Manifest.Layers)); got != string(config) {
		t.Errorf("config for cosign's layers:\n%s\nwant cosign's\n%s", got, config)
	}
}

// TestSignRefusesForeignTag leaves alone a .sig tag that does not hold
// cosign signatures.
func TestSignRefusesForeignTag(t *testing.T) {
	store := newMemStore()
	img := putImage(t, store)
	tag := must(manifest.CosignTag(img.Digest, ".sig"))
	store.tags[tag] = store.put(manifest.MediaTypeOCIIndex, []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`))
	_, err := cosign.Sign(t.Context(), store, img, must(newKey()), &cosign.SignOptions{Reference: "example.com/app"})
	if err == nil || !strings.Contains(err.Error(), "not replacing it") {
		t.Fatalf("signing over an index: %v", err)
	}
	store.tags[tag] = img // an image manifest, with no payload layers but a config
	m := manifest.Manifest{SchemaVersion: 2, Config: img, Layers: []manifest.Descriptor{img}}
	doc := must(manifest.Marshal(manifest.MediaTypeOCIManifest, &m))
	store.tags[tag] = store.put(doc.MediaType, doc.Raw)
	if _, err := cosign.Sign(t.Context(), store, img, must(newKey()), &cosign.SignOptions{Reference: "example.com/app"}); err == nil {
		t.Fatal("signing over a manifest of other layers succeeded")
	}
	if _, err := cosign.Sign(t.Context(), store, img, must(newKey()), nil); err == nil {
		t.Fatal("signing without a reference succeeded")
	}
}

// TestPayloadMatchesCosign re-encodes each payload cosign wrote: the bytes
// are cosign's, so skiff's signatures sign what cosign's would.
func TestPayloadMatchesCosign(t *testing.T) {
	for _, name := range []string{"tag-p256", "tag-annotations", "referrer-p256"} {
		c, store := loadCase(t, name)
		doc := must(manifest.FetchDocument(t.Context(), store, signatureManifest(t, c, store)))
		raw := must(manifest.FetchAll(t.Context(), store, doc.Manifest.Layers[0], 1<<20))
		p := must(cosign.ParsePayload(raw))
		if got := must(p.Marshal()); string(got) != string(raw) {
			t.Errorf("%s: re-encoded\n%s\nwant cosign's\n%s", name, got, raw)
		}
	}
}
