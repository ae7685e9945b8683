package registrytest_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testtool"
)

func bearerOptions(clock *testtool.Clock) *registrytest.Options {
	opts := basicOptions()
	opts.Auth.Mode = registrytest.AuthBearer
	opts.Auth.RefreshTokens = map[string]string{"rt-alice": "alice"}
	if clock != nil {
		opts.Now = clock.Now
	}
	return opts
}

type tokenReply struct {
	Token        string `json:"token"`
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	IssuedAt     string `json:"issued_at"`
	RefreshToken string `json:"refresh_token"`
}

func decodeToken(t testing.TB, r reply) tokenReply {
	t.Helper()
	var tr tokenReply
	if err := json.Unmarshal(r.body, &tr); err != nil || tr.AccessToken == "" {
		t.Fatalf("token body %s: %v", r.body, err)
	}
	return tr
}

// token GETs a token from the registry's endpoint, with credentials when
// auth is not nil.
func (c *client) token(base string, auth []string, query string) tokenReply {
	c.t.Helper()
	r := c.do("GET", base+"/token?service=registrytest&"+query, nil, auth...).want(c.t, 200)
	return decodeToken(c.t, r)
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

func TestBearerTokenGET(t *testing.T) {
	clock := testtool.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	srv, c := start(t, bearerOptions(clock))
	tr := c.token(srv.URL, basic("alice", "secret"), "scope=repository:a:pull,push")
	if tr.Token != tr.AccessToken || tr.ExpiresIn != 300 || tr.IssuedAt != "2026-01-02T03:04:05Z" || tr.RefreshToken != "" {
		t.Fatalf("token response %+v", tr)
	}
	c.do("GET", "/v2/", nil, bearer(tr.Token)...).want(t, 200)
	c.do("POST", "/v2/a/blobs/uploads/", nil, bearer(tr.Token)...).want(t, 202)
	r := c.do("GET", "/v2/b/tags/list", nil, bearer(tr.Token)...)
	r.wantError(t, 401, "UNAUTHORIZED")
	if ch := challenge(t, r); ch["error"] != "insufficient_scope" || ch["scope"] != "repository:b:pull" {
		t.Fatalf("challenge %+v", ch)
	}
	c.do("GET", "/token?service=registrytest&scope=repository:a:pull", nil, basic("alice", "bad")...).wantError(t, 401, "UNAUTHORIZED")
	c.do("GET", "/token?service=other&scope=repository:a:pull", nil, basic("alice", "secret")...).want(t, 400)
}

// Tokens expire by the injected clock; an expired or unknown token gets a
// challenge with error="invalid_token".
func TestBearerExpiry(t *testing.T) {
	clock := testtool.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	opts := bearerOptions(clock)
	opts.Auth.TokenTTL = time.Minute
	srv, c := start(t, opts)
	tr := c.token(srv.URL, basic("alice", "secret"), "scope=repository:a:pull")
	if tr.ExpiresIn != 60 {
		t.Fatalf("expires_in %d", tr.ExpiresIn)
	}
	c.do("GET", "/v2/a/tags/list", nil, bearer(tr.Token)...).wantError(t, 404, "NAME_UNKNOWN")
	clock.Advance(59 * time.Second)
	c.do("GET", "/v2/a/tags/list", nil, bearer(tr.Token)...).want(t, 404)
	clock.Advance(time.Second)
	r := c.do("GET", "/v2/a/tags/list", nil, bearer(tr.Token)...)
	r.wantError(t, 401, "UNAUTHORIZED")
	if ch := challenge(t, r); ch["error"] != "invalid_token" {
		t.Fatalf("challenge %+v", ch)
	}
	r = c.do("GET", "/v2/a/tags/list", nil, bearer("forged")...)
	if ch := challenge(t, r); ch["error"] != "invalid_token" {
		t.Fatalf("challenge %+v", ch)
	}
}

// Without AnonymousPull an anonymous token grants nothing; with it, pull
// only. Users get what Access allows of what they ask.
func TestBearerScopes(t *testing.T) {
	for _, anon := range []bool{false, true} {
		opts := bearerOptions(nil)
		opts.Auth.AnonymousPull = anon
		srv, c := start(t, opts)
		tr := c.token(srv.URL, nil, "scope=repository:shared:pull,push")
		st := c.do("GET", "/v2/shared/tags/list", nil, bearer(tr.Token)...).StatusCode
		if (anon && st != 404) || (!anon && st != 401) {
			t.Fatalf("anonymous=%v: pull status %d", anon, st)
		}
		c.do("POST", "/v2/shared/blobs/uploads/", nil, bearer(tr.Token)...).want(t, 401)
	}
	srv, c := start(t, bearerOptions(nil))
	tr := c.token(srv.URL, basic("bob", "hunter2"), "scope=repository:shared:pull,push&scope=repository:private:pull")
	c.do("GET", "/v2/shared/tags/list", nil, bearer(tr.Token)...).want(t, 404)
	c.do("POST", "/v2/shared/blobs/uploads/", nil, bearer(tr.Token)...).want(t, 401)
	c.do("GET", "/v2/private/tags/list", nil, bearer(tr.Token)...).want(t, 401)
	tr = c.token(srv.URL, basic("alice", "secret"), "scope=registry:catalog:*")
	c.do("GET", "/v2/_catalog", nil, bearer(tr.Token)...).want(t, 200)
}

// A mount whose token lacks pull on the source falls back to an upload.
func TestBearerMount(t *testing.T) {
	srv, c := start(t, bearerOptions(nil))
	full := c.token(srv.URL, basic("alice", "secret"), "scope=repository:src:pull,push")
	d := c.pushBlobAs("src", []byte("layer"), bearer(full.Token))
	q := "/v2/dst/blobs/uploads/?mount=" + d + "&from=src"
	narrow := c.token(srv.URL, basic("alice", "secret"), "scope=repository:dst:pull,push")
	c.do("POST", q, nil, bearer(narrow.Token)...).want(t, 202)
	both := c.token(srv.URL, basic("alice", "secret"), "scope="+url.QueryEscape("repository:dst:pull,push repository:src:pull"))
	c.do("POST", q, nil, bearer(both.Token)...).want(t, 201)
}

func postToken(c *client, base string, form url.Values) reply {
	return c.do("POST", base, []byte(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
}

func TestTokenPOST(t *testing.T) {
	opts := bearerOptions(nil)
	opts.Auth.IssueRefreshTokens = true
	srv, c := start(t, opts)
	form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"secret"},
		"service": {"registrytest"}, "client_id": {"skiff"}, "scope": {"repository:a:pull"}, "access_type": {"offline"}}
	tr := decodeToken(t, postToken(c, srv.URL+"/token", form).want(t, 200))
	if tr.Token != "" || tr.RefreshToken == "" {
		t.Fatalf("password grant response %+v", tr)
	}
	c.do("GET", "/v2/a/tags/list", nil, bearer(tr.AccessToken)...).want(t, 404)
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken},
		"service": {"registrytest"}, "client_id": {"skiff"}, "scope": {"repository:b:push"}}
	tr2 := decodeToken(t, postToken(c, srv.URL+"/token", refresh).want(t, 200))
	c.do("POST", "/v2/b/blobs/uploads/", nil, bearer(tr2.AccessToken)...).want(t, 401) // push needs pull too
	// A configured refresh token, like an identity token from docker login.
	refresh.Set("refresh_token", "rt-alice")
	refresh.Set("scope", "repository:b:pull,push")
	tr3 := decodeToken(t, postToken(c, srv.URL+"/token", refresh).want(t, 200))
	c.do("POST", "/v2/b/blobs/uploads/", nil, bearer(tr3.AccessToken)...).want(t, 202)
}

func TestTokenPOSTErrors(t *testing.T) {
	srv, c := start(t, bearerOptions(nil))
	base := url.Values{"service": {"registrytest"}, "client_id": {"skiff"}}
	with := func(kv ...string) url.Values {
		v := url.Values{}
		for k, vs := range base {
			v[k] = vs
		}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		form url.Values
		code string
	}{
		{with("grant_type", "password", "username", "alice", "password", "nope"), "invalid_grant"},
		{with("grant_type", "refresh_token", "refresh_token", "unknown"), "invalid_grant"},
		{with("grant_type", "client_credentials"), "unsupported_grant_type"},
		{with("grant_type", "password", "username", "alice", "password", "secret", "client_id", ""), "invalid_request"},
	}
	for _, tt := range tests {
		r := postToken(c, srv.URL+"/token", tt.form).want(t, 400)
		if !strings.Contains(string(r.body), `"error":"`+tt.code+`"`) {
			t.Errorf("%v: body %s, want error %s", tt.form, r.body, tt.code)
		}
	}
}

// GET with offline_token=true hands out a refresh token when enabled.
func TestTokenOffline(t *testing.T) {
	opts := bearerOptions(nil)
	opts.Auth.IssueRefreshTokens = true
	srv, c := start(t, opts)
	if tr := c.token(srv.URL, basic("alice", "secret"), "offline_token=true&scope=repository:a:pull"); tr.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	if tr := c.token(srv.URL, nil, "offline_token=true&scope=repository:a:pull"); tr.RefreshToken != "" {
		t.Fatal("anonymous got a refresh token")
	}
}

// Docker Hub: the realm is on a second server.
func TestDockerHubFlavor(t *testing.T) {
	opts := bearerOptions(nil)
	opts.Auth.Flavor = registrytest.FlavorDockerHub
	opts.Auth.AnonymousPull = true
	srv, c := start(t, opts)
	if srv.TokenURL == srv.URL {
		t.Fatal("the token server is the registry")
	}
	ch := challenge(t, c.do("GET", "/v2/library/alpine/manifests/latest", nil).want(t, 401))
	if ch["realm"] != srv.TokenURL+"/token" || ch["service"] != "registry.docker.io" {
		t.Fatalf("challenge %+v", ch)
	}
	c.do("GET", "/token?service=registry.docker.io", nil).want(t, 404) // not on the registry host
	r := c.do("GET", srv.TokenURL+"/token?service=registry.docker.io&scope=repository:library/alpine:pull", nil).want(t, 200)
	tr := decodeToken(t, r)
	c.do("GET", "/v2/library/alpine/tags/list", nil, bearer(tr.Token)...).wantError(t, 404, "NAME_UNKNOWN")
	if n := srv.Log.Count(func(r registrytest.Request) bool { return r.Server == "token" }); n != 1 {
		t.Fatalf("%d requests logged by the token server, want 1", n)
	}
}

// ACR: /oauth2/token; GET takes the null user with a refresh token only;
// POST takes refresh tokens, not passwords.
func TestACRFlavor(t *testing.T) {
	opts := bearerOptions(nil)
	opts.Auth.Flavor = registrytest.FlavorACR
	srv, c := start(t, opts)
	ch := challenge(t, c.do("GET", "/v2/a/tags/list", nil).want(t, 401))
	if ch["realm"] != srv.URL+"/oauth2/token" {
		t.Fatalf("challenge %+v", ch)
	}
	q := "/oauth2/token?service=registrytest&scope=repository:a:pull"
	c.do("GET", q, nil, basic("alice", "secret")...).want(t, 401)
	tr := decodeToken(t, c.do("GET", q, nil, basic(registrytest.ACRUser, "rt-alice")...).want(t, 200))
	c.do("GET", "/v2/a/tags/list", nil, bearer(tr.Token)...).want(t, 404)
	form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"secret"},
		"service": {"registrytest"}, "client_id": {"skiff"}}
	postToken(c, srv.URL+"/oauth2/token", form).want(t, 400)
	form = url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"rt-alice"},
		"service": {"registrytest"}, "client_id": {"skiff"}, "scope": {"repository:a:pull"}}
	postToken(c, srv.URL+"/oauth2/token", form).want(t, 200)
}

// The token endpoint logs as "token" and takes faults too.
func TestTokenFaultsAndLog(t *testing.T) {
	srv, c := start(t, bearerOptions(nil))
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "^/token$"), Times: 1, Status: 500})
	c.do("GET", "/token?service=registrytest", nil).want(t, 500)
	c.token(srv.URL, nil, "scope=repository:a:pull")
	if n := srv.Log.Count(func(r registrytest.Request) bool { return r.Server == "token" }); n != 2 {
		t.Fatalf("%d token requests logged, want 2", n)
	}
	c.do("DELETE", "/token", nil).want(t, 405)
}
