package registrytest_test

import (
	"strconv"
	"testing"
)

func TestPing(t *testing.T) {
	_, c := start(t, nil)
	r := c.do("GET", "/v2/", nil).want(t, 200).header(t, "Docker-Distribution-API-Version", "registry/2.0")
	if string(r.body) != "{}" {
		t.Fatalf("ping body %q", r.body)
	}
}

func TestBlobGetAndHead(t *testing.T) {
	_, c := start(t, nil)
	content := []byte("hello, blob")
	d := c.pushBlob("a/b", content)
	for _, method := range []string{"GET", "HEAD"} {
		r := c.do(method, "/v2/a/b/blobs/"+string(d), nil).want(t, 200)
		r.header(t, "Content-Length", strconv.Itoa(len(content)))
		r.header(t, "Docker-Content-Digest", string(d))
		r.header(t, "Content-Type", "application/octet-stream")
		if method == "GET" && string(r.body) != string(content) {
			t.Fatalf("GET body %q", r.body)
		}
		if method == "HEAD" && len(r.body) != 0 {
			t.Fatalf("HEAD has a body")
		}
	}
}

func TestBlobRange(t *testing.T) {
	_, c := start(t, nil)
	d := c.pushBlob("r", []byte("0123456789"))
	tests := []struct {
		rng, body, contentRange string
	}{
		{"bytes=2-4", "234", "bytes 2-4/10"},
		{"bytes=7-", "789", "bytes 7-9/10"},
		{"bytes=8-20", "89", "bytes 8-9/10"},
	}
	for _, tt := range tests {
		r := c.do("GET", "/v2/r/blobs/"+string(d), nil, "Range", tt.rng).want(t, 206)
		r.header(t, "Content-Range", tt.contentRange)
		if string(r.body) != tt.body {
			t.Errorf("Range %s: body %q, want %q", tt.rng, r.body, tt.body)
		}
	}
	c.do("GET", "/v2/r/blobs/"+string(d), nil, "Range", "bytes=10-12").want(t, 416).header(t, "Content-Range", "bytes */10")
}

func TestBlobUnknown(t *testing.T) {
	_, c := start(t, nil)
	d := digestOf([]byte("never pushed"))
	c.do("GET", "/v2/a/blobs/"+string(d), nil).wantError(t, 404, "BLOB_UNKNOWN")
	c.do("HEAD", "/v2/a/blobs/"+string(d), nil).wantError(t, 404, "BLOB_UNKNOWN")
}

// A blob pushed to one repository is not visible in another until mounted
// or pushed there, as with distribution's per-repository links.
func TestBlobPerRepository(t *testing.T) {
	_, c := start(t, nil)
	d := c.pushBlob("team/one", []byte("private layer"))
	c.do("GET", "/v2/team/one/blobs/"+string(d), nil).want(t, 200)
	c.do("GET", "/v2/team/two/blobs/"+string(d), nil).wantError(t, 404, "BLOB_UNKNOWN")
	c.do("HEAD", "/v2/team/two/blobs/"+string(d), nil).want(t, 404)
}

func TestBlobDelete(t *testing.T) {
	_, c := start(t, nil)
	d := c.pushBlob("a", []byte("doomed"))
	c.pushBlob("b", []byte("doomed"))
	c.do("DELETE", "/v2/a/blobs/"+string(d), nil).want(t, 202)
	c.do("GET", "/v2/a/blobs/"+string(d), nil).wantError(t, 404, "BLOB_UNKNOWN")
	c.do("DELETE", "/v2/a/blobs/"+string(d), nil).wantError(t, 404, "BLOB_UNKNOWN")
	c.do("GET", "/v2/b/blobs/"+string(d), nil).want(t, 200) // other repositories keep it
}

func TestInvalidNamesAndDigests(t *testing.T) {
	_, c := start(t, nil)
	good := string(digestOf([]byte("x")))
	tests := []struct {
		method, path, code string
	}{
		{"GET", "/v2/UPPER/blobs/" + good, "NAME_INVALID"},
		{"GET", "/v2/a//b/blobs/" + good, "NAME_INVALID"},
		{"GET", "/v2/-a/manifests/latest", "NAME_INVALID"},
		{"GET", "/v2/a/blobs/sha256:abc", "DIGEST_INVALID"},
		{"GET", "/v2/a/blobs/sha256:" + "AB" + good[9:71], "DIGEST_INVALID"},
		{"GET", "/v2/a/blobs/md5:d41d8cd98f00b204e9800998ecf8427e", "DIGEST_INVALID"},
		{"GET", "/v2/a/blobs/notadigest", "DIGEST_INVALID"},
		{"HEAD", "/v2/a/manifests/sha256:..x", "DIGEST_INVALID"},
		{"GET", "/v2/a/manifests/-tag", "TAG_INVALID"},
		{"PUT", "/v2/a/manifests/.tag", "TAG_INVALID"},
		{"GET", "/v2/a/referrers/sha256:zz", "DIGEST_INVALID"},
		{"GET", "/v2/A/tags/list", "NAME_INVALID"},
	}
	for _, tt := range tests {
		c.do(tt.method, tt.path, nil).wantError(t, 400, tt.code)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	_, c := start(t, nil)
	d := string(digestOf([]byte("x")))
	r := c.do("PUT", "/v2/a/blobs/"+d, []byte("x"))
	r.wantError(t, 405, "UNSUPPORTED")
	r.header(t, "Allow", "GET, HEAD, DELETE")
	c.do("POST", "/v2/a/manifests/latest", nil).wantError(t, 405, "UNSUPPORTED")
	c.do("DELETE", "/v2/", nil).wantError(t, 405, "UNSUPPORTED")
	c.do("POST", "/v2/a/tags/list", nil).wantError(t, 405, "UNSUPPORTED")
	c.do("PUT", "/v2/a/blobs/uploads/", nil).wantError(t, 405, "UNSUPPORTED")
}

func TestUnknownEndpoint(t *testing.T) {
	_, c := start(t, nil)
	c.do("GET", "/v2/a/things/x", nil).want(t, 404)
	c.do("GET", "/v1/_ping", nil).want(t, 404)
	c.do("GET", "/token", nil).want(t, 404) // no token endpoint without bearer auth
	c.do("GET", "/v2/a/manifests/sha256:..%2fx", nil).want(t, 404)
}
