// Package cosign signs images and verifies their signatures in the formats
// cosign (https://github.com/sigstore/cosign) writes, with a key and the
// standard library alone: crypto/ecdsa, crypto/ed25519, crypto/rsa,
// crypto/x509 and encoding/json.
//
// # What it reads and writes
//
//   - The "simple signing" payload ([Payload]): a small JSON document
//     naming the image's manifest digest and a docker-reference, as
//     defined by containers-signature(5) and written by cosign. Parsing is
//     strict and bounded ([ParsePayload]).
//   - The tag scheme: a manifest tagged "sha256-<hex>.sig"
//     (manifest.CosignTag names it)
//     in the image's repository, one layer per signature, each layer a
//     payload of media type [PayloadMediaType] whose annotation
//     [AnnotationSignature] is the base64 signature of the payload's bytes.
//     [Sign] writes this form, appending to signatures already there as
//     cosign does; "cosign verify --key" accepts it.
//   - The OCI 1.1 scheme: the same payload in a manifest that refers to the
//     image through its subject field, of artifact type
//     [ArtifactTypeSignature] (cosign --registry-referrers-mode=oci-1-1),
//     and sigstore bundles ([ParseBundle], media type [BundleMediaType])
//     holding a DSSE envelope around an in-toto statement whose predicate
//     type is [SignPredicateType] (cosign --new-bundle-format, the default
//     of cosign 3), or a message signature over the image's digest.
//
// Keys are PEM: public keys as PKIX "PUBLIC KEY" blocks (ECDSA P-256, P-384
// and P-521, Ed25519, RSA of 2048 bits or more), private keys as unencrypted
// PKCS #8 "PRIVATE KEY" blocks ([ParsePrivateKey]). The encrypted keys
// cosign generate-key-pair writes need scrypt and NaCl secretbox, which the
// standard library does not have, so they are refused with [ErrEncryptedKey]
// and a way to convert them.
//
// # What it cannot check
//
// Keyless signatures (a Fulcio certificate in place of a key), Rekor
// transparency log entries and RFC 3161 timestamps need the sigstore trust
// root and a transparency log, which this package does not have. A
// signature that carries them and verifies with the given key is reported
// as verified by the key, with a note that the log entry or certificate was
// not checked ([Verified.Unchecked]); one that does not verify with the key
// fails with [ErrNeedsTransparencyLog]. Nothing that was not checked is ever
// reported as valid.
//
// # Where it sits
//
// The package imports only manifest and reference, so it works with any
// store through manifest's interfaces (a registry.Repository, a
// layout.Layout) and never with the registry client directly. It lives
// under registry because signatures are registry content (tags and the
// referrers API of the OCI distribution spec,
// https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-referrers)
// and because registry's place in the import order allows reference, which
// compares the signed identity with the one asked for; a sub-package of
// manifest could import manifest alone, and none of the public API belongs
// under internal, since a library user needs Sign and Verify.
//
// [Find] lists what is attached to one image (the .sig, .att and .sbom
// tags and the referrers); images.Walk follows them through a whole graph
// for "skiff copy --referrers".
package cosign
