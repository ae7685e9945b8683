package server

import (
	"net/http"

	"github.com/skiffoci/skiff/manifest"
)

// serveReferrers answers the referrers API (end-12a, end-12b): an OCI
// index of the repository's manifests whose subject is the digest, sorted
// by digest, filtered by ?artifactType= when given. An unknown repository
// or digest gets an empty index, never 404.
func (s *Server) serveReferrers(w http.ResponseWriter, r *http.Request, rt Route) {
	descs, err := s.referrers(rt.Name, rt.Digest)
	if err != nil {
		s.internalError(w, err)
		return
	}
	if types, ok := r.URL.Query()["artifactType"]; ok {
		descs = filterArtifactType(descs, types)
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	w.Header().Set("Content-Type", manifest.MediaTypeOCIIndex)
	writeJSON(w, manifest.Index{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIIndex, Manifests: descs})
}

// referrers returns the descriptors of repo's manifests whose subject is
// d: from the storage's index of them, or by reading every manifest.
func (s *Server) referrers(repo string, d manifest.Digest) ([]manifest.Descriptor, error) {
	if ri, ok := s.store.(ReferenceIndex); ok {
		return ri.Referrers(repo, d)
	}
	out := []manifest.Descriptor{}
	err := s.eachManifest(repo, func(md manifest.Digest, doc *manifest.Document) bool {
		if sub := subjectOf(doc); sub != nil && sub.Digest == d {
			out = append(out, referrer(doc, md))
		}
		return true
	})
	return out, err
}

// referrer is the descriptor the referrers API lists for doc: its
// artifactType, or for a manifest without one its config's media type,
// and its annotations.
func referrer(doc *manifest.Document, d manifest.Digest) manifest.Descriptor {
	desc := manifest.Descriptor{MediaType: doc.MediaType, Digest: d, Size: int64(len(doc.Raw))}
	if m := doc.Manifest; m != nil {
		desc.ArtifactType, desc.Annotations = m.ArtifactType, m.Annotations
		if desc.ArtifactType == "" {
			desc.ArtifactType = m.Config.MediaType
		}
	} else {
		desc.ArtifactType, desc.Annotations = doc.Index.ArtifactType, doc.Index.Annotations
	}
	return desc
}

func filterArtifactType(descs []manifest.Descriptor, types []string) []manifest.Descriptor {
	out := []manifest.Descriptor{}
	for _, d := range descs {
		for _, t := range types {
			if d.ArtifactType == t {
				out = append(out, d)
				break
			}
		}
	}
	return out
}
