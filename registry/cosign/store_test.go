package cosign_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	sha256pkg "crypto/sha256"
	sha512pkg "crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/skiffoci/skiff/manifest"
)

// memStore is an in-memory store with tags and the referrers API, for
// tests that tamper with content.
type memStore struct {
	mu        sync.Mutex
	blobs     map[manifest.Digest][]byte
	tags      map[string]manifest.Descriptor
	referrers []manifest.Descriptor
}

func newMemStore() *memStore {
	return &memStore{blobs: map[manifest.Digest][]byte{}, tags: map[string]manifest.Descriptor{}}
}

func (s *memStore) Fetch(_ context.Context, d manifest.Descriptor) (io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blobs[d.Digest]
	if !ok {
		return nil, fmt.Errorf("memstore: %s: %w", d.Digest, manifest.ErrNotFound)
	}
	return io.NopCloser(manifest.NewVerifyingReader(bytes.NewReader(b), d)), nil
}

func (s *memStore) Resolve(_ context.Context, ref string) (manifest.Descriptor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.tags[ref]
	if !ok {
		return d, fmt.Errorf("memstore: tag %s: %w", ref, manifest.ErrNotFound)
	}
	return d, nil
}

func (s *memStore) Push(_ context.Context, d manifest.Descriptor, r io.Reader) error {
	b, err := manifest.ReadAllVerified(r, d, 16<<20)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blobs[d.Digest] = b
	if doc, err := manifest.Parse(b, d.MediaType); err == nil && doc.Manifest != nil && doc.Manifest.Subject != nil {
		s.referrers = append(s.referrers, manifest.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size,
			ArtifactType: doc.Manifest.ArtifactType, Annotations: doc.Manifest.Annotations})
	}
	return nil
}

func (s *memStore) Exists(_ context.Context, d manifest.Descriptor) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.blobs[d.Digest]
	return ok, nil
}

func (s *memStore) Tag(_ context.Context, d manifest.Descriptor, tag string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.blobs[d.Digest]; !ok {
		return fmt.Errorf("memstore: tag %s: %s: %w", tag, d.Digest, manifest.ErrNotFound)
	}
	s.tags[tag] = d
	return nil
}

func (s *memStore) Referrers(_ context.Context, d manifest.Descriptor, artifactType string) ([]manifest.Descriptor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []manifest.Descriptor
	for _, r := range s.referrers {
		raw := s.blobs[r.Digest]
		doc, err := manifest.Parse(raw, r.MediaType)
		if err != nil || doc.Manifest == nil || doc.Manifest.Subject == nil || doc.Manifest.Subject.Digest != d.Digest {
			continue
		}
		if artifactType == "" || r.ArtifactType == artifactType {
			out = append(out, r)
		}
	}
	return out, nil
}

// put stores b and returns its descriptor.
func (s *memStore) put(mt string, b []byte) manifest.Descriptor {
	d := manifest.DescriptorFor(mt, b)
	s.mu.Lock()
	s.blobs[d.Digest] = b
	s.mu.Unlock()
	return d
}

// withoutReferrers hides a store's referrers API, as a layout does.
type withoutReferrers struct{ s *memStore }

func (w withoutReferrers) Fetch(ctx context.Context, d manifest.Descriptor) (io.ReadCloser, error) {
	return w.s.Fetch(ctx, d)
}

func (w withoutReferrers) Resolve(ctx context.Context, ref string) (manifest.Descriptor, error) {
	return w.s.Resolve(ctx, ref)
}

// cosignCase is what one run of the real cosign left in a registry, as
// TestGenerateTestdata saves it under testdata/cosign/CASE: the signed
// image, the tags and referrers that point at it, and every blob they
// name (blobs/sha256/HEX).
type cosignCase struct {
	Command   []string                       `json:"command"` // the cosign command lines that made it
	Image     manifest.Descriptor            `json:"image"`
	Key       string                         `json:"key"` // the public key, as cosign wrote it
	Tags      map[string]manifest.Descriptor `json:"tags"`
	Referrers []manifest.Descriptor          `json:"referrers"`
}

const casesDir = "testdata/cosign"

// loadCase reads testdata/cosign/name into a memStore.
func loadCase(t testing.TB, name string) (*cosignCase, *memStore) {
	t.Helper()
	dir := filepath.Join(casesDir, name)
	raw, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c cosignCase
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	s := newMemStore()
	blobs, err := filepath.Glob(filepath.Join(dir, "blobs", "sha256", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range blobs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s.blobs[manifest.FromBytes(b)] = b
	}
	s.tags, s.referrers = c.Tags, c.Referrers
	return &c, s
}

// caseNames lists the cases under testdata/cosign.
func caseNames(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(casesDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatalf("no cases under %s", casesDir)
	}
	return names
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func sha256(b []byte) []byte { h := sha256pkg.Sum256(b); return h[:] }
func sha384(b []byte) []byte { h := sha512pkg.Sum384(b); return h[:] }
func sha512(b []byte) []byte { h := sha512pkg.Sum512(b); return h[:] }

func ed25519ph() crypto.SignerOpts { return &ed25519.Options{Hash: crypto.SHA512} }

// newKey returns a new ECDSA P-256 key.
func newKey() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }
