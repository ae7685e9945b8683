package cosign

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strconv"

	"github.com/skiffoci/skiff/manifest"
)

// PEM block types of keys.
const (
	pemPublicKey         = "PUBLIC KEY"
	pemRSAPublicKey      = "RSA PUBLIC KEY"
	pemPrivateKey        = "PRIVATE KEY"
	pemECPrivateKey      = "EC PRIVATE KEY"
	pemRSAPrivateKey     = "RSA PRIVATE KEY"
	pemEncryptedPKCS8    = "ENCRYPTED PRIVATE KEY"
	pemEncryptedCosign   = "ENCRYPTED COSIGN PRIVATE KEY"
	pemEncryptedSigstore = "ENCRYPTED SIGSTORE PRIVATE KEY"
	pemCertificate       = "CERTIFICATE"
)

// MinRSABits is the smallest RSA key accepted; sigstore's algorithm
// registry starts at 2048 bits.
const MinRSABits = 2048

// maxKeyFile bounds a PEM key read by the parsers.
const maxKeyFile = 64 << 10

var (
	// ErrEncryptedKey is wrapped when a private key is encrypted. cosign's
	// own keys ("ENCRYPTED SIGSTORE PRIVATE KEY", written by cosign
	// generate-key-pair) are sealed with scrypt and NaCl secretbox, which
	// Go's standard library does not have.
	ErrEncryptedKey = errors.New("encrypted private keys are not supported")
	// ErrUnsupportedKey is wrapped for keys of a type or size not supported.
	ErrUnsupportedKey = errors.New("unsupported key")

	errKeyType = because(ErrUnsupportedKey, "not an ECDSA, Ed25519 or RSA key")
)

// encryptedAdvice says how to get a key this package can use.
const encryptedAdvice = "use an unencrypted PKCS #8 key instead: make one with \"skiff generate-key\" " +
	"(or openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256), and run \"cosign import-key-pair --key KEY\" " +
	"to give cosign an encrypted copy of the same key; or sign with cosign"

// ParsePublicKey parses a PEM public key: a PKIX "PUBLIC KEY" block (what
// cosign writes to cosign.pub) or a PKCS #1 "RSA PUBLIC KEY" block holding
// an ECDSA P-256, P-384 or P-521, Ed25519 or RSA (at least MinRSABits) key.
func ParsePublicKey(pemBytes []byte) (crypto.PublicKey, error) {
	block, err := onePEMBlock(pemBytes)
	if err != nil {
		return nil, err
	}
	var pub crypto.PublicKey
	switch block.Type {
	case pemPublicKey:
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case pemRSAPublicKey:
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case pemCertificate:
		return nil, because(ErrUnsupportedKey, "a certificate, not a public key; keyless (certificate) verification needs sigstore's trust root, which skiff does not have")
	case pemPrivateKey, pemECPrivateKey, pemRSAPrivateKey, pemEncryptedPKCS8, pemEncryptedCosign, pemEncryptedSigstore:
		return nil, because(ErrUnsupportedKey, "this is a private key ("+block.Type+"); verify with the public key (cosign.pub)")
	default:
		return nil, because(ErrUnsupportedKey, "PEM block "+strconv.Quote(truncate(block.Type, 64))+" is not a public key")
	}
	if err != nil {
		return nil, wrap("public key", err)
	}
	return pub, checkPublicKey(pub)
}

// ParsePrivateKey parses an unencrypted PEM private key: PKCS #8 ("PRIVATE
// KEY", what GenerateKey's keys are written as), SEC 1 ("EC PRIVATE KEY")
// or PKCS #1 ("RSA PRIVATE KEY"). Encrypted keys, cosign's among them, are
// refused with an error wrapping ErrEncryptedKey that says what to do.
func ParsePrivateKey(pemBytes []byte) (crypto.Signer, error) {
	block, err := onePEMBlock(pemBytes)
	if err != nil {
		return nil, err
	}
	var key any
	switch block.Type {
	case pemPrivateKey:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case pemECPrivateKey:
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case pemRSAPrivateKey:
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case pemEncryptedCosign, pemEncryptedSigstore:
		return nil, because(ErrEncryptedKey, "this is a cosign key ("+block.Type+"), sealed with scrypt and NaCl secretbox, which are not in Go's standard library; "+encryptedAdvice)
	case pemEncryptedPKCS8:
		return nil, because(ErrEncryptedKey, "this is an encrypted PKCS #8 key; decrypt it with \"openssl pkcs8 -in KEY -out PLAIN.key\" and keep PLAIN.key private, or "+encryptedAdvice)
	case pemPublicKey, pemRSAPublicKey:
		return nil, because(ErrUnsupportedKey, "this is a public key; signing needs the private key")
	default:
		return nil, because(ErrUnsupportedKey, "PEM block "+strconv.Quote(truncate(block.Type, 64))+" is not a private key")
	}
	if err != nil {
		return nil, wrap("private key", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, because(ErrUnsupportedKey, "a private key of another type")
	}
	return signer, checkPublicKey(signer.Public())
}

// onePEMBlock decodes the first PEM block of b, which may be preceded by
// text but not followed by anything but white space.
func onePEMBlock(b []byte) (*pem.Block, error) {
	if len(b) > maxKeyFile {
		return nil, &manifest.LimitError{What: "cosign key file", Limit: maxKeyFile}
	}
	block, rest := pem.Decode(b)
	if block == nil {
		return nil, because(ErrUnsupportedKey, "no PEM block found")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, because(ErrUnsupportedKey, "more than one PEM block, or data after it")
	}
	return block, nil
}

// checkPublicKey refuses key types, curves and sizes sigstore does not
// sign with.
func checkPublicKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil
		}
		return because(ErrUnsupportedKey, "ECDSA curve "+k.Curve.Params().Name)
	case ed25519.PublicKey:
		return nil
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return because(ErrUnsupportedKey, "RSA key of "+strconv.Itoa(k.N.BitLen())+" bits, fewer than "+strconv.Itoa(MinRSABits))
		}
		return nil
	}
	return errKeyType
}

// DER around a P-256 key: what x509.MarshalPKCS8PrivateKey and
// MarshalPKIXPublicKey write, byte for byte, before, between and after the
// 32-byte scalar and the 65-byte uncompressed point.
var (
	p256PKCS8Prefix = []byte("\x30\x81\x87\x02\x01\x00\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07\x04\x6d\x30\x6b\x02\x01\x01\x04\x20")
	p256PKCS8Middle = []byte("\xa1\x44\x03\x42\x00")
	p256PKIXPrefix  = []byte("\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07\x03\x42\x00")
)

// GenerateKeyPair returns a new ECDSA P-256 key pair, the kind cosign
// generate-key-pair makes, as PEM: the private key as unencrypted PKCS #8
// (anyone who reads it can sign as its owner), the public key as PKIX.
func GenerateKeyPair() (privatePEM, publicPEM []byte, err error) {
	// crypto/ecdh makes the same scalar and point as crypto/ecdsa would,
	// and is already in every binary that speaks TLS.
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, wrap("generating a key", err)
	}
	d, pub := k.Bytes(), k.PublicKey().Bytes()
	pkcs8 := append(append(append(append([]byte(nil), p256PKCS8Prefix...), d...), p256PKCS8Middle...), pub...)
	pkix := append(append([]byte(nil), p256PKIXPrefix...), pub...)
	return pemEncode(pemPrivateKey, pkcs8), pemEncode(pemPublicKey, pkix), nil
}

// MarshalPrivateKey encodes key as an unencrypted PKCS #8 PEM block:
// anyone who reads it can sign as its owner.
func MarshalPrivateKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, wrap("private key", err)
	}
	return pemEncode(pemPrivateKey, der), nil
}

// MarshalPublicKey encodes pub as a PKIX PEM block, as cosign writes
// cosign.pub.
func MarshalPublicKey(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, wrap("public key", err)
	}
	return pemEncode(pemPublicKey, der), nil
}

// pemEncode writes der as encoding/pem does, without headers: base64 in
// lines of 64 characters.
func pemEncode(typ string, der []byte) []byte {
	b64 := base64.StdEncoding.EncodeToString(der)
	out := []byte("-----BEGIN " + typ + "-----\n")
	for len(b64) > 64 {
		out = append(append(out, b64[:64]...), '\n')
		b64 = b64[64:]
	}
	return append(out, b64+"\n-----END "+typ+"-----\n"...)
}
