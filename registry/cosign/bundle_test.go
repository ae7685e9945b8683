package cosign_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/cosign"
)

// cosignBundle returns the bundle cosign wrote in testdata case name.
func cosignBundle(t testing.TB, name string) []byte {
	t.Helper()
	c, store := loadCase(t, name)
	doc := must(manifest.FetchDocument(t.Context(), store, c.Referrers[0]))
	return must(manifest.FetchAll(t.Context(), store, doc.Manifest.Layers[0], cosign.MaxBundleSize))
}

func TestParseBundle(t *testing.T) {
	raw := cosignBundle(t, "bundle-p256")
	b, err := cosign.ParseBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	if b.MediaType != cosign.BundleMediaType || b.PublicKeyHint == "" || b.Envelope == nil || b.MessageSignature != nil ||
		b.Envelope.PayloadType != cosign.InTotoPayloadType || len(b.Envelope.Signatures) != 1 || len(b.Certificates) != 0 {
		t.Fatalf("parsed %+v", b)
	}
	st, err := cosign.ParseStatement(b.Envelope.Payload)
	if err != nil || st.PredicateType != cosign.SignPredicateType || st.Subjects[0]["sha256"] != strings.TrimPrefix(goodDigest, "sha256:") {
		t.Fatalf("statement %+v, %v", st, err)
	}
	s := string(raw)
	bad := []struct{ name, in, want string }{
		{"not JSON", s[:len(s)/2], "invalid JSON"},
		{"media type", strings.Replace(s, cosign.BundleMediaType, "application/json", 1), "media type"},
		{"no content", `{"mediaType":"` + cosign.BundleMediaType + `","verificationMaterial":{"publicKey":{"hint":"x"}}}`, "exactly one"},
		{"both contents", strings.Replace(s, `"dsseEnvelope"`, `"messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"AA=="},"signature":"AA=="},"dsseEnvelope"`, 1), "exactly one"},
		{"no material", strings.Replace(s, `"verificationMaterial"`, `"x-verificationMaterial"`, 1), "unknown field"},
		{"empty material", strings.Replace(s, `"publicKey"`, `"tlogEntries":[],"x"`, 1), "unknown field"},
		{"bad base64", strings.Replace(s, `"payload":"`, `"payload":"!`, 1), "base64"},
		{"unknown field", strings.Replace(s, `"dsseEnvelope"`, `"extra":1,"dsseEnvelope"`, 1), "unknown field"},
		{"repeated key", strings.Replace(s, `"dsseEnvelope"`, `"mediaType":"x","dsseEnvelope"`, 1), "appears twice"},
		{"no signatures", `{"mediaType":"` + cosign.BundleMediaType + `","verificationMaterial":{"publicKey":{"hint":"x"}},"dsseEnvelope":{"payload":"AA==","payloadType":"t","signatures":[]}}`, "without signatures"},
		{"empty signature", `{"mediaType":"` + cosign.BundleMediaType + `","verificationMaterial":{"publicKey":{"hint":"x"}},"dsseEnvelope":{"payload":"AA==","payloadType":"t","signatures":[{"sig":""}]}}`, "empty DSSE signature"},
		{"message without digest", `{"mediaType":"` + cosign.BundleMediaType + `","verificationMaterial":{"publicKey":{"hint":"x"}},"messageSignature":{"signature":"AA=="}}`, "without digest"},
		{"trailing data", s + "[]", "after the JSON value"},
	}
	for _, tt := range bad {
		_, err := cosign.ParseBundle([]byte(tt.in))
		if !errors.Is(err, cosign.ErrInvalidBundle) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want ErrInvalidBundle mentioning %q", tt.name, err, tt.want)
		}
	}
	var le *manifest.LimitError
	if _, err := cosign.ParseBundle([]byte(strings.Repeat(" ", cosign.MaxBundleSize+1))); !errors.As(err, &le) {
		t.Errorf("oversized bundle: %v, want a LimitError", err)
	}
}

func TestParseStatement(t *testing.T) {
	for _, in := range []string{
		`{"_type":"https://in-toto.io/Statement/v2","subject":[{"digest":{"sha256":"ab"}}],"predicateType":"p"}`,
		`{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"p"}`,
		`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"ab"}}],"predicateType":"p","x":1}`,
		`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":1}}],"predicateType":"p"}`,
	} {
		if _, err := cosign.ParseStatement([]byte(in)); !errors.Is(err, cosign.ErrInvalidBundle) {
			t.Errorf("ParseStatement(%s): %v, want ErrInvalidBundle", in, err)
		}
	}
}

// TestPAE checks DSSE's pre-authentication encoding against the example
// in the DSSE specification.
func TestPAE(t *testing.T) {
	got := string(cosign.PAE("http://example.com/HelloWorld", []byte("hello world")))
	if want := "DSSEv1 29 http://example.com/HelloWorld 11 hello world"; got != want {
		t.Fatalf("PAE: %q, want %q", got, want)
	}
}

// addBundle attaches bundle to img as cosign does: a referrer of the
// bundle's artifact type with the bundle as its one layer.
func addBundle(t testing.TB, store *memStore, img manifest.Descriptor, bundle []byte) {
	t.Helper()
	l := store.put(cosign.BundleMediaType, bundle)
	subject := img
	m := manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIManifest, ArtifactType: cosign.BundleMediaType,
		Config: store.put(manifest.MediaTypeOCIEmpty, []byte("{}")), Layers: []manifest.Descriptor{l}, Subject: &subject}
	doc := must(manifest.Marshal(manifest.MediaTypeOCIManifest, &m))
	if err := store.Push(t.Context(), doc.Descriptor(), strings.NewReader(string(doc.Raw))); err != nil {
		t.Fatal(err)
	}
}

type jsonObject = map[string]any

func bundleJSON(material jsonObject, content string, value jsonObject) []byte {
	return must(json.Marshal(jsonObject{"mediaType": cosign.BundleMediaType, "verificationMaterial": material, content: value}))
}

// TestVerifyMessageSignature checks bundles whose message signature signs
// the image's digest, by the key, by a certificate's key, and for another
// image.
func TestVerifyMessageSignature(t *testing.T) {
	key := must(newKey())
	sign := func(k crypto.Signer, d manifest.Digest) []byte {
		h := must(hex.DecodeString(d.Hex()))
		msg := jsonObject{"messageDigest": jsonObject{"algorithm": "SHA2_256", "digest": h},
			"signature": must(ecdsa.SignASN1(rand.Reader, k.(*ecdsa.PrivateKey), h))}
		return bundleJSON(jsonObject{"publicKey": jsonObject{"hint": "k"}, "tlogEntries": []jsonObject{{"logIndex": "1"}}}, "messageSignature", msg)
	}
	store := newMemStore()
	img := putImage(t, store)
	addBundle(t, store, img, sign(key, manifest.FromString("another image")))
	if _, err := cosign.Verify(t.Context(), store, img, key.Public(), nil); !errors.Is(err, cosign.ErrWrongDigest) {
		t.Fatalf("a message signature of another digest: %v, want ErrWrongDigest", err)
	}
	keyless := bundleJSON(jsonObject{"certificate": jsonObject{"rawBytes": []byte("not checked")}}, "messageSignature",
		jsonObject{"messageDigest": jsonObject{"algorithm": "SHA2_256", "digest": must(hex.DecodeString(img.Digest.Hex()))}, "signature": []byte("x")})
	store2 := newMemStore()
	addBundle(t, store2, putImage(t, store2), keyless)
	if _, err := cosign.Verify(t.Context(), store2, img, key.Public(), nil); !errors.Is(err, cosign.ErrNeedsTransparencyLog) {
		t.Fatalf("a keyless message signature: %v, want ErrNeedsTransparencyLog", err)
	}
	addBundle(t, store, img, sign(key, img.Digest))
	got, err := cosign.Verify(t.Context(), store, img, key.Public(), nil)
	if err != nil || len(got) != 1 || got[0].Scheme != cosign.SchemeBundle || strings.Join(got[0].Unchecked, ",") != "transparency log entry" {
		t.Fatalf("verified %+v, %v; want the bundle, its log entry unchecked", got, err)
	}
}

// TestVerifyEnvelopeOfAnotherImage signs a statement about another image
// with the right key.
func TestVerifyEnvelopeOfAnotherImage(t *testing.T) {
	key := must(newKey())
	store := newMemStore()
	img := putImage(t, store)
	other := manifest.FromString("another image")
	st := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"` + other.Hex() + `"}}],"predicateType":"` + cosign.SignPredicateType + `"}`
	sig := must(cosign.SignBytes(key, cosign.PAE(cosign.InTotoPayloadType, []byte(st))))
	addBundle(t, store, img, bundleJSON(jsonObject{"publicKey": jsonObject{"hint": "k"}}, "dsseEnvelope",
		jsonObject{"payload": []byte(st), "payloadType": cosign.InTotoPayloadType, "signatures": []jsonObject{{"sig": sig}}}))
	_, err := cosign.Verify(t.Context(), store, img, key.Public(), nil)
	if !errors.Is(err, cosign.ErrWrongDigest) || !strings.Contains(err.Error(), string(other)) {
		t.Fatalf("%v, want ErrWrongDigest naming %s", err, other)
	}
}
