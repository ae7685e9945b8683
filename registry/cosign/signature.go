package cosign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"strconv"
)

// ErrBadSignature is wrapped when a signature does not verify with the key.
var ErrBadSignature = errors.New("signature does not verify with this key")

// SignBytes signs msg with key the way "cosign verify --key" checks it by
// default: ECDSA over SHA-256 (any curve) with an ASN.1 signature, RSA
// PKCS #1 v1.5 over SHA-256, or pure Ed25519. The signature is verified
// before it is returned.
func SignBytes(key crypto.Signer, msg []byte) ([]byte, error) {
	var sig []byte
	var err error
	switch key.Public().(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey:
		h := sha256.Sum256(msg)
		sig, err = key.Sign(rand.Reader, h[:], crypto.SHA256)
	case ed25519.PublicKey:
		sig, err = key.Sign(rand.Reader, msg, crypto.Hash(0))
	default:
		return nil, errKeyType
	}
	if err != nil {
		return nil, wrap("signing", err)
	}
	if _, err := VerifyBytes(key.Public(), msg, sig); err != nil {
		return nil, wrap("the key made a signature that does not verify", err)
	}
	return sig, nil
}

// VerifyBytes checks sig over msg with pub and returns the algorithm that
// verified it, named as sigstore's algorithm registry names it
// ("ecdsa-sha2-256-nistp256"). It accepts every pairing cosign signs with:
// ECDSA over SHA-256 or over the curve's own hash (cosign signs with a
// P-384 key over SHA-384), RSA PKCS #1 v1.5 or PSS over SHA-256, and
// Ed25519 pure or pre-hashed with SHA-512 (Ed25519ph, cosign's default
// when it signs with an Ed25519 key).
func VerifyBytes(pub crypto.PublicKey, msg, sig []byte) (string, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		for _, h := range ecdsaHashes(k.Curve) {
			if ecdsa.VerifyASN1(k, hashOf(h, msg), sig) {
				return ecdsaName(k.Curve, h), nil
			}
		}
	case *rsa.PublicKey:
		d := hashOf(crypto.SHA256, msg)
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, d, sig) == nil {
			return rsaName("pkcs1", k), nil
		}
		if rsa.VerifyPSS(k, crypto.SHA256, d, sig, nil) == nil {
			return rsaName("pss", k), nil
		}
	case ed25519.PublicKey:
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, msg, sig) {
			return "ed25519", nil
		}
		if verifyEd25519ph(k, hashOf(crypto.SHA512, msg), sig) {
			return "ed25519-ph", nil
		}
	default:
		return "", errKeyType
	}
	return "", ErrBadSignature
}

// verifyDigest checks sig made over an artifact whose hash h is digest,
// as a sigstore bundle's message signature is checked without the
// artifact.
func verifyDigest(pub crypto.PublicKey, h crypto.Hash, digest, sig []byte) (string, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		for _, want := range ecdsaHashes(k.Curve) {
			if h == want && ecdsa.VerifyASN1(k, digest, sig) {
				return ecdsaName(k.Curve, h), nil
			}
		}
	case *rsa.PublicKey:
		if h != crypto.SHA256 {
			break
		}
		if rsa.VerifyPKCS1v15(k, h, digest, sig) == nil {
			return rsaName("pkcs1", k), nil
		}
		if rsa.VerifyPSS(k, h, digest, sig, nil) == nil {
			return rsaName("pss", k), nil
		}
	case ed25519.PublicKey:
		if h == crypto.SHA512 && verifyEd25519ph(k, digest, sig) {
			return "ed25519-ph", nil
		}
	default:
		return "", errKeyType
	}
	return "", ErrBadSignature
}

func verifyEd25519ph(k ed25519.PublicKey, digest, sig []byte) bool {
	if len(k) != ed25519.PublicKeySize {
		return false
	}
	return ed25519.VerifyWithOptions(k, digest, sig, &ed25519.Options{Hash: crypto.SHA512}) == nil
}

// ecdsaHashes lists the hashes cosign pairs with curve, SHA-256 first.
func ecdsaHashes(curve elliptic.Curve) []crypto.Hash {
	switch curve {
	case elliptic.P384():
		return []crypto.Hash{crypto.SHA256, crypto.SHA384}
	case elliptic.P521():
		return []crypto.Hash{crypto.SHA256, crypto.SHA512}
	}
	return []crypto.Hash{crypto.SHA256}
}

func hashOf(h crypto.Hash, msg []byte) []byte {
	switch h {
	case crypto.SHA384:
		d := sha512.Sum384(msg)
		return d[:]
	case crypto.SHA512:
		d := sha512.Sum512(msg)
		return d[:]
	}
	d := sha256.Sum256(msg)
	return d[:]
}

// ecdsaName is sigstore's name for ECDSA on curve over h.
func ecdsaName(curve elliptic.Curve, h crypto.Hash) string {
	return "ecdsa-sha2-" + strconv.Itoa(h.Size()*8) + "-nistp" + strconv.Itoa(curve.Params().BitSize)
}

func rsaName(padding string, k *rsa.PublicKey) string {
	return "rsa-sign-" + padding + "-" + strconv.Itoa(k.N.BitLen()) + "-sha256"
}
