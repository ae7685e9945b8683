package registrytest

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"

	"github.com/skiffoci/skiff/manifest"
)

func (g *Registry) serveManifest(w http.ResponseWriter, r *http.Request, rt route) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		g.getManifest(w, r, rt)
	case http.MethodPut:
		g.putManifest(w, r, rt)
	case http.MethodDelete:
		g.deleteManifest(w, rt)
	}
}

func (g *Registry) getManifest(w http.ResponseWriter, r *http.Request, rt route) {
	l, ok := g.resolve(w, rt)
	if !ok {
		return
	}
	if l, ok = g.negotiate(w, r, rt, l); !ok {
		return
	}
	raw, err := g.readManifest(l.Digest)
	if err != nil {
		g.storageError(w, err, CodeManifestUnknown, nil)
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
func (g *Registry) resolve(w http.ResponseWriter, rt route) (Link, bool) {
	d := rt.digest
	if d == "" {
		tag, err := g.store.Lookup(rt.name, KindTag, rt.ref)
		if err != nil {
			g.storageError(w, err, CodeManifestUnknown, map[string]string{"Tag": rt.ref})
			return Link{}, false
		}
		d = tag.Digest
	}
	l, err := g.store.Lookup(rt.name, KindManifest, string(d))
	if err != nil {
		g.storageError(w, err, CodeManifestUnknown, map[string]string{"Digest": string(d)})
		return Link{}, false
	}
	return l, true
}

func (g *Registry) readManifest(d manifest.Digest) ([]byte, error) {
	f, err := g.store.OpenBlob(d)
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
func (g *Registry) putManifest(w http.ResponseWriter, r *http.Request, rt route) {
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
	if rt.digest != "" {
		if d = digestOf(raw, rt.digest.Algorithm()); d != rt.digest {
			writeError(w, http.StatusBadRequest, CodeDigestInvalid, map[string]string{"Digest": string(rt.digest)})
			return
		}
	}
	if errs := g.checkReferences(rt.name, doc); len(errs) > 0 {
		writeErrors(w, http.StatusBadRequest, errs...)
		return
	}
	if err := g.storeManifest(rt, d, doc); err != nil {
		writeError(w, http.StatusInternalServerError, CodeUnknown, err.Error())
		return
	}
	g.manifestCreated(w, r, rt.name, d, doc)
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
func (g *Registry) checkReferences(repo string, doc *manifest.Document) []apiError {
	var errs []apiError
	check := func(kind Kind, desc manifest.Descriptor) {
		if _, err := g.store.Lookup(repo, kind, string(desc.Digest)); err != nil {
			errs = append(errs, newError(CodeManifestBlobUnknown, "", desc.Digest))
			return
		}
		if size, err := g.store.StatBlob(desc.Digest); err == nil && size != desc.Size {
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

func (g *Registry) storeManifest(rt route, d manifest.Digest, doc *manifest.Document) error {
	if _, err := g.store.PutBlob(d, bytes.NewReader(doc.Raw)); err != nil {
		return err
	}
	err := g.store.Link(rt.name, Link{Kind: KindManifest, Name: string(d), Digest: d, MediaType: doc.MediaType})
	if err == nil && rt.digest == "" {
		err = g.store.Link(rt.name, Link{Kind: KindTag, Name: rt.ref, Digest: d})
	}
	return err
}

func (g *Registry) manifestCreated(w http.ResponseWriter, r *http.Request, repo string, d manifest.Digest, doc *manifest.Document) {
	h := w.Header()
	h.Set("Location", g.location(r, "/v2/"+repo+"/manifests/"+string(d)))
	h.Set("Docker-Content-Digest", string(d))
	h.Set("Content-Length", "0")
	if s := subjectOf(doc); s != nil && !g.opts.NoReferrers {
		h.Set("OCI-Subject", string(s.Digest))
	}
	w.WriteHeader(http.StatusCreated)
}

func subjectOf(doc *manifest.Document) *manifest.Descriptor {
	if doc.Manifest != nil {
		return doc.Manifest.Subject
	}
	return doc.Index.Subject
}

// deleteManifest deletes a tag, or a manifest with every tag naming it.
func (g *Registry) deleteManifest(w http.ResponseWriter, rt route) {
	if rt.digest == "" {
		if err := g.store.Unlink(rt.name, KindTag, rt.ref); err != nil {
			g.storageError(w, err, CodeManifestUnknown, map[string]string{"Tag": rt.ref})
			return
		}
		accepted(w)
		return
	}
	if err := g.store.Unlink(rt.name, KindManifest, string(rt.digest)); err != nil {
		g.storageError(w, err, CodeManifestUnknown, map[string]string{"Digest": string(rt.digest)})
		return
	}
	tags, _ := g.store.List(rt.name, KindTag)
	for _, t := range tags {
		if t.Digest == rt.digest {
			g.store.Unlink(rt.name, KindTag, t.Name)
		}
	}
	accepted(w)
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}
