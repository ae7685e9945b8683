package registrytest

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/server"
)

// ecrRegistryID is the account id ECR names in its messages.
const ecrRegistryID = "123456789012"

// isMount matches the POST that asks for a mount.
func isMount(r *http.Request, rt server.Route) bool {
	q := r.URL.Query()
	return rt.Kind == server.RouteUploads && r.Method == http.MethodPost && q.Has("mount") && q.Has("from")
}

func ecrMountNeedsManifest(g *Registry, next http.Handler) http.Handler {
	return when(isMount, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		d, err := manifest.ParseDigest(q.Get("mount"))
		if err == nil && !g.referenced(q.Get("from"), d) {
			g.hit(ECRMountNeedsManifest)
			q.Del("mount")
			q.Del("from")
			r = r.Clone(r.Context())
			r.URL.RawQuery = q.Encode()
		}
		next.ServeHTTP(w, r)
	}), next)
}

// referenced reports whether a manifest of repo names blob d.
func (g *Registry) referenced(repo string, d manifest.Digest) bool {
	links, _ := g.store.List(repo, KindManifest)
	for _, l := range links {
		doc, err := g.readDocument(l)
		if err != nil || doc.Manifest == nil {
			continue
		}
		if doc.Manifest.Config.Digest == d {
			return true
		}
		for _, layer := range doc.Manifest.Layers {
			if layer.Digest == d {
				return true
			}
		}
	}
	return false
}

func ecrNoDigestOnGet(g *Registry, next http.Handler) http.Handler {
	return dropHeader(g, ECRNoDigestOnGet, "Docker-Content-Digest", is(server.RouteManifest, http.MethodGet), next)
}

func ecrPatchCreated(g *Registry, next http.Handler) http.Handler {
	return when(is(server.RouteUpload, http.MethodPatch), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(onHeaders(w, func(status int, _ http.Header) int {
			if status == http.StatusAccepted {
				g.hit(ECRPatchCreated)
				return http.StatusCreated
			}
			return status
		}), r)
	}), next)
}

// ecrChunkDiscard lets the first PATCH of each upload through (answered
// 201) and drops the bodies of the others, answering 201 with the
// session's unchanged Range.
func ecrChunkDiscard(g *Registry, next http.Handler) http.Handler {
	var mu sync.Mutex
	patched := map[string]bool{}
	return when(is(server.RouteUpload, http.MethodPatch), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, _ := server.RouteOf(r)
		mu.Lock()
		again := patched[rt.Ref]
		patched[rt.Ref] = true
		mu.Unlock()
		if !again {
			next.ServeHTTP(onHeaders(w, func(status int, _ http.Header) int {
				if status == http.StatusAccepted {
					return http.StatusCreated
				}
				return status
			}), r)
			return
		}
		g.hit(ECRChunkDiscard)
		io.Copy(io.Discard, r.Body)
		status := r.Clone(r.Context())
		status.Method, status.Body, status.ContentLength = http.MethodGet, http.NoBody, 0
		rec := served(next, status)
		if rec.Code != http.StatusNoContent {
			replay(w, rec, rec.Body.Bytes())
			return
		}
		w.Header().Set("Location", rec.Header().Get("Location"))
		w.Header().Set("Range", rec.Header().Get("Range"))
		w.Header().Set("Docker-Upload-UUID", rt.Ref)
		w.WriteHeader(http.StatusCreated)
	}), next)
}

func ecrRepositoryMustExist(g *Registry, next http.Handler) http.Handler {
	writes := func(r *http.Request, rt server.Route) bool {
		return (rt.Kind == server.RouteUploads || rt.Kind == server.RouteManifest && r.Method == http.MethodPut) &&
			!g.repoExists(rt.Name)
	}
	return when(writes, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, _ := server.RouteOf(r)
		g.hit(ECRRepositoryMustExist)
		writeQuirkError(w, http.StatusNotFound, CodeNameUnknown,
			fmt.Sprintf("The repository with name '%s' does not exist in the registry with id '%s'", rt.Name, ecrRegistryID), nil)
	}), next)
}

// existingTagPut matches manifest PUTs to a tag the repository has.
func (g *Registry) existingTagPut(r *http.Request, rt server.Route) bool {
	if rt.Kind != server.RouteManifest || r.Method != http.MethodPut || strings.Contains(rt.Ref, ":") {
		return false
	}
	_, err := g.store.Lookup(rt.Name, KindTag, rt.Ref)
	return err == nil
}

func ecrImmutableTags(g *Registry, next http.Handler) http.Handler {
	return when(g.existingTagPut, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, _ := server.RouteOf(r)
		g.hit(ECRImmutableTags)
		writeQuirkError(w, http.StatusBadRequest, CodeTagInvalid, fmt.Sprintf("The image tag '%s' already exists in the '%s' "+
			"repository and cannot be overwritten because the repository is immutable.", rt.Ref, rt.Name), nil)
	}), next)
}

// ecrMediaType refuses documents without a top-level mediaType.
func ecrMediaType(_ *Registry, doc *manifest.Document, _ []byte) *refusal {
	mt := ""
	if doc.Manifest != nil {
		mt = doc.Manifest.MediaType
	} else if doc.Index != nil {
		mt = doc.Index.MediaType
	}
	if mt != "" {
		return nil
	}
	return &refusal{http.StatusBadRequest, CodeUnsupported,
		"Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'", nil}
}

func ecrBlobRedirectS3(g *Registry, next http.Handler) http.Handler {
	return g.redirectBlobs(ECRBlobRedirectS3, http.StatusTemporaryRedirect,
		"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"+
			"&X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=0f1e2d3c", next)
}

// redirectBlobs answers GETs of blobs the repository holds with status
// and a Location on the blob host (Server.BlobURL), query appended, as a
// signed storage URL.
func (g *Registry) redirectBlobs(q Quirk, status int, query string, next http.Handler) http.Handler {
	held := func(r *http.Request, rt server.Route) bool {
		if rt.Kind != server.RouteBlob || r.Method != http.MethodGet || g.blobURL == "" {
			return false
		}
		_, err := g.store.Lookup(rt.Name, KindBlob, string(rt.Digest))
		return err == nil
	}
	return when(held, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, _ := server.RouteOf(r)
		g.hit(q)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Location", g.blobURL+"/blobs/"+string(rt.Digest)+"?"+query)
		w.WriteHeader(status)
	}), next)
}
