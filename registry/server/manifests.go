package server

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"

	"github.com/skiffoci/skiff/manifest"
)

func (s *Server) serveManifest(w http.ResponseWriter, r *http.Request, rt Route) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.getManifest(w, r, rt)
	case http.MethodPut:
		s.putManifest(w, r, rt)
	case http.MethodDelete:
		s.deleteManifest(w, rt)
	}
}

func (s *Server) getManifest(w http.ResponseWriter, r *http.Request, rt Route) {
	l, ok := s.resolve(w, rt)
	if !ok {
		return
	}
	if l, ok = s.negotiate(w, r, rt, l); !ok {
		return
	}
	raw, err := s.readManifest(l.Digest)
	if err != nil {
		s.storageError(w, err, CodeManifestUnknown, nil)
		return
	}
	h := w.Header()
	h.Set("Content-Type", l.MediaType)
	h.Set("Content-Length", strconv.Itoa(len(raw)))
	h.Set("Docker-Content-Digest", string(l.Digest))
	h.Set("Etag", `"`+string(l.Digest)+`"`)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(raw)
	}
}

// resolve finds the manifest a tag or digest names in the repository.
func (s *Server) resolve(w http.ResponseWriter, rt Route) (Link, bool) {
	d := rt.Digest
	if d == "" {
		tag, err := s.store.Lookup(rt.Name, KindTag, rt.Ref)
		if err != nil {
			s.storageError(w, err, CodeManifestUnknown, map[string]string{"Tag": rt.Ref})
			return Link{}, false
		}
		d = tag.Digest
	}
	l, err := s.store.Lookup(rt.Name, KindManifest, string(d))
	if err != nil {
		s.storageError(w, err, CodeManifestUnknown, map[string]string{"Digest": string(d)})
		return Link{}, false
	}
	return l, true
}

func (s *Server) readManifest(d manifest.Digest) ([]byte, error) {
	f, err := s.store.OpenBlob(d)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return manifest.ReadLimited(f, manifest.MaxManifestSize, "manifest")
}

// putManifest stores a manifest after checking it the way distribution
// does, and more: it must parse, match its Content-Type, hash to the
// digest it is put by, and every blob (manifest) or child (index) it
// references must be in the repository with the size it says.
func (s *Server) putManifest(w http.ResponseWriter, r *http.Request, rt Route) {
	raw, err := manifest.ReadLimited(r.Body, manifest.MaxManifestSize, "manifest")
	var limit *manifest.LimitError
	if errors.As(err, &limit) {
		writeError(w, http.StatusRequestEntityTooLarge, CodeManifestInvalid, err.Error())
		return
	}
	doc, err := parsePut(raw, r.Header.Get("Content-Type"), err)
	if err != nil {
		writeError(w, http.StatusBadRequest, CodeManifestInvalid, err.Error())
		return
	}
	d := doc.Digest
	if rt.Digest != "" {
		if d = digestOf(raw, rt.Digest.Algorithm()); d != rt.Digest {
			writeError(w, http.StatusBadRequest, CodeDigestInvalid, map[string]string{"Digest": string(rt.Digest)})
			return
		}
	}
	unlock := s.lockRepo(rt.Name)
	defer unlock()
	if errs := s.checkReferences(rt.Name, doc); len(errs) > 0 {
		writeErrors(w, http.StatusBadRequest, errs...)
		return
	}
	if err := s.storeManifest(rt, d, doc); err != nil {
		s.internalError(w, err)
		return
	}
	s.manifestCreated(w, r, rt.Name, d, doc)
}

// parsePut parses a pushed manifest, whose Content-Type must be one of the
// manifest and index types skiff knows.
func parsePut(raw []byte, contentType string, readErr error) (*manifest.Document, error) {
	if readErr != nil {
		return nil, readErr
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || !(manifest.IsIndex(mt) || manifest.IsManifest(mt)) {
		return nil, fmt.Errorf("unsupported manifest Content-Type %q", truncate(contentType, 100))
	}
	return manifest.Parse(raw, mt)
}

func digestOf(raw []byte, algorithm string) manifest.Digest {
	dg := manifest.NewDigester(algorithm)
	dg.Write(raw)
	return dg.Digest()
}

// checkReferences returns MANIFEST_BLOB_UNKNOWN for each referenced blob
// or child manifest the repository lacks (foreign layers with URLs
// excepted) and MANIFEST_INVALID for each whose size is not the
// descriptor's.
func (s *Server) checkReferences(repo string, doc *manifest.Document) []apiError {
	var errs []apiError
	check := func(kind Kind, desc manifest.Descriptor) {
		if _, err := s.store.Lookup(repo, kind, string(desc.Digest)); err != nil {
			errs = append(errs, newError(CodeManifestBlobUnknown, "", desc.Digest))
			return
		}
		if size, err := s.store.StatBlob(desc.Digest); err == nil && size != desc.Size {
			errs = append(errs, newError(CodeManifestInvalid, "",
				fmt.Sprintf("descriptor of %s says %d bytes, the registry has %d", desc.Digest, desc.Size, size)))
		}
	}
	if m := doc.Manifest; m != nil {
		check(KindBlob, m.Config)
		for _, l := range m.Layers {
			if !(manifest.IsForeign(l.MediaType) && len(l.URLs) > 0) {
				check(KindBlob, l)
			}
		}
		return errs
	}
	for _, child := range doc.Index.Manifests {
		check(KindManifest, child)
	}
	return errs
}

func (s *Server) storeManifest(rt Route, d manifest.Digest, doc *manifest.Document) error {
	if _, err := s.store.PutBlob(d, bytes.NewReader(doc.Raw)); err != nil {
		return err
	}
	m := Link{Kind: KindManifest, Name: string(d), Digest: d, MediaType: doc.MediaType}
	if tl, ok := s.store.(TagLinker); ok && rt.Digest == "" {
		return tl.LinkTagged(rt.Name, m, rt.Ref)
	}
	err := s.store.Link(rt.Name, m)
	if err == nil && rt.Digest == "" {
		err = s.store.Link(rt.Name, Link{Kind: KindTag, Name: rt.Ref, Digest: d})
	}
	return err
}

func (s *Server) manifestCreated(w http.ResponseWriter, r *http.Request, repo string, d manifest.Digest, doc *manifest.Document) {
	h := w.Header()
	h.Set("Location", location(r, "/v2/"+repo+"/manifests/"+string(d)))
	h.Set("Docker-Content-Digest", string(d))
	h.Set("Content-Length", "0")
	if sub := subjectOf(doc); sub != nil {
		h.Set("OCI-Subject", string(sub.Digest))
	}
	w.WriteHeader(http.StatusCreated)
}

func subjectOf(doc *manifest.Document) *manifest.Descriptor {
	if doc.Manifest != nil {
		return doc.Manifest.Subject
	}
	return doc.Index.Subject
}

// deleteManifest deletes a tag, or a manifest with every tag naming it
// unless an index of the repository lists it (405 DENIED).
func (s *Server) deleteManifest(w http.ResponseWriter, rt Route) {
	unlock := s.lockRepo(rt.Name)
	defer unlock()
	if rt.Digest == "" {
		if err := s.store.Unlink(rt.Name, KindTag, rt.Ref); err != nil {
			s.storageError(w, err, CodeManifestUnknown, map[string]string{"Tag": rt.Ref})
			return
		}
		accepted(w)
		return
	}
	if _, err := s.store.Lookup(rt.Name, KindManifest, string(rt.Digest)); err != nil {
		s.storageError(w, err, CodeManifestUnknown, map[string]string{"Digest": string(rt.Digest)})
		return
	}
	if !s.unreferenced(w, rt.Name, rt.Digest) {
		return
	}
	if err := s.store.Unlink(rt.Name, KindManifest, string(rt.Digest)); err != nil {
		s.storageError(w, err, CodeManifestUnknown, map[string]string{"Digest": string(rt.Digest)})
		return
	}
	tags, _ := s.store.List(rt.Name, KindTag)
	for _, t := range tags {
		if t.Digest == rt.Digest {
			s.store.Unlink(rt.Name, KindTag, t.Name)
		}
	}
	accepted(w)
}
