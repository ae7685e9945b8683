package registrytest

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/server"
)

// quayMixedIndex refuses OCI indexes that list Docker manifests.
func quayMixedIndex(_ *Registry, doc *manifest.Document, _ []byte) *refusal {
	if doc.Index == nil || doc.MediaType != manifest.MediaTypeOCIIndex {
		return nil
	}
	for _, d := range doc.Index.Manifests {
		if d.MediaType != manifest.MediaTypeOCIManifest && d.MediaType != manifest.MediaTypeOCIIndex {
			return quayRefusal(fmt.Sprintf("'%s' is not one of ['%s', '%s']", d.MediaType,
				manifest.MediaTypeOCIManifest, manifest.MediaTypeOCIIndex))
		}
	}
	return nil
}

func quayRefusal(why string) *refusal {
	return &refusal{http.StatusBadRequest, CodeManifestInvalid, "manifest invalid",
		map[string]string{"message": "failed to parse manifest: manifest data does not match schema: " + why}}
}

// imageLayerTypes are the layer types of images.
var imageLayerTypes = []string{manifest.MediaTypeOCILayer, manifest.MediaTypeOCILayerGzip, manifest.MediaTypeOCILayerZstd,
	manifest.MediaTypeOCIForeignLayer, manifest.MediaTypeDockerLayer, manifest.MediaTypeDockerForeignLayer,
	"application/vnd.docker.image.rootfs.diff.tar"}

// quayArtifactTypes refuses manifests that are not images.
func quayArtifactTypes(_ *Registry, doc *manifest.Document, _ []byte) *refusal {
	m := doc.Manifest
	if m == nil {
		return nil
	}
	if m.Config.MediaType != manifest.MediaTypeOCIConfig && m.Config.MediaType != manifest.MediaTypeDockerConfig {
		return quayRefusal(fmt.Sprintf("config media type '%s' is not allowed", m.Config.MediaType))
	}
	for _, l := range m.Layers {
		if !slices.Contains(imageLayerTypes, l.MediaType) {
			return quayRefusal(fmt.Sprintf("layer media type '%s' is not allowed", l.MediaType))
		}
	}
	return nil
}

// gitlabKnownTypes are the config and artifact types GitLab's registry
// accepts (its seeded media_types table holds more; these are the ones
// the sources show).
var gitlabKnownTypes = []string{manifest.MediaTypeOCIConfig, manifest.MediaTypeDockerConfig, manifest.MediaTypeOCIEmpty,
	"application/vnd.cncf.helm.config.v1+json"}

// gitlabMediaTypes refuses configs and artifact types GitLab does not know.
func gitlabMediaTypes(_ *Registry, doc *manifest.Document, _ []byte) *refusal {
	m := doc.Manifest
	if m == nil {
		return nil
	}
	for _, mt := range []string{m.Config.MediaType, m.ArtifactType} {
		if mt != "" && !slices.Contains(gitlabKnownTypes, mt) {
			return &refusal{http.StatusBadRequest, CodeManifestInvalid, "manifest invalid", "unknown media type: " + mt}
		}
	}
	return nil
}

// zotOCIOnly refuses Docker media types.
func zotOCIOnly(_ *Registry, doc *manifest.Document, _ []byte) *refusal {
	if doc.MediaType == manifest.MediaTypeDockerManifest || doc.MediaType == manifest.MediaTypeDockerManifestList {
		return &refusal{http.StatusBadRequest, CodeManifestInvalid, "manifest invalid", nil}
	}
	return nil
}

// artifactoryHistory refuses images whose config does not have one
// non-empty history entry per layer.
func artifactoryHistory(g *Registry, doc *manifest.Document, _ []byte) *refusal {
	m := doc.Manifest
	if m == nil || m.Config.MediaType != manifest.MediaTypeOCIConfig && m.Config.MediaType != manifest.MediaTypeDockerConfig {
		return nil
	}
	f, err := g.store.OpenBlob(m.Config.Digest)
	if err != nil {
		return nil // the registry answers MANIFEST_BLOB_UNKNOWN
	}
	defer f.Close()
	var cfg manifest.Config
	if json.NewDecoder(io.LimitReader(f, 8<<20)).Decode(&cfg) != nil {
		return nil
	}
	n := 0
	for _, h := range cfg.History {
		if !h.EmptyLayer {
			n++
		}
	}
	if n == len(m.Layers) {
		return nil
	}
	return &refusal{http.StatusBadRequest, CodeManifestInvalid, "manifest invalid", nil}
}

func gitlabStrictAccept(g *Registry, next http.Handler) http.Handler {
	unlisted := func(r *http.Request, rt server.Route) bool {
		if !is(server.RouteManifest, http.MethodGet, http.MethodHead)(r, rt) {
			return false
		}
		l, ok := g.manifestOf(rt.Name, rt.Ref)
		return ok && !accepts(r.Header.Values("Accept"), l.MediaType)
	}
	return when(unlisted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.hit(GitLabStrictAccept)
		writeQuirkError(w, http.StatusNotFound, CodeManifestUnknown, "manifest unknown", nil)
	}), next)
}

// accepts reports whether Accept values list media type mt.
func accepts(values []string, mt string) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			t, _, _ := strings.Cut(part, ";")
			if strings.TrimSpace(t) == mt {
				return true
			}
		}
	}
	return false
}

func artifactoryAccept406(g *Registry, next http.Handler) http.Handler {
	manifestAccept := func(r *http.Request, rt server.Route) bool {
		switch rt.Kind {
		case server.RouteBlob, server.RouteUploads, server.RouteUpload:
			a := strings.Join(r.Header.Values("Accept"), ",")
			return strings.Contains(a, "manifest") || strings.Contains(a, "image.index")
		}
		return false
	}
	return when(manifestAccept, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.hit(ArtifactoryAccept406)
		http.Error(w, "Not Acceptable", http.StatusNotAcceptable)
	}), next)
}

func artifactoryMissingTag403(g *Registry, next http.Handler) http.Handler {
	missing := func(r *http.Request, rt server.Route) bool {
		if !is(server.RouteManifest, http.MethodGet, http.MethodHead)(r, rt) || strings.Contains(rt.Ref, ":") {
			return false
		}
		_, err := g.store.Lookup(rt.Name, KindTag, rt.Ref)
		return err != nil
	}
	return when(missing, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, _ := server.RouteOf(r)
		g.hit(ArtifactoryMissingTag403)
		writeQuirkError(w, http.StatusForbidden, CodeUnauthorized, fmt.Sprintf("The client does not have permission for "+
			"manifest: Download request for repo:path 'docker-remote:%s/%s/list.manifest.json' is forbidden for user: "+
			"'token:dockerwrite'.", rt.Name, rt.Ref), map[string]string{"manifest": rt.Name})
	}), next)
}

func nexusPutNoDigest(g *Registry, next http.Handler) http.Handler {
	return dropHeader(g, NexusPutNoDigest, "Docker-Content-Digest", is(server.RouteManifest, http.MethodPut), next)
}

// nexusBlobCannotBeUpdated refuses the request that would complete an
// upload of a blob the repository already has.
func nexusBlobCannotBeUpdated(g *Registry, next http.Handler) http.Handler {
	again := func(r *http.Request, rt server.Route) bool {
		q := r.URL.Query()
		completes := rt.Kind == server.RouteUpload && r.Method == http.MethodPut ||
			rt.Kind == server.RouteUploads && r.Method == http.MethodPost && !q.Has("mount")
		if !completes || !q.Has("digest") {
			return false
		}
		_, err := g.store.Lookup(rt.Name, KindBlob, q.Get("digest"))
		return err == nil
	}
	return when(again, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.hit(NexusBlobCannotBeUpdated)
		io.Copy(io.Discard, r.Body)
		writeQuirkError(w, http.StatusBadRequest, CodeBlobUploadInvalid, "blob upload invalid",
			"docker-hosted/v2/-/blobs/"+r.URL.Query().Get("digest")+" cannot be updated")
	}), next)
}

func proxyNoDigestOnHead(g *Registry, next http.Handler) http.Handler {
	return dropHeader(g, ProxyNoDigestOnHead, "Docker-Content-Digest", is(server.RouteManifest, http.MethodHead), next)
}

// redHatGzipEncoding gzips blob bodies for clients that accept gzip.
func redHatGzipEncoding(g *Registry, next http.Handler) http.Handler {
	asks := func(r *http.Request, rt server.Route) bool {
		return is(server.RouteBlob, http.MethodGet)(r, rt) && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip")
	}
	return when(asks, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.hit(RedHatGzipEncoding)
		gw := &gzipWriter{ResponseWriter: w}
		next.ServeHTTP(gw, r)
		if gw.zw != nil {
			gw.zw.Close()
		}
	}), next)
}

type gzipWriter struct {
	http.ResponseWriter
	zw     *gzip.Writer
	headed bool
}

func (w *gzipWriter) WriteHeader(status int) {
	w.headed = true
	if status == http.StatusOK && w.zw == nil {
		w.Header().Del("Content-Length")
		w.Header().Set("Content-Encoding", "gzip")
		w.zw = gzip.NewWriter(w.ResponseWriter)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *gzipWriter) Write(p []byte) (int, error) {
	if !w.headed {
		w.WriteHeader(http.StatusOK)
	}
	if w.zw != nil {
		return w.zw.Write(p)
	}
	return w.ResponseWriter.Write(p)
}
