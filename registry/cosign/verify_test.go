package cosign_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/cosign"
)

// TestVerifyWhatCosignWrote verifies every signature the real cosign made
// in testdata/cosign with the key it made it with.
func TestVerifyWhatCosignWrote(t *testing.T) {
	want := map[string]struct {
		scheme, algorithm string
		n                 int
	}{
		"tag-p256":        {cosign.SchemeTag, "ecdsa-sha2-256-nistp256", 1},
		"tag-p384":        {cosign.SchemeTag, "ecdsa-sha2-384-nistp384", 1}, // cosign signs P-384 over SHA-384
		"tag-ed25519":     {cosign.SchemeTag, "ed25519-ph", 1},              // and Ed25519 pre-hashed
		"tag-rsa":         {cosign.SchemeTag, "rsa-sign-pkcs1-2048-sha256", 1},
		"tag-annotations": {cosign.SchemeTag, "ecdsa-sha2-256-nistp256", 1},
		"tag-two-keys":    {cosign.SchemeTag, "ecdsa-sha2-384-nistp384", 1}, // of two layers, the P-384 key's
		"referrer-p256":   {cosign.SchemeReferrer, "ecdsa-sha2-256-nistp256", 1},
		"bundle-p256":     {cosign.SchemeBundle, "ecdsa-sha2-256-nistp256", 1},
		"bundle-p384":     {cosign.SchemeBundle, "ecdsa-sha2-384-nistp384", 1},
		"bundle-rsa":      {cosign.SchemeBundle, "rsa-sign-pkcs1-2048-sha256", 1},
	}
	for _, name := range caseNames(t) {
		t.Run(name, func(t *testing.T) {
			c, store := loadCase(t, name)
			pub := must(cosign.ParsePublicKey([]byte(c.Key)))
			got, err := cosign.Verify(t.Context(), store, c.Image, pub, nil)
			w, ok := want[name]
			if !ok {
				if !errors.Is(err, cosign.ErrNoSignature) {
					t.Fatalf("Verify: %v, %v; want ErrNoSignature (an attestation is not a signature)", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != w.n {
				t.Fatalf("%d signatures verified, want %d: %+v", len(got), w.n, got)
			}
			v := got[0]
			if v.Scheme != w.scheme || v.Algorithm != w.algorithm || v.Digest != c.Image.Digest {
				t.Errorf("verified %+v; want scheme %s, algorithm %s, digest %s", v, w.scheme, w.algorithm, c.Image.Digest)
			}
			if v.Scheme != cosign.SchemeBundle && !strings.HasSuffix(v.Identity, "/cases/"+name) {
				t.Errorf("identity %q, want the repository cosign signed in", v.Identity)
			}
			if len(v.Unchecked) != 0 {
				t.Errorf("unchecked %q: cosign attached no log entry or certificate", v.Unchecked)
			}
		})
	}
}

// TestVerifyAnnotations checks that the payload's optional object reaches
// the result.
func TestVerifyAnnotations(t *testing.T) {
	c, store := loadCase(t, "tag-annotations")
	got := must(cosign.Verify(t.Context(), store, c.Image, must(cosign.ParsePublicKey([]byte(c.Key))), nil))
	if got[0].Optional["foo"] != "bar" || got[0].Optional["n"] != "1" {
		t.Fatalf("optional %v, want foo=bar n=1", got[0].Optional)
	}
}

// TestVerifyWrongKey checks that no cosign signature verifies with
// another key of the same type.
func TestVerifyWrongKey(t *testing.T) {
	for _, name := range caseNames(t) {
		if strings.HasPrefix(name, "attest") {
			continue
		}
		c, store := loadCase(t, name)
		other := sameTypeKey(t, must(cosign.ParsePublicKey([]byte(c.Key))))
		_, err := cosign.Verify(t.Context(), store, c.Image, other.Public(), nil)
		if !errors.Is(err, cosign.ErrBadSignature) || !strings.Contains(err.Error(), "does not verify with this key") {
			t.Errorf("%s with another key: %v, want ErrBadSignature", name, err)
		}
	}
}

// sameTypeKey returns a new private key of pub's type and size.
func sameTypeKey(t testing.TB, pub crypto.PublicKey) crypto.Signer {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return must(ecdsa.GenerateKey(k.Curve, rand.Reader))
	case *rsa.PublicKey:
		return must(rsa.GenerateKey(rand.Reader, k.N.BitLen()))
	}
	return ed25519Key(t)
}

// TestVerifyTamperedPayload changes a byte of a cosign payload (and the
// manifest to match, as an attacker with write access to the registry
// could): the signature no longer verifies.
func TestVerifyTamperedPayload(t *testing.T) {
	for _, name := range []string{"tag-p256", "referrer-p256"} {
		c, store := loadCase(t, name)
		sigDesc := signatureManifest(t, c, store)
		doc := must(manifest.FetchDocument(t.Context(), store, sigDesc))
		m := *doc.Manifest
		payload := must(manifest.FetchAll(t.Context(), store, m.Layers[0], 1<<20))
		tampered := []byte(strings.Replace(string(payload), `"optional":null`, `"optional":{"x":"y"}`, 1))
		if string(tampered) == string(payload) {
			t.Fatal("tampering changed nothing")
		}
		l := store.put(m.Layers[0].MediaType, tampered)
		l.Annotations = m.Layers[0].Annotations
		m.Layers = []manifest.Descriptor{l}
		replaceManifest(t, c, store, sigDesc, &m)
		_, err := cosign.Verify(t.Context(), store, c.Image, must(cosign.ParsePublicKey([]byte(c.Key))), nil)
		if !errors.Is(err, cosign.ErrBadSignature) {
			t.Errorf("%s tampered: %v, want ErrBadSignature", name, err)
		}
	}
}

// signatureManifest returns the descriptor of a case's signature manifest,
// from its .sig tag or its first referrer.
func signatureManifest(t testing.TB, c *cosignCase, store *memStore) manifest.Descriptor {
	tag := must(manifest.CosignTag(c.Image.Digest, ".sig"))
	if d, ok := store.tags[tag]; ok {
		return d
	}
	return store.referrers[0]
}

// replaceManifest stores m in place of old, under old's tag or as the
// referrer old was.
func replaceManifest(t testing.TB, c *cosignCase, store *memStore, old manifest.Descriptor, m *manifest.Manifest) manifest.Descriptor {
	doc := must(manifest.Marshal(manifest.MediaTypeOCIManifest, m))
	d := store.put(doc.MediaType, doc.Raw)
	for tag, td := range store.tags {
		if td.Digest == old.Digest {
			store.tags[tag] = d
		}
	}
	for i, r := range store.referrers {
		if r.Digest == old.Digest {
			d.ArtifactType = r.ArtifactType
			store.referrers[i] = d
		}
	}
	return d
}

// TestVerifyOtherDigest moves cosign's signature of one image to the .sig
// tag of another: the signature verifies, but names the first image.
func TestVerifyOtherDigest(t *testing.T) {
	c, store := loadCase(t, "tag-p256")
	other := store.put(manifest.MediaTypeOCIManifest, []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`))
	store.tags[must(manifest.CosignTag(other.Digest, ".sig"))] = store.tags[must(manifest.CosignTag(c.Image.Digest, ".sig"))]
	_, err := cosign.Verify(t.Context(), store, other, must(cosign.ParsePublicKey([]byte(c.Key))), nil)
	if !errors.Is(err, cosign.ErrWrongDigest) || !strings.Contains(err.Error(), string(c.Image.Digest)) {
		t.Fatalf("a signature of %s on %s: %v, want ErrWrongDigest naming the signed digest", c.Image.Digest, other.Digest, err)
	}
}

// TestVerifyMissingSignature checks an image nothing refers to, in a
// store with and without the referrers API.
func TestVerifyMissingSignature(t *testing.T) {
	c, store := loadCase(t, "tag-p256")
	delete(store.tags, must(manifest.CosignTag(c.Image.Digest, ".sig")))
	pub := must(cosign.ParsePublicKey([]byte(c.Key)))
	for _, src := range []cosign.Source{store, withoutReferrers{store}} {
		_, err := cosign.Verify(t.Context(), src, c.Image, pub, nil)
		var ve *cosign.VerifyError
		if !errors.Is(err, cosign.ErrNoSignature) || !errors.As(err, &ve) || ve.Checked != 0 {
			t.Errorf("%T: %v, want ErrNoSignature", src, err)
		}
	}
	// A store without the referrers API does not see cosign's oci-1-1 signature.
	c, store = loadCase(t, "referrer-p256")
	if _, err := cosign.Verify(t.Context(), withoutReferrers{store}, c.Image, pub, nil); !errors.Is(err, cosign.ErrNoSignature) {
		t.Errorf("referrer without the referrers API: %v, want ErrNoSignature", err)
	}
}

// TestVerifyIdentity checks --identity against cosign's docker-reference,
// which names the repository without a tag.
func TestVerifyIdentity(t *testing.T) {
	c, store := loadCase(t, "tag-p256")
	pub := must(cosign.ParsePublicKey([]byte(c.Key)))
	signed := must(cosign.Verify(t.Context(), store, c.Image, pub, nil))[0].Identity
	for _, tt := range []struct {
		identity string
		ok       bool
	}{
		{signed, true},
		{signed + ":1", true}, // the payload names no tag to disagree with
		{signed + "@" + string(c.Image.Digest), true},
		{strings.Replace(signed, "/cases/", "/other/", 1), false},
		{"docker.io/library/alpine", false},
		{strings.Replace(signed, "127.0.0.1", "127.0.0.2", 1), false},
	} {
		_, err := cosign.Verify(t.Context(), store, c.Image, pub, &cosign.VerifyOptions{Identity: tt.identity})
		if tt.ok && err != nil || !tt.ok && !errors.Is(err, cosign.ErrIdentityMismatch) {
			t.Errorf("identity %s: %v, want ok=%v", tt.identity, err, tt.ok)
		}
	}
	if _, err := cosign.Verify(t.Context(), store, c.Image, pub, &cosign.VerifyOptions{Identity: "UPPER/case"}); err == nil {
		t.Error("an invalid identity was accepted")
	}
	c, store = loadCase(t, "bundle-p256")
	_, err := cosign.Verify(t.Context(), store, c.Image, must(cosign.ParsePublicKey([]byte(c.Key))), &cosign.VerifyOptions{Identity: signed})
	if !errors.Is(err, cosign.ErrIdentityMismatch) || !strings.Contains(err.Error(), "names no docker-reference") {
		t.Errorf("a bundle with an identity asked for: %v, want ErrIdentityMismatch", err)
	}
}

// TestVerifyPicksTheTellingFailure puts a signature by another key beside
// one by the right key that names another image: the error names the
// wrong digest, the more telling failure.
func TestVerifyPicksTheTellingFailure(t *testing.T) {
	store := newMemStore()
	img := store.put(manifest.MediaTypeOCIManifest, []byte(`{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`))
	key, other := must(newKey()), must(newKey())
	addLegacy(t, store, img.Digest, other, "host/repo", img.Digest, nil)
	addLegacy(t, store, img.Digest, key, "host/repo", manifest.FromString("another image"), nil)
	_, err := cosign.Verify(t.Context(), store, img, key.Public(), nil)
	var ve *cosign.VerifyError
	if !errors.Is(err, cosign.ErrWrongDigest) || !errors.As(err, &ve) || ve.Checked != 2 {
		t.Fatalf("%v, want ErrWrongDigest after 2 signatures", err)
	}
	if strings.Count(err.Error(), "\n") != 0 || !strings.Contains(err.Error(), "2 signatures examined") {
		t.Errorf("error %q: want one line counting the signatures", err)
	}
}

// TestVerifyKeylessAndLogEntries builds what cosign attaches when a
// certificate or a Rekor bundle is involved: a keyless signature is
// reported as needing a transparency log; a key signature with a log
// entry verifies, and says the entry was not checked.
func TestVerifyKeylessAndLogEntries(t *testing.T) {
	store := newMemStore()
	img := store.put(manifest.MediaTypeOCIManifest, []byte(`{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`))
	key, ephemeral := must(newKey()), must(newKey())
	addLegacy(t, store, img.Digest, ephemeral, "host/repo", img.Digest, map[string]string{
		cosign.AnnotationCertificate: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		cosign.AnnotationBundle:      `{"SignedEntryTimestamp":"AA==","Payload":{"body":"AA==","integratedTime":1,"logIndex":1,"logID":"00"}}`,
	})
	_, err := cosign.Verify(t.Context(), store, img, key.Public(), nil)
	if !errors.Is(err, cosign.ErrNeedsTransparencyLog) || !strings.Contains(err.Error(), "not verifiable with a key") {
		t.Fatalf("keyless signature: %v, want ErrNeedsTransparencyLog", err)
	}
	addLegacy(t, store, img.Digest, key, "host/repo", img.Digest, map[string]string{
		cosign.AnnotationBundle: `{"SignedEntryTimestamp":"AA==","Payload":{"body":"AA==","integratedTime":1,"logIndex":1,"logID":"00"}}`,
	})
	got, err := cosign.Verify(t.Context(), store, img, key.Public(), nil)
	if err != nil || len(got) != 1 || len(got[0].Unchecked) != 1 || !strings.Contains(got[0].Unchecked[0], "transparency log") {
		t.Fatalf("key signature with a log entry: %+v, %v; want verified with the entry unchecked", got, err)
	}
}

// addLegacy signs a payload naming ref and signed with key, and appends
// it, with extra annotations, to the .sig tag of img.
func addLegacy(t testing.TB, store *memStore, img manifest.Digest, key crypto.Signer, ref string, signed manifest.Digest, extra map[string]string) {
	t.Helper()
	payload := must((&cosign.Payload{Reference: ref, Digest: signed}).Marshal())
	sig := must(cosign.SignBytes(key, payload))
	l := store.put(cosign.PayloadMediaType, payload)
	l.Annotations = map[string]string{cosign.AnnotationSignature: b64(sig)}
	for k, v := range extra {
		l.Annotations[k] = v
	}
	tag := must(manifest.CosignTag(img, ".sig"))
	m := manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIManifest,
		Config: store.put(manifest.MediaTypeOCIConfig, []byte("{}"))}
	if d, ok := store.tags[tag]; ok {
		m.Layers = must(manifest.FetchDocument(t.Context(), store, d)).Manifest.Layers
	}
	m.Layers = append(m.Layers, l)
	doc := must(manifest.Marshal(manifest.MediaTypeOCIManifest, &m))
	store.tags[tag] = store.put(doc.MediaType, doc.Raw)
}

// TestVerifyMalformedLayers checks annotations that are not base64 and
// layers that are not cosign payloads.
func TestVerifyMalformedLayers(t *testing.T) {
	c, store := loadCase(t, "tag-p256")
	sigDesc := signatureManifest(t, c, store)
	m := *must(manifest.FetchDocument(t.Context(), store, sigDesc)).Manifest
	m.Layers[0].Annotations = map[string]string{cosign.AnnotationSignature: "not base64!"}
	replaceManifest(t, c, store, sigDesc, &m)
	_, err := cosign.Verify(t.Context(), store, c.Image, must(cosign.ParsePublicKey([]byte(c.Key))), nil)
	if !errors.Is(err, cosign.ErrInvalidPayload) || !strings.Contains(err.Error(), "not base64") {
		t.Fatalf("a signature that is not base64: %v", err)
	}
}
