package server

import (
	"encoding/json"
	"mime"
	"net/http"
	"strings"

	"github.com/skiffoci/skiff/manifest"
)

// acceptSet returns the media types of every Accept header, parameters
// (q values included) dropped: any listed type counts as accepted.
func acceptSet(r *http.Request) map[string]bool {
	set := map[string]bool{}
	for _, h := range r.Header.Values("Accept") {
		for _, part := range strings.Split(h, ",") {
			if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil {
				set[mt] = true
			}
		}
	}
	return set
}

// negotiate decides what a manifest GET or HEAD gets, as distribution 2.8
// does:
//   - an OCI manifest or index only when Accept lists its type (else 404
//     MANIFEST_UNKNOWN), by tag or by digest;
//   - by digest, a Docker manifest or manifest list whatever Accept says;
//   - by tag, a Docker manifest only when Accept lists it (distribution
//     would convert to schema 1, which this registry refuses with 400
//     MANIFEST_INVALID);
//   - by tag, a Docker manifest list when Accept lists it, else its
//     linux/amd64 manifest when Accept lists the Docker manifest type,
//     else 400 MANIFEST_INVALID.
func (s *Server) negotiate(w http.ResponseWriter, r *http.Request, rt Route, l Link) (Link, bool) {
	acc := acceptSet(r)
	if acc[l.MediaType] {
		return l, true
	}
	byDigest := rt.Digest != ""
	switch l.MediaType {
	case manifest.MediaTypeOCIManifest:
		writeErrors(w, http.StatusNotFound, newError(CodeManifestUnknown,
			"OCI manifest found, but accept header does not support OCI manifests", nil))
		return l, false
	case manifest.MediaTypeOCIIndex:
		writeErrors(w, http.StatusNotFound, newError(CodeManifestUnknown,
			"OCI index found, but accept header does not support OCI indexes", nil))
		return l, false
	case manifest.MediaTypeDockerManifestList:
		if !byDigest && acc[manifest.MediaTypeDockerManifest] {
			return s.defaultPlatform(w, rt, l)
		}
	}
	if byDigest {
		return l, true
	}
	writeError(w, http.StatusBadRequest, CodeManifestInvalid,
		"the Accept header does not list "+l.MediaType+"; conversion to schema 1 is not supported")
	return l, false
}

// defaultPlatform returns the linux/amd64 manifest of a manifest list, as
// distribution serves to clients that accept only Docker manifests.
func (s *Server) defaultPlatform(w http.ResponseWriter, rt Route, list Link) (Link, bool) {
	raw, err := s.readManifest(list.Digest)
	var idx manifest.Index
	if err == nil {
		err = json.Unmarshal(raw, &idx)
	}
	if err != nil {
		s.internalError(w, err)
		return list, false
	}
	for _, m := range idx.Manifests {
		if p := m.Platform; p != nil && p.OS == "linux" && p.Architecture == "amd64" {
			return s.resolve(w, Route{Kind: RouteManifest, Name: rt.Name, Digest: m.Digest})
		}
	}
	writeErrors(w, http.StatusNotFound, newError(CodeManifestUnknown, "no linux/amd64 manifest in the manifest list", nil))
	return list, false
}
