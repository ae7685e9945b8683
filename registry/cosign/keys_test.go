package cosign_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/registry/cosign"
)

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestParsePublicKey(t *testing.T) {
	for name, k := range testKeys(t) {
		pemKey := must(cosign.MarshalPublicKey(k.key.Public()))
		if !strings.HasPrefix(string(pemKey), "-----BEGIN PUBLIC KEY-----\n") {
			t.Fatalf("%s: %s", name, pemKey)
		}
		if _, err := cosign.ParsePublicKey(append([]byte("comment before the block\n"), pemKey...)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	rsaKey := must(rsa.GenerateKey(rand.Reader, 2048))
	if _, err := cosign.ParsePublicKey(pemBlock("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey))); err != nil {
		t.Errorf("PKCS #1 RSA public key: %v", err)
	}
	p224 := must(ecdsa.GenerateKey(elliptic.P224(), rand.Reader))
	small := must(rsa.GenerateKey(rand.Reader, 1024))
	p256 := must(newKey())
	bad := []struct {
		name, want string
		in         []byte
	}{
		{"empty", "no PEM block", nil},
		{"garbage", "no PEM block", []byte("ssh-ed25519 AAAA")},
		{"P-224", "curve P-224", pemBlock("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&p224.PublicKey)))},
		{"RSA 1024", "1024 bits", pemBlock("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&small.PublicKey)))},
		{"private key", "private key", must(cosign.MarshalPrivateKey(p256))},
		{"certificate", "certificate", pemBlock("CERTIFICATE", []byte{1})},
		{"two blocks", "more than one", append(must(cosign.MarshalPublicKey(p256.Public())), must(cosign.MarshalPublicKey(p256.Public()))...)},
		{"bad DER", "public key", pemBlock("PUBLIC KEY", []byte{1, 2, 3})},
		{"huge", "limit", make([]byte, 1<<20)},
	}
	for _, b := range bad {
		if _, err := cosign.ParsePublicKey(b.in); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: %v, want an error mentioning %q", b.name, err, b.want)
		}
	}
}

func TestParsePrivateKey(t *testing.T) {
	for name, k := range testKeys(t) {
		pemKey := must(cosign.MarshalPrivateKey(k.key))
		if !strings.HasPrefix(string(pemKey), "-----BEGIN PRIVATE KEY-----\n") {
			t.Fatalf("%s: %s", name, pemKey)
		}
		key, err := cosign.ParsePrivateKey(pemKey)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		msg := []byte("message")
		if _, err := cosign.VerifyBytes(k.key.Public(), msg, must(cosign.SignBytes(key, msg))); err != nil {
			t.Errorf("%s: the parsed key signs for another: %v", name, err)
		}
	}
	ec := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	rsaKey := must(rsa.GenerateKey(rand.Reader, 2048))
	for name, in := range map[string][]byte{
		"SEC 1":   pemBlock("EC PRIVATE KEY", must(x509.MarshalECPrivateKey(ec))),
		"PKCS #1": pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)),
	} {
		if _, err := cosign.ParsePrivateKey(in); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestEncryptedKeysRefused reads the key cosign generate-key-pair wrote
// (with an empty password): it is refused, with the reason and a way out.
func TestEncryptedKeysRefused(t *testing.T) {
	enc := must(os.ReadFile("testdata/cosign-encrypted.key"))
	_, err := cosign.ParsePrivateKey(enc)
	if !errors.Is(err, cosign.ErrEncryptedKey) {
		t.Fatalf("cosign's key: %v, want ErrEncryptedKey", err)
	}
	for _, want := range []string{"scrypt", "secretbox", "standard library", "skiff generate-key", "cosign import-key-pair"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	legacy := strings.ReplaceAll(string(enc), "ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY")
	pkcs8 := pemBlock("ENCRYPTED PRIVATE KEY", []byte{1})
	for _, in := range [][]byte{[]byte(legacy), pkcs8} {
		if _, err := cosign.ParsePrivateKey(in); !errors.Is(err, cosign.ErrEncryptedKey) {
			t.Errorf("%.40s: %v, want ErrEncryptedKey", in, err)
		}
	}
	if _, err := cosign.ParsePublicKey(enc); err == nil || !strings.Contains(err.Error(), "cosign.pub") {
		t.Errorf("a private key given as the public one: %v", err)
	}
	pub := must(cosign.MarshalPublicKey(must(newKey()).Public()))
	if _, err := cosign.ParsePrivateKey(pub); !errors.Is(err, cosign.ErrUnsupportedKey) {
		t.Errorf("a public key given as the private one: %v", err)
	}
}

// TestVerifyBytesAlgorithms checks the pairings cosign signs with beside
// the ones skiff signs with: P-384 over SHA-384, Ed25519ph, RSA-PSS.
func TestVerifyBytesAlgorithms(t *testing.T) {
	msg := []byte("payload")
	p384 := must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))
	h384 := sha384(msg)
	if alg, err := cosign.VerifyBytes(&p384.PublicKey, msg, must(ecdsa.SignASN1(rand.Reader, p384, h384))); err != nil || alg != "ecdsa-sha2-384-nistp384" {
		t.Errorf("P-384 over SHA-384: %s, %v", alg, err)
	}
	ed := ed25519Key(t)
	if alg, err := cosign.VerifyBytes(ed.Public(), msg, must(ed.Sign(rand.Reader, sha512(msg), ed25519ph()))); err != nil || alg != "ed25519-ph" {
		t.Errorf("Ed25519ph: %s, %v", alg, err)
	}
	r := must(rsa.GenerateKey(rand.Reader, 2048))
	if alg, err := cosign.VerifyBytes(&r.PublicKey, msg, must(rsa.SignPSS(rand.Reader, r, 5, sha256(msg), nil))); err != nil || alg != "rsa-sign-pss-2048-sha256" {
		t.Errorf("RSA-PSS: %s, %v", alg, err)
	}
	p256 := must(newKey())
	sig := must(cosign.SignBytes(p256, msg))
	for _, tt := range []struct {
		name     string
		msg, sig []byte
	}{{"other message", []byte("payloaD"), sig}, {"truncated", msg, sig[:len(sig)-1]}, {"empty", msg, nil}} {
		if _, err := cosign.VerifyBytes(p256.Public(), tt.msg, tt.sig); !errors.Is(err, cosign.ErrBadSignature) {
			t.Errorf("%s: %v, want ErrBadSignature", tt.name, err)
		}
	}
}

// TestGenerateKeyPair checks the hand-made DER and PEM against what
// crypto/x509 and encoding/pem write for the same key.
func TestGenerateKeyPair(t *testing.T) {
	for range 20 {
		privatePEM, publicPEM, err := cosign.GenerateKeyPair()
		if err != nil {
			t.Fatal(err)
		}
		key, err := cosign.ParsePrivateKey(privatePEM)
		if err != nil {
			t.Fatal(err)
		}
		ec, ok := key.(*ecdsa.PrivateKey)
		if !ok || ec.Curve != elliptic.P256() {
			t.Fatalf("generated %T, want an ECDSA P-256 key", key)
		}
		if want := pemBlock("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(key))); string(privatePEM) != string(want) {
			t.Fatalf("private key\n%s\nwant crypto/x509's\n%s", privatePEM, want)
		}
		if want := pemBlock("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(key.Public()))); string(publicPEM) != string(want) {
			t.Fatalf("public key\n%s\nwant crypto/x509's\n%s", publicPEM, want)
		}
		if _, err := cosign.VerifyBytes(must(cosign.ParsePublicKey(publicPEM)), []byte("m"), must(cosign.SignBytes(key, []byte("m")))); err != nil {
			t.Fatal(err)
		}
	}
	for name, k := range testKeys(t) { // PEM of other lengths
		if got, want := must(cosign.MarshalPublicKey(k.key.Public())), pemBlock("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(k.key.Public()))); string(got) != string(want) {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
}
