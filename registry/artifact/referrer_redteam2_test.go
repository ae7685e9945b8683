package artifact_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	artifact "github.com/skiffoci/skiff/registry/artifact"
)

// TestRedteam2ReferrerOfAnotherImage: a registry without the referrers
// API, where anyone who may push to the repository writes the fallback
// tag "sha256-<hex>" of IMG. A hostile pusher tags there the index of
// another image's referrers: --referrer-of IMG must not hand back an SBOM
// that is not IMG's. RT2-A3.
func TestRedteam2ReferrerOfAnotherImage(t *testing.T) {
	srv := registrytest.NewServer(t, &registrytest.Options{NoReferrers: true})
	_, files := sample(t)
	img, other := srv.Host+"/demo/app:1", srv.Host+"/demo/app:2"
	imgDesc, err := artifact.Push(t.Context(), img, files[:1], nil)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile("a.txt", []byte("other image"), 0o644)
	otherDesc, err := artifact.Push(t.Context(), other, files[:1], nil)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile("a.txt", []byte("the other image's SBOM"), 0o644)
	if _, err := artifact.Push(t.Context(), srv.Host+"/demo/app", files[:1], &artifact.PushOptions{
		ArtifactType: "application/spdx+json", Subject: other, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	ref, _ := reference.Parse(srv.Host + "/demo/app")
	repo := (&registry.Client{}).Repository(ref)
	doc, err := repo.FetchManifest(t.Context(), "sha256-"+otherDesc.Digest.Hex())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.PushManifest(t.Context(), doc.Raw, doc.MediaType, "sha256-"+imgDesc.Digest.Hex()); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	got, err := artifact.Pull(t.Context(), img, out, &artifact.PullOptions{ReferrerType: "application/spdx+json"})
	if err == nil {
		b, _ := os.ReadFile(filepath.Join(out, "a.txt"))
		t.Fatalf("pulled %s (a.txt %q) as IMG's referrer, but its subject is another image", got.Artifact.Digest, b)
	}
	if !strings.Contains(err.Error(), "subject") || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q: want one line saying the subject is not IMG", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("a refused pull left %v", entries)
	}
}
