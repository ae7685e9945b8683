package cosign_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/cosign"
)

// Example signs an image in an OCI layout with a new key, as "skiff sign"
// does in a registry, then verifies it with the public key, and with
// another key.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "cosign-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := layout.Create(dir) // a registry.Repository works the same way
	if err != nil {
		log.Fatal(err)
	}
	img := exampleImage(ctx, store)

	// A key pair, as "skiff generate-key" writes it to cosign.key and cosign.pub.
	privatePEM, publicPEM, err := cosign.GenerateKeyPair()
	if err != nil {
		log.Fatal(err)
	}

	signer, err := cosign.ParsePrivateKey(privatePEM)
	if err != nil {
		log.Fatal(err)
	}
	signed, err := cosign.Sign(ctx, store, img, signer, &cosign.SignOptions{Reference: "example.com/app"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed under", signed.Tag)

	pub, err := cosign.ParsePublicKey(publicPEM)
	if err != nil {
		log.Fatal(err)
	}
	verified, err := cosign.Verify(ctx, store, img, pub, &cosign.VerifyOptions{Identity: "example.com/app"})
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range verified {
		fmt.Println("verified:", v.Scheme, v.Algorithm, v.Identity, v.Digest == img.Digest)
	}

	_, otherPEM, _ := cosign.GenerateKeyPair()
	other, _ := cosign.ParsePublicKey(otherPEM)
	_, err = cosign.Verify(ctx, store, img, other, nil)
	fmt.Println("with another key:", errors.Is(err, cosign.ErrBadSignature))
	// Output:
	// signed under sha256-1ccb399e44f3e0ec86bb1a95031c6b9f81ac77860556a81a90acb79bab8005d9.sig
	// verified: tag ecdsa-sha2-256-nistp256 example.com/app true
	// with another key: true
}

// exampleImage stores an empty image in store.
func exampleImage(ctx context.Context, store *layout.Layout) manifest.Descriptor {
	config := manifest.DescriptorFor(manifest.MediaTypeOCIEmpty, []byte("{}"))
	raw := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"` +
		string(config.Digest) + `","size":2},"layers":[]}`)
	img := manifest.DescriptorFor(manifest.MediaTypeOCIManifest, raw)
	if err := store.Push(ctx, config, bytes.NewReader([]byte("{}"))); err != nil {
		log.Fatal(err)
	}
	if err := store.Push(ctx, img, bytes.NewReader(raw)); err != nil {
		log.Fatal(err)
	}
	if err := store.Tag(ctx, img, "1"); err != nil {
		log.Fatal(err)
	}
	return img
}
