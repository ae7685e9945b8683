package server

import (
	"errors"
	"net/http"
	"slices"

	"github.com/skiffoci/skiff/manifest"
)

// eachManifest calls fn with every manifest and index of repo that
// parses, in digest order, until fn returns false. An unknown repository
// has none.
func (s *Server) eachManifest(repo string, fn func(manifest.Digest, *manifest.Document) bool) error {
	links, err := s.store.List(repo, KindManifest)
	if errors.Is(err, manifest.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, l := range links {
		raw, err := s.readManifest(l.Digest)
		if err != nil {
			return err
		}
		doc, err := manifest.Parse(raw, l.MediaType)
		if err != nil {
			continue
		}
		if !fn(l.Digest, doc) {
			return nil
		}
	}
	return nil
}

// refersTo reports whether doc names d as its config, a layer or a child
// manifest.
func refersTo(doc *manifest.Document, d manifest.Digest) bool {
	return slices.ContainsFunc(referenced(doc), func(c manifest.Descriptor) bool { return c.Digest == d })
}

// unreferenced reports whether no other manifest of repo references d;
// otherwise it answers 405 DENIED naming the one that does. Deleting d
// would leave that manifest's image incomplete and the repository's
// layout invalid.
func (s *Server) unreferenced(w http.ResponseWriter, repo string, d manifest.Digest) bool {
	by, err := s.referencedBy(repo, d)
	switch {
	case err != nil:
		s.internalError(w, err)
		return false
	case by != "":
		writeErrors(w, http.StatusMethodNotAllowed, newError(CodeDenied,
			string(d)+" is referenced by manifest "+string(by)+"; delete that manifest first", map[string]string{"digest": string(d)}))
		return false
	}
	return true
}

// referencedBy returns the first, by digest, of repo's manifests other
// than d that references d: from the storage's index of them, or by
// reading every manifest.
func (s *Server) referencedBy(repo string, d manifest.Digest) (manifest.Digest, error) {
	if ri, ok := s.store.(ReferenceIndex); ok {
		return ri.ReferencedBy(repo, d)
	}
	var by manifest.Digest
	err := s.eachManifest(repo, func(md manifest.Digest, doc *manifest.Document) bool {
		if md != d && refersTo(doc, d) {
			by = md
		}
		return by == ""
	})
	return by, err
}
