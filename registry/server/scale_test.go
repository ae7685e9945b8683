package server_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/server"
)

// tags returns the repository's tags, as the server lists them.
func (s *testServer) tags(repo string) []string {
	s.t.Helper()
	var list struct{ Tags []string }
	if err := json.Unmarshal(s.do("GET", "/v2/"+repo+"/tags/list", nil).want(s.t, 200).body, &list); err != nil {
		s.t.Fatal(err)
	}
	return list.Tags
}

// referrers returns the digests the referrers API lists for d.
func (s *testServer) referrers(repo string, d manifest.Digest) []manifest.Digest {
	s.t.Helper()
	var idx manifest.Index
	if err := json.Unmarshal(s.do("GET", "/v2/"+repo+"/referrers/"+string(d), nil).want(s.t, 200).body, &idx); err != nil {
		s.t.Fatal(err)
	}
	var out []manifest.Digest
	for _, m := range idx.Manifests {
		out = append(out, m.Digest)
	}
	return out
}

// removeManifests deletes the files of the manifests of br that are
// neither its subject nor one of its referrers, from the store and the
// layout: whatever reads one of them afterwards fails.
func removeManifests(t *testing.T, root string, br *bigRepo, keep ...manifest.Digest) int {
	t.Helper()
	l, err := layout.Open(filepath.Join(root, filepath.FromSlash(br.name)))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := l.Index()
	if err != nil {
		t.Fatal(err)
	}
	keep = append(keep, br.subject)
	keep = append(keep, br.refs...)
	n := 0
	for _, d := range idx.Manifests {
		if slices.Contains(keep, d.Digest) {
			continue
		}
		for _, p := range []string{filepath.Join(root, ".blobs", "sha256", d.Digest.Hex()), filepath.Join(l.Dir(), "blobs", "sha256", d.Digest.Hex())} {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
		n++
	}
	return n
}

// TestLargeRepositoryReadsOneImage: in a repository of 10,000 tags, a
// manifest PUT, a referrers query and deletes read no manifest but their
// own, and a PUT does not read index.json again. The first referrers query
// learns what each manifest refers to, once, and the server keeps it: a
// server started again answers with the other 9,000 manifests' files
// gone, which any read of them would find. index.json overwritten in
// place with garbage, as the server does not look, is never read: the
// PUT replaces it from what the server holds.
func TestLargeRepositoryReadsOneImage(t *testing.T) {
	root := t.TempDir()
	br := seedTags(t, root, "big/repo", 10000)
	s := startAt(t, root, nil)
	if got := s.referrers("big/repo", br.subject); !slices.Equal(got, sorted(br.refs)) {
		t.Fatalf("referrers: %d, want %d", len(got), len(br.refs))
	}

	s = startAt(t, root, nil)
	if n := removeManifests(t, root, br); n < 8000 {
		t.Fatalf("removed %d manifests", n)
	}
	if got := s.referrers("big/repo", br.subject); !slices.Equal(got, sorted(br.refs)) {
		t.Fatalf("referrers after a restart: %d, want %d", len(got), len(br.refs))
	}
	scribbleIndex(t, filepath.Join(root, "big", "repo", layout.IndexFile))
	sig := newImage("big", 100, map[string]any{"subject": br.base.desc, "artifactType": "application/vnd.example.sig"})
	s.putManifest("big/repo", "new", sig.raw).want(t, 201)
	if got := s.referrers("big/repo", br.subject); !slices.Contains(got, sig.desc.Digest) || len(got) != len(br.refs)+1 {
		t.Fatalf("the referrer pushed is not listed: %d referrers", len(got))
	}
	if n := len(s.tags("big/repo")); n != 10001 {
		t.Fatalf("%d tags after the PUT, want 10001", n)
	}
	s.do("DELETE", "/v2/big/repo/blobs/"+string(br.base.layerDigest()), nil).wantError(t, 405, server.CodeDenied)
	s.do("DELETE", "/v2/big/repo/manifests/"+string(br.refs[0]), nil).want(t, 202)
	if got := s.referrers("big/repo", br.subject); slices.Contains(got, br.refs[0]) || len(got) != len(br.refs) {
		t.Fatalf("a deleted referrer is listed: %d referrers", len(got))
	}
	s.do("DELETE", "/v2/big/repo/manifests/"+string(br.subject), nil).want(t, 202)
}

// scribbleIndex overwrites the file at p in place with as many bytes of
// garbage, keeping its modification time: to the server, which knows the
// file it wrote by its identity, size and time, it is unchanged.
func scribbleIndex(t *testing.T, p string) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	garbage := make([]byte, fi.Size())
	for i := range garbage {
		garbage[i] = '#'
	}
	f.WriteAt(garbage, 0)
	f.Close()
	if err := os.Chtimes(p, time.Time{}, fi.ModTime()); err != nil {
		t.Fatal(err)
	}
}

func sorted(ds []manifest.Digest) []manifest.Digest {
	out := slices.Clone(ds)
	slices.Sort(out)
	return out
}

// TestFactsLearntForManifestsOthersAdded: manifests another tool listed
// in a served layout while the server was stopped are referrers as soon
// as the server starts again, and the facts it kept for those it had are
// used as they are.
func TestFactsLearntForManifestsOthersAdded(t *testing.T) {
	s := start(t, nil)
	im := newImage("img", 100, nil)
	s.push("a", "v1", im)
	sig := newImage("sig", 10, map[string]any{"subject": im.desc, "artifactType": "application/vnd.example.sig"})
	s.push("a", "sig", sig)
	if got := s.referrers("a", im.desc.Digest); !slices.Equal(got, []manifest.Digest{sig.desc.Digest}) {
		t.Fatalf("referrers: %v", got)
	}
	sbom := newImage("sbom", 10, map[string]any{"subject": im.desc, "artifactType": "application/vnd.example.sbom"})
	l, err := layout.Open(filepath.Join(s.root, "a"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{sbom.config, sbom.layer, sbom.raw} {
		d := manifest.DescriptorFor("application/octet-stream", b)
		if err := l.Push(t.Context(), d, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Tag(t.Context(), sbom.desc, "sbom"); err != nil {
		t.Fatal(err)
	}
	got := s.referrers("a", im.desc.Digest) // the running server reads index.json again: another file
	if want := sorted([]manifest.Digest{sig.desc.Digest, sbom.desc.Digest}); !slices.Equal(got, want) {
		t.Fatalf("referrers with one another tool added: %v, want %v", got, want)
	}
	got = startAt(t, s.root, nil).referrers("a", im.desc.Digest)
	if want := sorted([]manifest.Digest{sig.desc.Digest, sbom.desc.Digest}); !slices.Equal(got, want) {
		t.Fatalf("referrers after a restart: %v, want %v", got, want)
	}
}
