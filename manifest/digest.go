package manifest

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// ErrInvalidDigest is wrapped by every error about a malformed digest string.
var ErrInvalidDigest = errors.New("invalid digest")

// Digest is a content digest in the form "algorithm:hex", such as
// "sha256:e3b0c442…". A Digest obtained from ParseDigest, FromBytes or a
// Digester is valid; a Digest converted from an arbitrary string is not
// checked until Validate is called.
type Digest string

// The digest algorithms skiff accepts.
const (
	SHA256 = "sha256"
	SHA512 = "sha512"
)

// hexLen is the length of the hex part for each accepted algorithm.
var hexLen = map[string]int{SHA256: 64, SHA512: 128}

// ParseDigest validates s and returns it as a Digest. Only sha256 and sha512
// with lower-case hex of the exact length are accepted, so a digest can be
// put into a URL or a file path without further checks.
func ParseDigest(s string) (Digest, error) {
	d := Digest(s)
	if err := d.Validate(); err != nil {
		return "", err
	}
	return d, nil
}

// Validate reports whether d is a well-formed digest of a known algorithm.
func (d Digest) Validate() error {
	alg, hexPart, ok := strings.Cut(string(d), ":")
	if !ok {
		return d.invalid("missing algorithm separator ':'")
	}
	n, known := hexLen[alg]
	if !known {
		return d.invalid(fmt.Sprintf("unsupported algorithm %q", truncate(alg, 20)))
	}
	if len(hexPart) != n {
		return d.invalid(fmt.Sprintf("%s hex must be %d characters, got %d", alg, n, len(hexPart)))
	}
	for i := 0; i < len(hexPart); i++ {
		if c := hexPart[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return d.invalid("hex must be lower-case [0-9a-f]")
		}
	}
	return nil
}

func (d Digest) invalid(reason string) error {
	return fmt.Errorf("manifest: %w %q: %s", ErrInvalidDigest, truncate(string(d), 200), reason)
}

// Algorithm returns the part before the colon, such as "sha256".
func (d Digest) Algorithm() string {
	alg, _, _ := strings.Cut(string(d), ":")
	return alg
}

// Hex returns the part after the colon.
func (d Digest) Hex() string {
	_, h, _ := strings.Cut(string(d), ":")
	return h
}

// String returns d as a string.
func (d Digest) String() string { return string(d) }

// Short returns the first 12 hex characters, for display.
func (d Digest) Short() string {
	h := d.Hex()
	return h[:min(len(h), 12)]
}

// FromBytes returns the sha256 digest of b.
func FromBytes(b []byte) Digest {
	sum := sha256.Sum256(b)
	return Digest(fmt.Sprintf("sha256:%x", sum))
}

// FromString returns the sha256 digest of s.
func FromString(s string) Digest { return FromBytes([]byte(s)) }

// A Digester computes a digest of everything written to it.
type Digester struct {
	alg string
	h   hash.Hash
}

// NewDigester returns a Digester for the algorithm ("sha256" or "sha512").
// It returns nil for any other algorithm; digests that passed Validate never
// name one.
func NewDigester(algorithm string) *Digester {
	switch algorithm {
	case SHA256:
		return &Digester{alg: algorithm, h: sha256.New()}
	case SHA512:
		return &Digester{alg: algorithm, h: sha512.New()}
	}
	return nil
}

// Write adds p to the running hash. It never fails.
func (g *Digester) Write(p []byte) (int, error) { return g.h.Write(p) }

// Digest returns the digest of everything written so far.
func (g *Digester) Digest() Digest {
	return Digest(fmt.Sprintf("%s:%x", g.alg, g.h.Sum(nil)))
}

// MarshalBinary returns the hash state: what a resumed transfer saves so
// that it can check, on the next run, the bytes it already has.
func (g *Digester) MarshalBinary() ([]byte, error) {
	return g.h.(encoding.BinaryMarshaler).MarshalBinary()
}

// UnmarshalBinary restores a state from MarshalBinary of a Digester of the
// same algorithm.
func (g *Digester) UnmarshalBinary(state []byte) error {
	if err := g.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return fmt.Errorf("manifest: %s hash state: %w", g.alg, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
