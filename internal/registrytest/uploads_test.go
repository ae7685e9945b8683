package registrytest_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testtool"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// POST answers as distribution does: 202, an absolute Location with a
// _state parameter, Docker-Upload-UUID and Range 0-0.
func TestUploadStart(t *testing.T) {
	srv, c := start(t, nil)
	r := c.do("POST", "/v2/a/b/blobs/uploads/", nil).want(t, 202)
	r.header(t, "Range", "0-0").header(t, "Content-Length", "0").header(t, "OCI-Chunk-Min-Length", "")
	id := r.Header.Get("Docker-Upload-UUID")
	if !uuidRE.MatchString(id) {
		t.Fatalf("Docker-Upload-UUID %q is not a UUID", id)
	}
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, srv.URL+"/v2/a/b/blobs/uploads/"+id+"?_state=") {
		t.Fatalf("Location %q", loc)
	}
}

func TestUploadPostThenPut(t *testing.T) {
	srv, c := start(t, nil)
	blob := []byte("monolithic")
	d := digestOf(blob)
	loc := c.do("POST", "/v2/a/blobs/uploads/", nil).want(t, 202).Header.Get("Location")
	r := c.do("PUT", loc+"&digest="+string(d), blob, "Content-Type", "application/octet-stream").want(t, 201)
	r.header(t, "Location", srv.URL+"/v2/a/blobs/"+string(d)).header(t, "Docker-Content-Digest", string(d))
	c.do("GET", "/v2/a/blobs/"+string(d), nil).want(t, 200)
	c.do("GET", loc, nil).wantError(t, 404, "BLOB_UPLOAD_UNKNOWN") // the session is over
}

func TestUploadSinglePOST(t *testing.T) {
	srv, c := start(t, nil)
	blob := []byte("single post")
	d := digestOf(blob)
	r := c.do("POST", "/v2/a/blobs/uploads/?digest="+string(d), blob, "Content-Type", "application/octet-stream")
	r.want(t, 201).header(t, "Location", srv.URL+"/v2/a/blobs/"+string(d))
	c.do("GET", "/v2/a/blobs/"+string(d), nil).want(t, 200)
	wrong := digestOf([]byte("other"))
	c.do("POST", "/v2/a/blobs/uploads/?digest="+string(wrong), blob).wantError(t, 400, "DIGEST_INVALID")
	c.do("GET", "/v2/a/blobs/"+string(wrong), nil).want(t, 404)
	c.do("POST", "/v2/a/blobs/uploads/?digest=sha256:nope", blob).wantError(t, 400, "DIGEST_INVALID")
}

// With NoSinglePOST a POST with ?digest= opens a session, as distribution
// 2.8 does.
func TestUploadNoSinglePOST(t *testing.T) {
	_, c := start(t, &registrytest.Options{NoSinglePOST: true})
	blob := []byte("single post")
	d := digestOf(blob)
	c.do("POST", "/v2/a/blobs/uploads/?digest="+string(d), blob).want(t, 202).header(t, "Range", "0-0")
	c.do("GET", "/v2/a/blobs/"+string(d), nil).want(t, 404)
}

// patch sends a chunk to loc and returns the reply.
func (c *client) patch(loc, contentRange string, chunk []byte) reply {
	c.t.Helper()
	h := []string{"Content-Type", "application/octet-stream"}
	if contentRange != "" {
		h = append(h, "Content-Range", contentRange)
	}
	return c.do("PATCH", loc, chunk, h...)
}

func TestUploadChunked(t *testing.T) {
	_, c := start(t, nil)
	blob := []byte("0123456789abcdef")
	loc := c.do("POST", "/v2/a/blobs/uploads/", nil).want(t, 202).Header.Get("Location")
	r := c.patch(loc, "0-5", blob[:6]).want(t, 202).header(t, "Range", "0-5")
	loc = r.Header.Get("Location")
	c.do("GET", loc, nil).want(t, 204).header(t, "Range", "0-5")
	r = c.patch(loc, "6-11", blob[6:12]).want(t, 202).header(t, "Range", "0-11")
	loc = r.Header.Get("Location")
	c.do("PUT", loc+"&digest="+string(digestOf(blob)), blob[12:], "Content-Range", "12-15").want(t, 201)
	if got := c.do("GET", "/v2/a/blobs/"+string(digestOf(blob)), nil).want(t, 200).body; string(got) != string(blob) {
		t.Fatalf("blob %q", got)
	}
}

// Chunks must continue the upload exactly: a gap or an overlap is 416 and
// changes nothing; GET reports the progress to continue from.
func TestUploadChunkOrder(t *testing.T) {
	_, c := start(t, nil)
	loc := c.do("POST", "/v2/a/blobs/uploads/", nil).Header.Get("Location")
	loc = c.patch(loc, "0-3", []byte("abcd")).want(t, 202).Header.Get("Location")
	c.patch(loc, "6-7", []byte("gh")).wantError(t, 416, "BLOB_UPLOAD_INVALID")
	c.patch(loc, "2-5", []byte("cdef")).wantError(t, 416, "BLOB_UPLOAD_INVALID")
	c.patch(loc, "5-4", []byte("")).wantError(t, 416, "BLOB_UPLOAD_INVALID")
	c.do("GET", loc, nil).want(t, 204).header(t, "Range", "0-3")
	c.patch(loc, "bytes 4-5/6", []byte("ef")).wantError(t, 400, "BLOB_UPLOAD_INVALID")
	c.patch(loc, "4-7", []byte("ef")).wantError(t, 400, "SIZE_INVALID")
	c.do("GET", loc, nil).want(t, 204).header(t, "Range", "0-3")
	c.patch(loc, "4-5", []byte("ef")).want(t, 202).header(t, "Range", "0-5")
}

// A PATCH without Content-Range appends its body, as distribution allows.
func TestUploadStreamPatch(t *testing.T) {
	_, c := start(t, nil)
	loc := c.do("POST", "/v2/a/blobs/uploads/", nil).Header.Get("Location")
	loc = c.patch(loc, "", []byte("stream ")).want(t, 202).header(t, "Range", "0-6").Header.Get("Location")
	loc = c.do("PATCH", loc, []byte("data")).want(t, 202).header(t, "Range", "0-10").Header.Get("Location")
	c.do("PUT", loc+"&digest="+string(digestOf([]byte("stream data"))), nil).want(t, 201)
}

func TestUploadPatchContentType(t *testing.T) {
	_, c := start(t, nil)
	loc := c.do("POST", "/v2/a/blobs/uploads/", nil).Header.Get("Location")
	c.do("PATCH", loc, []byte("x"), "Content-Type", "application/x-www-form-urlencoded").wantError(t, 400, "BLOB_UPLOAD_INVALID")
}

// A PUT whose digest does not match ends the session with DIGEST_INVALID;
// a PUT without a digest, or with a malformed one, is refused.
func TestUploadPutDigest(t *testing.T) {
	_, c := start(t, nil)
	loc := c.do("POST", "/v2/a/blobs/uploads/", nil).Header.Get("Location")
	c.do("PUT", loc, []byte("x")).wantError(t, 400, "DIGEST_INVALID")
	c.do("PUT", loc+"&digest=sha256:12", []byte("x")).wantError(t, 400, "DIGEST_INVALID")
	wrong := digestOf([]byte("y"))
	c.do("PUT", loc+"&digest="+string(wrong), nil).wantError(t, 400, "DIGEST_INVALID")
	c.do("GET", loc, nil).wantError(t, 404, "BLOB_UPLOAD_UNKNOWN")
	c.do("GET", "/v2/a/blobs/"+string(wrong), nil).want(t, 404)
}

func TestUploadCancel(t *testing.T) {
	_, c := start(t, nil)
	loc := c.do("POST", "/v2/a/blobs/uploads/", nil).Header.Get("Location")
	c.do("DELETE", loc, nil).want(t, 204)
	c.do("GET", loc, nil).wantError(t, 404, "BLOB_UPLOAD_UNKNOWN")
	c.patch(loc, "0-0", []byte("x")).wantError(t, 404, "BLOB_UPLOAD_UNKNOWN")
}

// Upload URLs must be used as the registry sent them: without _state, or
// under another repository, they are refused.
func TestUploadLocationIsOpaque(t *testing.T) {
	_, c := start(t, nil)
	loc := c.do("POST", "/v2/a/blobs/uploads/", nil).Header.Get("Location")
	bare, _, _ := strings.Cut(loc, "?")
	c.do("GET", bare, nil).wantError(t, 404, "BLOB_UPLOAD_INVALID")
	c.do("PUT", bare+"?digest="+string(digestOf(nil)), nil).wantError(t, 404, "BLOB_UPLOAD_INVALID")
	c.do("GET", strings.Replace(loc, "/v2/a/", "/v2/b/", 1), nil).wantError(t, 404, "BLOB_UPLOAD_UNKNOWN")
	c.do("GET", "/v2/a/blobs/uploads/00000000-0000-4000-8000-000000000000?_state=x", nil).wantError(t, 404, "BLOB_UPLOAD_UNKNOWN")
	c.do("GET", loc, nil).want(t, 204)
}

// By default any Location of a live session works; StaleUploadCheck
// refuses ones older than the last PATCH, as distribution 2.8 does.
func TestUploadStaleLocation(t *testing.T) {
	for _, strict := range []bool{false, true} {
		_, c := start(t, &registrytest.Options{StaleUploadCheck: strict})
		first := c.do("POST", "/v2/a/blobs/uploads/", nil).Header.Get("Location")
		c.patch(first, "0-1", []byte("ab")).want(t, 202)
		r := c.do("GET", first, nil)
		if strict {
			r.wantError(t, 404, "BLOB_UPLOAD_INVALID")
		} else {
			r.want(t, 204).header(t, "Range", "0-1")
		}
	}
}

func TestUploadChunkMinLength(t *testing.T) {
	_, c := start(t, &registrytest.Options{ChunkMinLength: 4})
	blob := []byte("abcdefghij")
	d := string(digestOf(blob))
	loc := c.do("POST", "/v2/a/blobs/uploads/", nil).want(t, 202).header(t, "OCI-Chunk-Min-Length", "4").Header.Get("Location")
	loc = c.patch(loc, "0-1", blob[:2]).want(t, 202).Header.Get("Location")
	loc = c.patch(loc, "2-9", blob[2:]).want(t, 202).Header.Get("Location")
	c.do("PUT", loc+"&digest="+d, nil).wantError(t, 400, "BLOB_UPLOAD_INVALID")

	loc = c.do("POST", "/v2/a/blobs/uploads/", nil).Header.Get("Location")
	loc = c.patch(loc, "0-7", blob[:8]).want(t, 202).Header.Get("Location")
	loc = c.patch(loc, "8-9", blob[8:]).want(t, 202).Header.Get("Location") // the last chunk may be short
	c.do("PUT", loc+"&digest="+d, nil).want(t, 201)
}

func TestUploadMaxChunkLength(t *testing.T) {
	_, c := start(t, &registrytest.Options{MaxChunkLength: 4})
	loc := c.do("POST", "/v2/a/blobs/uploads/", nil).Header.Get("Location")
	c.patch(loc, "0-4", []byte("abcde")).wantError(t, 413, "SIZE_INVALID")
	c.do("GET", loc, nil).want(t, 204).header(t, "Range", "0-0")
	c.patch(loc, "0-3", []byte("abcd")).want(t, 202).header(t, "Range", "0-3")
}

func TestMount(t *testing.T) {
	srv, c := start(t, nil)
	d := c.pushBlob("src", []byte("shared layer"))
	r := c.do("POST", "/v2/dst/blobs/uploads/?mount="+string(d)+"&from=src", nil).want(t, 201)
	r.header(t, "Location", srv.URL+"/v2/dst/blobs/"+string(d)).header(t, "Docker-Content-Digest", string(d))
	c.do("GET", "/v2/dst/blobs/"+string(d), nil).want(t, 200)
	if n := srv.Log.Count(func(r registrytest.Request) bool { return r.Method == "PATCH" || r.Method == "PUT" }); n != 1 {
		t.Fatalf("%d PATCH/PUT requests, want only the source's PUT", n)
	}
}

// A mount that cannot happen opens an upload session instead (202).
func TestMountFallback(t *testing.T) {
	_, c := start(t, nil)
	d := c.pushBlob("src", []byte("shared layer"))
	missing := digestOf([]byte("missing"))
	for _, q := range []string{
		"mount=" + string(missing) + "&from=src",
		"mount=" + string(d) + "&from=elsewhere",
		"mount=" + string(d) + "&from=BAD",
		"mount=" + string(d),
		"mount=sha256:bad&from=src",
	} {
		r := c.do("POST", "/v2/dst/blobs/uploads/?"+q, nil).want(t, 202)
		if !strings.Contains(r.Header.Get("Location"), "/v2/dst/blobs/uploads/") {
			t.Fatalf("%s: Location %q", q, r.Header.Get("Location"))
		}
	}
	c.do("GET", "/v2/dst/blobs/"+string(d), nil).want(t, 404)
}

func TestRelativeLocations(t *testing.T) {
	_, c := start(t, &registrytest.Options{RelativeLocations: true})
	loc := c.do("POST", "/v2/a/blobs/uploads/", nil).Header.Get("Location")
	if !strings.HasPrefix(loc, "/v2/a/blobs/uploads/") {
		t.Fatalf("Location %q is not a path", loc)
	}
	d := digestOf([]byte("rel"))
	c.do("PUT", loc+"&digest="+string(d), []byte("rel")).want(t, 201).header(t, "Location", "/v2/a/blobs/"+string(d))
}

// A chunk sent without Content-Length (chunked transfer encoding) is
// checked against its Content-Range once read, and dropped if it differs.
func TestUploadChunkedTransfer(t *testing.T) {
	srv, c := start(t, nil)
	loc := c.do("POST", "/v2/a/blobs/uploads/", nil).Header.Get("Location")
	send := func(rng, body string) reply {
		req, _ := http.NewRequest("PATCH", loc, io.MultiReader(strings.NewReader(body)))
		req.Header.Set("Content-Range", rng)
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return reply{resp, b}
	}
	send("0-9", "short").wantError(t, 400, "SIZE_INVALID")
	c.do("GET", loc, nil).want(t, 204).header(t, "Range", "0-0")
	send("0-4", "exact").want(t, 202).header(t, "Range", "0-4")
	reqs := srv.Log.Requests()
	if last := reqs[len(reqs)-1]; last.Header.Get("Content-Length") != "" || last.BytesIn != 5 {
		t.Fatalf("the PATCH was not sent chunked: %+v", last)
	}
}

// Pushes to one registry from many goroutines do not interfere.
func TestConcurrentPushes(t *testing.T) {
	srv, c := start(t, nil)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.pushImage(sprintf("repo%d", i%3), sprintf("t%d", i), sprintf("%d", i))
			srv.Log.Count(nil)
		}()
	}
	wg.Wait()
	for i := range 8 {
		c.do("HEAD", sprintf("/v2/repo%d/manifests/t%d", i%3, i), nil, ociAccept()...).want(t, 200)
	}
	if n := srv.Log.Count(func(r registrytest.Request) bool { return r.Method == "PUT" }); n != 24 {
		t.Fatalf("%d PUTs logged, want 24", n)
	}
}

// TestUploadExpiryClockFromOutside: the test registry's clock (Options.Now)
// is the clock the production handler expires upload sessions by, and
// its limits pass through: a session idle past UploadIdleTimeout is gone,
// and its file with it, once the clock moves.
func TestUploadExpiryClockFromOutside(t *testing.T) {
	clock := testtool.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	_, c := start(t, &registrytest.Options{Dir: dir, Now: clock.Now, UploadIdleTimeout: time.Minute, MaxUploadSessions: 1})
	loc := c.do("POST", "/v2/a/blobs/uploads/", nil).want(t, 202).Header.Get("Location")
	c.do("POST", "/v2/a/blobs/uploads/", nil).wantError(t, 429, "TOOMANYREQUESTS")
	clock.Advance(59 * time.Second)
	loc = c.patch(loc, "0-1", []byte("ab")).want(t, 202).Header.Get("Location")
	clock.Advance(61 * time.Second)
	if entries, _ := os.ReadDir(filepath.Join(dir, "uploads")); len(entries) != 1 {
		t.Fatalf("%d upload files before expiry, want 1", len(entries))
	}
	c.do("GET", loc, nil).wantError(t, 404, "BLOB_UPLOAD_UNKNOWN")
	if entries, _ := os.ReadDir(filepath.Join(dir, "uploads")); len(entries) != 0 {
		t.Fatalf("%d upload files after expiry, want 0", len(entries))
	}
	c.do("POST", "/v2/a/blobs/uploads/", nil).want(t, 202)
}
