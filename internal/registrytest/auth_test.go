package registrytest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
)

func basicOptions() *registrytest.Options {
	return &registrytest.Options{Auth: registrytest.Auth{
		Mode:  registrytest.AuthBasic,
		Users: map[string]string{"alice": "secret", "bob": "hunter2"},
		Access: func(user, repo string) (bool, bool) {
			if user == "bob" {
				return repo == "shared", false
			}
			return true, true
		},
	}}
}

// basic returns the header pair for basic credentials.
func basic(user, pass string) []string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, pass)
	return []string{"Authorization", req.Header.Get("Authorization")}
}

func TestBasicAuth(t *testing.T) {
	_, c := start(t, basicOptions())
	r := c.do("GET", "/v2/", nil)
	r.wantError(t, 401, "UNAUTHORIZED")
	r.header(t, "WWW-Authenticate", `Basic realm="registrytest"`)
	c.do("GET", "/v2/", nil, basic("alice", "wrong")...).wantError(t, 401, "UNAUTHORIZED")
	c.do("GET", "/v2/", nil, basic("mallory", "secret")...).wantError(t, 401, "UNAUTHORIZED")
	c.do("GET", "/v2/", nil, basic("alice", "secret")...).want(t, 200)
	c.do("POST", "/v2/shared/blobs/uploads/", nil).wantError(t, 401, "UNAUTHORIZED")
	c.do("POST", "/v2/shared/blobs/uploads/", nil, basic("alice", "secret")...).want(t, 202)
}

// Access is enforced per user and repository: a known user without the
// right gets 403 DENIED.
func TestBasicAccess(t *testing.T) {
	_, c := start(t, basicOptions())
	d := string(digestOf([]byte("x")))
	c.do("HEAD", "/v2/shared/blobs/"+d, nil, basic("bob", "hunter2")...).want(t, 404)
	c.do("HEAD", "/v2/private/blobs/"+d, nil, basic("bob", "hunter2")...).want(t, 403)
	c.do("POST", "/v2/shared/blobs/uploads/", nil, basic("bob", "hunter2")...).wantError(t, 403, "DENIED")
	c.do("DELETE", "/v2/shared/blobs/"+d, nil, basic("bob", "hunter2")...).wantError(t, 403, "DENIED")
	c.do("GET", "/v2/_catalog", nil, basic("bob", "hunter2")...).want(t, 200)
}

func TestBasicAnonymousPull(t *testing.T) {
	opts := basicOptions()
	opts.Auth.AnonymousPull = true
	_, c := start(t, opts)
	c.do("GET", "/v2/", nil).want(t, 200)
	c.do("GET", "/v2/any/tags/list", nil).wantError(t, 404, "NAME_UNKNOWN")
	c.do("POST", "/v2/any/blobs/uploads/", nil).wantError(t, 401, "UNAUTHORIZED")
	c.do("GET", "/v2/_catalog", nil).wantError(t, 401, "UNAUTHORIZED")
}

// Mount with basic auth: the source must be pullable by the user, else
// the registry opens an upload session.
func TestBasicMountNeedsSourcePull(t *testing.T) {
	opts := basicOptions()
	opts.Auth.Access = func(user, repo string) (bool, bool) {
		return user == "alice" || repo != "secret", user == "alice" || repo == "mine"
	}
	_, c := start(t, opts)
	alice, bob := basic("alice", "secret"), basic("bob", "hunter2")
	c.pushBlobAs("secret", []byte("s"), alice)
	d := c.pushBlobAs("open", []byte("o"), alice)
	ds := string(digestOf([]byte("s")))
	c.do("POST", "/v2/mine/blobs/uploads/?mount="+ds+"&from=secret", nil, bob...).want(t, 202)
	c.do("POST", "/v2/mine/blobs/uploads/?mount="+string(d)+"&from=open", nil, bob...).want(t, 201)
}

// pushBlobAs is pushBlob with extra headers.
func (c *client) pushBlobAs(repo string, b []byte, h []string) string {
	c.t.Helper()
	d := string(digestOf(b))
	loc := c.do("POST", "/v2/"+repo+"/blobs/uploads/", nil, h...).want(c.t, 202).Header.Get("Location")
	c.do("PUT", loc+"&digest="+d, b, h...).want(c.t, 201)
	return d
}

// challenge returns the parameters of a Bearer challenge.
func challenge(t *testing.T, r reply) map[string]string {
	t.Helper()
	h, ok := strings.CutPrefix(r.Header.Get("WWW-Authenticate"), "Bearer ")
	if !ok {
		t.Fatalf("WWW-Authenticate %q is not a Bearer challenge", r.Header.Get("WWW-Authenticate"))
	}
	out := map[string]string{}
	for _, kv := range strings.Split(h, `",`) {
		k, v, _ := strings.Cut(kv, `="`)
		out[k] = strings.TrimSuffix(v, `"`)
	}
	return out
}

func TestBearerChallenges(t *testing.T) {
	srv, c := start(t, bearerOptions(nil))
	d := string(digestOf([]byte("x")))
	tests := []struct {
		method, path, scope string
	}{
		{"GET", "/v2/", ""},
		{"GET", "/v2/a/b/manifests/latest", "repository:a/b:pull"},
		{"HEAD", "/v2/a/blobs/" + d, "repository:a:pull"},
		{"POST", "/v2/a/blobs/uploads/", "repository:a:pull,push"},
		{"PUT", "/v2/a/manifests/latest", "repository:a:pull,push"},
		{"DELETE", "/v2/a/manifests/latest", "repository:a:delete"},
		{"POST", "/v2/a/blobs/uploads/?mount=" + d + "&from=b/c", "repository:a:pull,push repository:b/c:pull"},
		{"GET", "/v2/_catalog", "registry:catalog:*"},
		{"GET", "/v2/a/referrers/" + d, "repository:a:pull"},
	}
	for _, tt := range tests {
		r := c.do(tt.method, tt.path, nil)
		r.wantError(t, 401, "UNAUTHORIZED")
		ch := challenge(t, r)
		if ch["realm"] != srv.URL+"/token" || ch["service"] != "registrytest" || ch["scope"] != tt.scope || ch["error"] != "" {
			t.Errorf("%s %s: challenge %q", tt.method, tt.path, r.Header.Get("WWW-Authenticate"))
		}
	}
}
