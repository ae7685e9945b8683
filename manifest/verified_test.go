package manifest_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/skiffoci/skiff/manifest"
)

// readProof reads v to its end and returns what it yielded and its proof.
func readProof(v *manifest.Verifier) ([]byte, manifest.Verified, error) {
	got, err := io.ReadAll(v)
	if err != nil {
		return got, manifest.Verified{}, err
	}
	proof, err := v.Verified()
	return got, proof, err
}

func TestVerifierProves(t *testing.T) {
	data := bytes.Repeat([]byte("skiff"), 10000)
	desc := descOf(data)
	v := manifest.NewVerifier(iotest.HalfReader(bytes.NewReader(data)), desc)
	if _, err := v.Verified(); !errors.Is(err, manifest.ErrUnverified) {
		t.Fatalf("a proof before the end: %v", err)
	}
	got, proof, err := readProof(v)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	if err := proof.Check(desc); err != nil || proof.Digest() != desc.Digest || proof.Size() != desc.Size {
		t.Fatalf("proof %v %d: %v", proof.Digest(), proof.Size(), err)
	}
	if err := proof.Check(descOf([]byte("other"))); !errors.Is(err, manifest.ErrUnverified) {
		t.Fatalf("a proof checked for another descriptor: %v", err)
	}
	if err := (manifest.Verified{}).Check(desc); !errors.Is(err, manifest.ErrUnverified) {
		t.Fatalf("the zero Verified checked: %v", err)
	}
	if err := iotest.TestReader(manifest.NewVerifier(bytes.NewReader(data), desc), data); err != nil {
		t.Fatal(err)
	}
	empty := descOf(nil)
	if _, proof, err := readProof(manifest.NewVerifier(strings.NewReader(""), empty)); err != nil || proof.Check(empty) != nil {
		t.Fatalf("empty content: %v", err)
	}
}

// TestVerifierReusesHash: a verifying reader nothing has read yet, seen
// directly or through ObserveReader, is hashed once.
func TestVerifierReusesHash(t *testing.T) {
	data := []byte("hello")
	desc := descOf(data)
	for name, r := range map[string]io.Reader{
		"NewVerifyingReader": manifest.NewVerifyingReader(bytes.NewReader(data), desc),
		"VerifyReadCloser":   manifest.VerifyReadCloser(io.NopCloser(bytes.NewReader(data)), desc),
		"ObserveReader":      manifest.ObserveReader(manifest.VerifyReadCloser(io.NopCloser(bytes.NewReader(data)), desc), desc, 0, func(manifest.Event) {}),
		"another Verifier":   manifest.NewVerifier(manifest.NewVerifyingReader(bytes.NewReader(data), desc), desc),
	} {
		v := manifest.NewVerifier(r, desc)
		if !v.Reused() {
			t.Errorf("%s: hashed a second time", name)
		}
		if _, proof, err := readProof(v); err != nil || proof.Check(desc) != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	other := descOf([]byte("other"))
	if v := manifest.NewVerifier(manifest.NewVerifyingReader(bytes.NewReader(data), desc), other); v.Reused() {
		t.Error("a reader verifying another descriptor was trusted")
	}
}

// TestVerifierRefuses: content partly read before the Verifier got it,
// read in part by someone else meanwhile, resumed from the wrong offset,
// or of the wrong length or hash yields no proof, and never its last byte.
func TestVerifierRefuses(t *testing.T) {
	data := []byte("the twenty-eight bytes here.")
	desc := descOf(data)
	partly := func() io.Reader {
		r := manifest.NewVerifyingReader(bytes.NewReader(data), desc)
		io.ReadFull(r, make([]byte, 6))
		return r
	}
	resumed := func(prefix []byte, rest io.Reader) *manifest.Verifier {
		d := manifest.NewDigester(manifest.SHA256)
		d.Write(prefix)
		return manifest.NewResumedVerifier(rest, desc, d, int64(len(prefix)))
	}
	flipped := bytes.Clone(data)
	flipped[27] ^= 1
	tests := []struct {
		name string
		v    *manifest.Verifier
		want error
	}{
		{"partly read", manifest.NewVerifier(partly(), desc), manifest.ErrSizeMismatch},
		{"partly read, observed", manifest.NewVerifier(manifest.ObserveReader(io.NopCloser(partly()), desc, 0, func(manifest.Event) {}), desc), manifest.ErrSizeMismatch},
		{"a range from byte 6", manifest.NewVerifier(bytes.NewReader(data[6:]), desc), manifest.ErrSizeMismatch},
		{"resumed at 6 with the bytes from 10", resumed(data[:6], bytes.NewReader(data[10:])), manifest.ErrSizeMismatch},
		{"resumed at 6 with the bytes from 0", resumed(data[:6], bytes.NewReader(data)), manifest.ErrSizeMismatch},
		{"resumed at 6 with the hash of 10", resumed(data[:10], bytes.NewReader(data[6:])), manifest.ErrSizeMismatch},
		{"one byte short", manifest.NewVerifier(bytes.NewReader(data[:27]), desc), manifest.ErrSizeMismatch},
		{"one byte long", manifest.NewVerifier(bytes.NewReader(append(bytes.Clone(data), 'x')), desc), manifest.ErrSizeMismatch},
		{"last byte wrong", manifest.NewVerifier(bytes.NewReader(flipped), desc), manifest.ErrDigestMismatch},
	}
	for _, tt := range tests {
		got, proof, err := readProof(tt.v)
		if !errors.Is(err, tt.want) || proof != (manifest.Verified{}) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
		if _, perr := tt.v.Verified(); perr == nil {
			t.Errorf("%s: Verified gave a proof", tt.name)
		}
		if len(got) >= int(desc.Size) {
			t.Errorf("%s: yielded %d bytes, all of them", tt.name, len(got))
		}
	}
}

// TestVerifierSharedSource: bytes taken from the reused source by another
// reader while the Verifier reads leave it without a proof.
func TestVerifierSharedSource(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 100)
	desc := descOf(data)
	src := manifest.NewVerifyingReader(bytes.NewReader(data), desc)
	v := manifest.NewVerifier(src, desc)
	if !v.Reused() {
		t.Fatal("not reused")
	}
	io.ReadFull(v, make([]byte, 10))
	io.ReadFull(src, make([]byte, 10)) // someone else
	if _, _, err := readProof(v); !errors.Is(err, manifest.ErrSizeMismatch) {
		t.Fatalf("err = %v", err)
	}
}

func TestVerifierNeedsSize(t *testing.T) {
	desc := manifest.Descriptor{Digest: manifest.FromString("a"), Size: manifest.SizeUnknown}
	if _, _, err := readProof(manifest.NewVerifier(strings.NewReader("a"), desc)); err == nil {
		t.Fatal("a descriptor without a size gave a proof")
	}
}
