package registry_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
)

// A registry that answers with Content-Encoding: gzip (a bomb, or just a
// CDN's doing) is not decoded: skiff asks for no encoding, and the bytes
// that arrive are what is hashed, so the fetch fails with a digest
// mismatch instead of inflating anything. (Holds today; kept as
// coverage of the "gzip bomb in transfer" attack.)
func TestRedteamContentEncodingNotDecoded(t *testing.T) {
	raw := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`)
	desc := manifest.DescriptorFor(manifest.MediaTypeOCIManifest, raw)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	var asked atomic.Value
	asked.Store("")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		asked.Store(r.Header.Get("Accept-Encoding"))
		w.Header().Set("Content-Type", manifest.MediaTypeOCIManifest)
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gz.Bytes())
	}))
	t.Cleanup(srv.Close)
	c, _ := testClient(&registry.Client{})
	repo := c.Repository(mustParse(t, strings.TrimPrefix(srv.URL, "http://")+"/a/b"))
	_, err := repo.FetchManifest(t.Context(), string(desc.Digest))
	if !errors.Is(err, manifest.ErrDigestMismatch) && !errors.Is(err, manifest.ErrSizeMismatch) {
		t.Errorf("a gzip-encoded manifest: %v, want a digest mismatch (nothing decoded)", err)
	}
	if a := asked.Load().(string); a != "" {
		t.Errorf("skiff sent Accept-Encoding %q", a)
	}
}
