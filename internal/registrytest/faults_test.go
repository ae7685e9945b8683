package registrytest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
)

// get sends a GET and returns the response with its body read as far as
// it goes, and the error that stopped the read.
func (c *client) get(path string, header ...string) (*http.Response, []byte, error) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestFaultStatus(t *testing.T) {
	srv, c := start(t, nil)
	d := string(c.pushBlob("a", []byte("content")))
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"), Times: 2, Status: 429, RetryAfter: "2"})
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"), Times: 1, Status: 503})
	r := c.do("GET", "/v2/a/blobs/"+d, nil)
	r.wantError(t, 429, "TOOMANYREQUESTS")
	r.header(t, "Retry-After", "2")
	c.do("GET", "/v2/a/blobs/"+d, nil).want(t, 429)
	c.do("GET", "/v2/a/blobs/"+d, nil).wantError(t, 503, "UNKNOWN")
	c.do("GET", "/v2/a/blobs/"+d, nil).want(t, 200)
	c.do("HEAD", "/v2/a/blobs/"+d, nil).want(t, 200) // the matcher's method
	if n := srv.Log.Count(func(r registrytest.Request) bool { return r.Fault }); n != 3 {
		t.Fatalf("%d requests marked as faulted, want 3", n)
	}
}

// Faults apply only to requests that passed authentication, so a 401
// round does not use one up.
func TestFaultAfterAuth(t *testing.T) {
	srv, c := start(t, basicOptions())
	srv.Faults.Add(registrytest.Fault{Times: 1, Status: 500})
	c.do("GET", "/v2/", nil).want(t, 401)
	c.do("GET", "/v2/", nil, basic("alice", "secret")...).want(t, 500)
	c.do("GET", "/v2/", nil, basic("alice", "secret")...).want(t, 200)
}

func TestFaultReset(t *testing.T) {
	srv, c := start(t, nil)
	srv.Faults.Add(registrytest.Fault{Status: 500})
	c.do("GET", "/v2/", nil).want(t, 500)
	srv.Faults.Reset()
	c.do("GET", "/v2/", nil).want(t, 200)
}

func TestFaultCutAfter(t *testing.T) {
	srv, c := start(t, nil)
	content := bytes.Repeat([]byte("0123456789"), 1000)
	d := string(c.pushBlob("a", content))
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"), Times: 1, CutAfter: 6000})
	resp, got, err := c.get("/v2/a/blobs/" + d)
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(got) != 6000 || resp.ContentLength != 10000 {
		t.Fatalf("cut read: %d bytes of %d, err %v", len(got), resp.ContentLength, err)
	}
	if !bytes.Equal(got, content[:6000]) {
		t.Fatal("the bytes before the cut differ")
	}
	// The resume the cut calls for: a Range from where it stopped.
	resp, got, err = c.get("/v2/a/blobs/"+d, "Range", "bytes=6000-")
	if err != nil || resp.StatusCode != 206 || !bytes.Equal(got, content[6000:]) {
		t.Fatalf("resume: status %d, %d bytes, %v", resp.StatusCode, len(got), err)
	}
	reqs := srv.Log.Requests()
	if last := reqs[len(reqs)-2]; last.BytesOut != 6000 || !last.Fault {
		t.Fatalf("log of the cut request: %+v", last)
	}
}

func TestFaultCutBeforeBody(t *testing.T) {
	srv, c := start(t, nil)
	d := string(c.pushBlob("a", []byte("content")))
	srv.Faults.Add(registrytest.Fault{Times: 1, CutAfter: -1})
	resp, got, err := c.get("/v2/a/blobs/" + d)
	if err == nil || len(got) != 0 || resp.StatusCode != 200 {
		t.Fatalf("status %d, %d bytes, err %v", resp.StatusCode, len(got), err)
	}
}

func TestFaultWrongBytes(t *testing.T) {
	srv, c := start(t, nil)
	content := []byte("the right bytes")
	d := c.pushBlob("a", content)
	srv.Faults.Add(registrytest.Fault{Times: 1, WrongBytes: true})
	r := c.do("GET", "/v2/a/blobs/"+string(d), nil).want(t, 200).header(t, "Docker-Content-Digest", string(d))
	if len(r.body) != len(content) || bytes.Equal(r.body, content) || !bytes.Equal(r.body[1:], content[1:]) {
		t.Fatalf("body %q", r.body)
	}
	if _, err := io.ReadAll(manifest.NewVerifyingReader(bytes.NewReader(r.body), manifest.DescriptorFor("x/y", content))); !errors.Is(err, manifest.ErrDigestMismatch) {
		t.Fatalf("verification: %v", err)
	}
}

// ReadRate reads an upload no faster than its rate, and stores it whole.
// Only the lower bound is checked: a busy machine may read it slower.
func TestFaultReadRate(t *testing.T) {
	srv, c := start(t, nil)
	content := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	srv.Faults.Add(registrytest.Fault{ReadRate: 4e6, Match: registrytest.Route("", "/blobs/uploads/")})
	start := time.Now()
	d := c.pushBlob("a", content)
	// The last 16 KiB read is due once the rest came at the rate.
	if least := time.Duration(float64(len(content)-16<<10) / 4e6 * float64(time.Second)); time.Since(start) < least {
		t.Fatalf("1 MiB uploaded in %v at 4 MB/s, want at least %v", time.Since(start), least)
	}
	if _, got, err := c.get("/v2/a/blobs/" + string(d)); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("the blob read back: %d bytes, %v", len(got), err)
	}
}

func TestFaultNoRange(t *testing.T) {
	srv, c := start(t, nil)
	d := string(c.pushBlob("a", []byte("0123456789")))
	srv.Faults.Add(registrytest.Fault{NoRange: true})
	r := c.do("GET", "/v2/a/blobs/"+d, nil, "Range", "bytes=5-").want(t, 200).header(t, "Content-Range", "")
	if string(r.body) != "0123456789" {
		t.Fatalf("body %q", r.body)
	}
}

// RedirectTo sends blob GETs to the blob host, which serves them without
// authentication and refuses requests that carry credentials.
func TestFaultRedirect(t *testing.T) {
	srv, c := start(t, basicOptions())
	alice := basic("alice", "secret")
	d := c.pushBlobAs("a", []byte("redirected"), alice)
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "^/v2/.*/blobs/"), RedirectTo: srv.BlobURL})
	r := c.do("GET", "/v2/a/blobs/"+d, nil, alice...).want(t, 302)
	loc := r.Header.Get("Location")
	if loc != srv.BlobURL+"/blobs/"+d {
		t.Fatalf("Location %q", loc)
	}
	c.do("GET", "/v2/b/blobs/"+d, nil, alice...).wantError(t, 404, "BLOB_UNKNOWN") // only blobs the repository has
	got := c.do("GET", loc, nil).want(t, 200).header(t, "Docker-Content-Digest", d)
	if string(got.body) != "redirected" {
		t.Fatalf("body %q", got.body)
	}
	c.do("GET", loc, nil, "Range", "bytes=1-2").want(t, 206)
	c.do("GET", loc, nil, alice...).want(t, 400)
	if n := srv.Log.Count(func(r registrytest.Request) bool { return r.Server == "blobs" }); n != 3 {
		t.Fatalf("%d requests logged by the blob host, want 3", n)
	}
}

// Endless streams a manifest with no Content-Length until the client hangs
// up.
func TestFaultEndless(t *testing.T) {
	srv, c := start(t, nil)
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/manifests/"), Endless: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v2/a/manifests/latest", nil)
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength != -1 || resp.StatusCode != 200 {
		t.Fatalf("status %d, Content-Length %d", resp.StatusCode, resp.ContentLength)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 8<<20))
	if n != 8<<20 || err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	cancel()
}

func TestLog(t *testing.T) {
	srv, c := start(t, nil)
	blob := []byte("logged bytes")
	c.pushBlob("a", blob)
	c.do("GET", "/v2/a/blobs/"+string(digestOf(blob)), nil, "X-Test", "yes").want(t, 200)
	reqs := srv.Log.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests logged, want 3", len(reqs))
	}
	put, get := reqs[1], reqs[2]
	if put.Method != "PUT" || put.Status != 201 || put.BytesIn != int64(len(blob)) || !strings.Contains(put.RawQuery, "digest=") {
		t.Errorf("PUT entry %+v", put)
	}
	if get.Path != "/v2/a/blobs/"+string(digestOf(blob)) || get.BytesOut != int64(len(blob)) || get.Header.Get("X-Test") != "yes" ||
		get.ResponseHeader.Get("Docker-Content-Digest") == "" || get.Server != "registry" {
		t.Errorf("GET entry %+v", get)
	}
	if got := srv.Log.BytesOut(nil); got != int64(len(blob)) {
		t.Errorf("BytesOut %d", got)
	}
	srv.Log.Reset()
	if srv.Log.Count(nil) != 0 {
		t.Error("Reset kept entries")
	}
}
