package cosign_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/registry/cosign"
	"github.com/skiffoci/skiff/registry/images/imagestest"
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
	seed, _ := imagestest.Random(100, 1, nil) // a small image to sign
	img, err := seed.Write(ctx, store, "1", nil)
	if err != nil {
		log.Fatal(err)
	}

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
	// signed under sha256-5d1a79dbc0d345275702ade3f7dee51519a9d7ec77412028ca8a205e065f27e9.sig
	// verified: tag ecdsa-sha2-256-nistp256 example.com/app true
	// with another key: true
}
