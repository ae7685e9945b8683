package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/manifest"
)

// manifestFacts is what the referrers API and deletes need to know of a
// manifest: its subject, the descriptor the referrers API lists for it,
// and what it references as config, layer or child. Facts are about
// content named by its digest, so they are true for ever: a repository's
// facts file is never stale, only incomplete, and what it lacks is learnt
// again from the manifest.
type manifestFacts struct {
	Digest   manifest.Digest      `json:"digest"`
	Subject  manifest.Digest      `json:"subject,omitempty"`
	Referrer *manifest.Descriptor `json:"referrer,omitempty"` // with a subject
	Refs     []manifest.Digest    `json:"refs,omitempty"`
}

// factTable is a repository's facts, with the digests they name. Facts
// of manifests the repository no longer lists stay; queries skip them.
type factTable struct {
	facts     map[manifest.Digest]*manifestFacts
	bySubject map[manifest.Digest][]manifest.Digest // referrers by subject
	refBy     map[manifest.Digest][]manifest.Digest // manifests by what they reference
	lines     int                                   // of the file
	complete  bool                                  // every manifest the index lists has its facts
	// rewrite says the file could not be read (past its bound, or
	// damaged): the next save writes it anew rather than append to
	// it what was learnt again, which would grow it at every start.
	rewrite bool
}

func (t *factTable) add(f *manifestFacts) {
	if t.facts[f.Digest] != nil {
		return
	}
	t.facts[f.Digest] = f
	if f.Subject != "" && f.Referrer != nil {
		t.bySubject[f.Subject] = append(t.bySubject[f.Subject], f.Digest)
	}
	for _, r := range f.Refs {
		t.refBy[r] = append(t.refBy[r], f.Digest)
	}
}

func factsName(repo string) string { return path.Join(metaDir, repo, factsFile) }

// readFacts reads repo's facts file, one JSON object a line, up to limit
// bytes; what is missing or unreadable is learnt again.
func readFacts(d *safefile.Dir, repo string, limit int64) *factTable {
	t := &factTable{facts: map[manifest.Digest]*manifestFacts{},
		bySubject: map[manifest.Digest][]manifest.Digest{}, refBy: map[manifest.Digest][]manifest.Digest{}}
	f, err := d.OpenFile(factsName(repo), os.O_RDONLY)
	if err != nil {
		return t
	}
	raw, err := manifest.ReadLimited(f, limit, factsFile)
	f.Close()
	if err != nil {
		t.rewrite = true
		return t
	}
	for line := range bytes.Lines(raw) {
		var mf manifestFacts
		if json.Unmarshal(line, &mf) == nil && mf.Digest.Validate() == nil && bytes.HasSuffix(line, []byte{'\n'}) {
			t.add(&mf)
			t.lines++
		}
	}
	return t
}

// learn reads the manifest d of l and returns its facts. A manifest that
// does not parse has none but its digest: it refers to nothing.
func (s *layoutStorage) learn(l *repoLayout, desc manifest.Descriptor) (*manifestFacts, error) {
	f := &manifestFacts{Digest: desc.Digest}
	fi, err := s.d.Root().Lstat(layoutBlob(l, desc.Digest))
	if err != nil {
		return nil, err
	}
	raw, err := manifest.FetchAll(context.Background(), layoutFiles{s, l}, manifest.Descriptor{Digest: desc.Digest, Size: fi.Size()}, manifest.MaxManifestSize)
	if err != nil {
		return nil, err
	}
	doc, err := manifest.Parse(raw, desc.MediaType)
	if err != nil {
		return f, nil
	}
	for _, r := range referenced(doc) {
		if !slices.Contains(f.Refs, r.Digest) {
			f.Refs = append(f.Refs, r.Digest)
		}
	}
	if sub := subjectOf(doc); sub != nil {
		ref := referrer(doc, desc.Digest)
		f.Subject, f.Referrer = sub.Digest, &ref
	}
	return f, nil
}

// saveFacts appends facts to l's facts file, or writes it anew with
// the facts of the manifests x lists once most of its lines are of
// others. It is not flushed: facts lost in a crash are learnt again.
func (s *layoutStorage) saveFacts(l *repoLayout, x *repoIndex, t *factTable, facts []*manifestFacts) error {
	if len(facts) == 0 {
		return nil
	}
	if err := s.d.MkdirPrivate(metaDir, 0o700); err != nil {
		return err
	}
	if err := s.d.MkdirAll(path.Join(metaDir, l.name), 0o700); err != nil {
		return err
	}
	if t != nil && (t.rewrite || t.lines > 2*len(x.listed)+1024) {
		var live []*manifestFacts
		for d := range x.listed {
			if f := t.facts[d]; f != nil {
				live = append(live, f)
			}
		}
		t.lines, t.rewrite = len(live), false
		return s.d.WriteFile(factsName(l.name), encodeFacts(live), 0o600, false)
	}
	f, _, err := s.d.Reuse(factsName(l.name), 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err = f.Seek(0, io.SeekEnd); err == nil {
		_, err = f.Write(encodeFacts(facts))
	}
	if t != nil {
		t.lines += len(facts)
	}
	return err
}

func encodeFacts(facts []*manifestFacts) []byte {
	var b bytes.Buffer
	for _, f := range facts {
		line, _ := json.Marshal(f)
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// factsOf returns l's facts, complete for the manifests x lists: read
// from the facts file the first time, and what it lacks learnt from the
// manifests. The caller holds l.mu.
func (s *layoutStorage) factsOf(l *repoLayout, x *repoIndex) (*factTable, error) {
	if l.facts == nil {
		l.facts = readFacts(s.d, l.name, s.factsLimit())
	}
	t := l.facts
	if t.complete {
		return t, nil
	}
	var learnt []*manifestFacts
	for d, es := range x.listed {
		if t.facts[d] != nil {
			continue
		}
		f, err := s.learn(l, es[0].desc)
		if err != nil {
			return nil, err
		}
		t.add(f)
		learnt = append(learnt, f)
	}
	if err := s.saveFacts(l, x, t, learnt); err != nil {
		s.logf("server: repository %s: keeping the facts of its manifests: %v", l.name, err)
	}
	t.complete = true
	return t, nil
}

// pushed learns the facts of desc, a manifest an edit just listed in l,
// and keeps them: at push, so that a query later reads no manifest.
// Failing, the facts are learnt at the next query.
func (s *layoutStorage) pushed(l *repoLayout, x *repoIndex, desc manifest.Descriptor) {
	t := l.facts
	if t != nil && t.facts[desc.Digest] != nil {
		return
	}
	f, err := s.learn(l, desc)
	if err == nil {
		if t != nil {
			t.add(f)
		}
		err = s.saveFacts(l, x, t, []*manifestFacts{f})
	}
	if err != nil {
		if t != nil {
			t.complete = false
		}
		s.logf("server: repository %s: keeping the facts of manifest %s: %v", l.name, desc.Digest, err)
	}
}

// Referrers returns the descriptors of repo's manifests whose subject is
// d, sorted by digest.
func (s *layoutStorage) Referrers(repo string, d manifest.Digest) ([]manifest.Descriptor, error) {
	out := []manifest.Descriptor{}
	err := s.withFacts(repo, func(x *repoIndex, t *factTable) {
		for _, m := range t.bySubject[d] {
			if _, ok := x.manifest(m); ok {
				out = append(out, *t.facts[m].Referrer)
			}
		}
	})
	slices.SortFunc(out, func(a, b manifest.Descriptor) int { return strings.Compare(string(a.Digest), string(b.Digest)) })
	return out, err
}

// ReferencedBy returns the first, by digest, of repo's manifests other
// than d that references d as its config, a layer or a child, or "".
func (s *layoutStorage) ReferencedBy(repo string, d manifest.Digest) (manifest.Digest, error) {
	var by manifest.Digest
	err := s.withFacts(repo, func(x *repoIndex, t *factTable) {
		for _, m := range t.refBy[d] {
			if _, ok := x.manifest(m); ok && m != d && (by == "" || m < by) {
				by = m
			}
		}
	})
	return by, err
}

// withFacts calls fn with repo's index and facts, locked; a repository
// that is not there has neither, and fn is not called.
func (s *layoutStorage) withFacts(repo string, fn func(*repoIndex, *factTable)) error {
	l, err := s.repo(repo, false)
	if errors.Is(err, manifest.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.view(l, func(x *repoIndex) error {
		t, err := s.factsOf(l, x)
		if err == nil {
			fn(x, t)
		}
		return err
	})
}
