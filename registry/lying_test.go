package registry_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
)

const (
	realManifest = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`
	evilManifest = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[],"annotations":{"evil":"yes"}}`
)

// liar serves body for every manifest request with the given
// Docker-Content-Digest and Content-Type; HEAD answers with status head.
func liar(body, digest, ct string, head int) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if digest != "" {
			w.Header().Set("Docker-Content-Digest", digest)
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method == http.MethodHead {
			w.WriteHeader(head)
			return
		}
		w.Write([]byte(body))
	}))
}

func TestReliability01_ByDigestWrongManifest(t *testing.T) {
	want := manifest.FromString(realManifest)
	srv := liar(evilManifest, string(want), manifest.MediaTypeOCIManifest, 200)
	defer srv.Close()
	repo := newRepo(t, &registry.Client{}, srv, "a/b")
	_, err := repo.FetchManifest(t.Context(), string(want))
	if !errors.Is(err, manifest.ErrDigestMismatch) || !strings.Contains(err.Error(), string(want)) {
		t.Fatalf("err = %v, want a digest mismatch naming %s", err, want)
	}
	rc, err := repo.Fetch(t.Context(), manifest.Descriptor{MediaType: manifest.MediaTypeOCIManifest, Digest: want, Size: int64(len(realManifest))})
	if err == nil {
		_, err = manifest.ReadLimited(rc, 1<<20, "x")
		rc.Close()
	}
	if err == nil {
		t.Fatal("Fetch returned a manifest that does not match its digest")
	}
}

func TestReliability02_Schema1Refused(t *testing.T) {
	body := `{"schemaVersion":1,"name":"a/b","tag":"latest","fsLayers":[],"history":[]}`
	d := manifest.FromString(body)
	srv := liar(body, string(d), "application/vnd.docker.distribution.manifest.v1+prettyjws", 200)
	defer srv.Close()
	repo := newRepo(t, &registry.Client{}, srv, "a/b")
	_, err := repo.FetchManifest(t.Context(), string(d))
	if !errors.Is(err, manifest.ErrSchema1) {
		t.Fatalf("err = %v, want ErrSchema1", err)
	}
	// The same, when the registry also lies about the digest.
	_, err = repo.FetchManifest(t.Context(), string(manifest.FromString(realManifest)))
	if err == nil {
		t.Fatal("schema1 body accepted under another digest")
	}
}

func TestReliability03_ByTagHeaderDisagrees(t *testing.T) {
	srv := liar(evilManifest, string(manifest.FromString(realManifest)), manifest.MediaTypeOCIManifest, 200)
	defer srv.Close()
	repo := newRepo(t, &registry.Client{}, srv, "a/b")
	if _, err := repo.FetchManifest(t.Context(), "latest"); !errors.Is(err, manifest.ErrDigestMismatch) {
		t.Fatalf("err = %v, want a digest mismatch", err)
	}
}

func TestReliability03_HeadFallsBackToGet(t *testing.T) {
	for name, srv := range map[string]*httptest.Server{
		"HEAD 405":  liar(realManifest, string(manifest.FromString(realManifest)), manifest.MediaTypeOCIManifest, 405),
		"no header": liar(realManifest, "", manifest.MediaTypeOCIManifest, 200),
	} {
		repo := newRepo(t, &registry.Client{}, srv, "a/b")
		desc, err := repo.Resolve(t.Context(), "latest")
		srv.Close()
		if err != nil || desc.Digest != manifest.FromString(realManifest) || desc.Size != int64(len(realManifest)) {
			t.Errorf("%s: Resolve = %+v, %v", name, desc, err)
		}
	}
}

func TestResolveByDigestWrongHeader(t *testing.T) {
	srv := liar(realManifest, string(manifest.FromString(evilManifest)), manifest.MediaTypeOCIManifest, 200)
	defer srv.Close()
	repo := newRepo(t, &registry.Client{}, srv, "a/b")
	if _, err := repo.Resolve(t.Context(), string(manifest.FromString(realManifest))); err == nil {
		t.Fatal("Resolve accepted a HEAD answering with another digest")
	}
}

func TestReliability06_MediaTypeDisagrees(t *testing.T) {
	srv := liar(realManifest, "", manifest.MediaTypeOCIIndex, 200)
	defer srv.Close()
	repo := newRepo(t, &registry.Client{}, srv, "a/b")
	if _, err := repo.FetchManifest(t.Context(), "latest"); !errors.Is(err, manifest.ErrAmbiguous) {
		t.Fatalf("err = %v, want ErrAmbiguous", err)
	}
}

func TestReliability07_DigestStringsRejectedBeforeRequest(t *testing.T) {
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests++ }))
	defer srv.Close()
	repo := newRepo(t, &registry.Client{}, srv, "a/b")
	for _, ref := range []string{"sha256:../x", "sha256:" + strings.Repeat("A", 64), "md5:abc", "../../etc", "a/b", ""} {
		if _, err := repo.FetchManifest(t.Context(), ref); err == nil {
			t.Errorf("FetchManifest(%q) succeeded", ref)
		}
		if _, err := repo.Fetch(t.Context(), manifest.Descriptor{Digest: manifest.Digest(ref), Size: 1}); err == nil {
			t.Errorf("Fetch(%q) succeeded", ref)
		}
	}
	if requests != 0 {
		t.Fatalf("%d requests were sent for invalid references", requests)
	}
}

func TestReliability08_EndlessManifest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", manifest.MediaTypeOCIManifest)
		chunk := []byte(strings.Repeat(" ", 32<<10))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	repo := newRepo(t, &registry.Client{}, srv, "a/b")
	_, err := repo.FetchManifest(t.Context(), "latest")
	var le *manifest.LimitError
	if !errors.As(err, &le) || le.Limit != manifest.MaxManifestSize {
		t.Fatalf("err = %v, want a LimitError", err)
	}
}
