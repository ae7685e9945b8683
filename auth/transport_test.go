package auth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffoci/skiff/auth"
)

func TestTransportAnonymousToken(t *testing.T) {
	ts := newTokenServer(t, false)
	reg := newRegistry(t, ts, false)
	tr, _ := newTransport(reg, auth.Credential{}, nil)
	c := &http.Client{Transport: tr}

	code, body := do(t, c, "GET", reg.URL+"/v2/library/alpine/manifests/latest", nil)
	if code != 200 || body != "ok GET /v2/library/alpine/manifests/latest" {
		t.Fatalf("got %d %q", code, body)
	}
	reqs := ts.Requests()
	if len(reqs) != 1 {
		t.Fatalf("token server hit %d times, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != "GET" || r.HasBasic || r.Values.Get("service") != "test-registry" ||
		!slices.Equal(r.Scopes, []string{"repository:library/alpine:pull"}) {
		t.Errorf("token request = %+v, want anonymous GET for service test-registry, scope pull", r)
	}
}

func TestTransportBasicCredentialsForToken(t *testing.T) {
	ts := newTokenServer(t, false)
	ts.User, ts.Pass = "alice", secret("pw-SECRET-basic")
	reg := newRegistry(t, ts, false)
	tr, _ := newTransport(reg, auth.Credential{Username: "alice", Password: ts.Pass}, nil)
	c := &http.Client{Transport: tr}

	if code, _ := do(t, c, "GET", reg.URL+"/v2/a/b/tags/list", nil); code != 200 {
		t.Fatalf("status %d, want 200", code)
	}
	r := ts.Requests()[0]
	if r.Method != "GET" || r.User != "alice" || r.Pass != ts.Pass || r.Values.Get("account") != "alice" {
		t.Errorf("token request = %+v, want GET with basic alice and account=alice", r)
	}
}

func TestTransportWrongPasswordError(t *testing.T) {
	ts := newTokenServer(t, false)
	ts.User, ts.Pass = "alice", secret("pw-SECRET-right")
	reg := newRegistry(t, ts, false)
	wrong := secret("pw-SECRET-wrong")
	basicSecret("alice", wrong)
	tr, _ := newTransport(reg, auth.Credential{Username: "alice", Password: wrong}, nil)
	c := &http.Client{Transport: tr}

	req, _ := http.NewRequest("GET", reg.URL+"/v2/a/manifests/x", nil)
	_, err := c.Do(req)
	var te *auth.TokenError
	if !errors.As(wantErr(t, err), &te) || te.StatusCode != http.StatusUnauthorized {
		t.Fatalf("error %v, want a *TokenError with status 401", err)
	}
	// The server echoed the password in its message; it must be gone.
	if !strings.Contains(te.Message, "incorrect username or password") || strings.Contains(err.Error(), wrong) {
		t.Errorf("message %q: want the server's words without the password", te.Message)
	}
}

func TestTransportRefreshToken(t *testing.T) {
	ts := newTokenServer(t, false)
	ts.Refresh = secret("refresh-SECRET-1")
	ts.NewRefresh = secret("refresh-SECRET-2")
	reg := newRegistry(t, ts, false)
	tr, clk := newTransport(reg, auth.Credential{IdentityToken: ts.Refresh}, nil)
	c := &http.Client{Transport: tr}

	if code, _ := do(t, c, "GET", reg.URL+"/v2/app/manifests/v1", nil); code != 200 {
		t.Fatalf("status %d, want 200", code)
	}
	r := ts.Requests()[0]
	want := map[string]string{
		"grant_type": "refresh_token", "refresh_token": ts.Refresh, "client_id": "skiff",
		"service": "test-registry", "scope": "repository:app:pull",
	}
	for k, v := range want {
		if got := r.Values.Get(k); r.Method != "POST" || got != v {
			t.Errorf("%s token request: %s = %q, want %q", r.Method, k, got, v)
		}
	}
	// The server rotated the refresh token: the next exchange uses the new one.
	ts.mu.Lock()
	ts.Refresh = ts.NewRefresh
	ts.mu.Unlock()
	clk.Advance(time.Hour)
	if code, _ := do(t, c, "GET", reg.URL+"/v2/app/manifests/v1", nil); code != 200 {
		t.Fatalf("after rotation: status %d, want 200", code)
	}
	if n := ts.Hits(); n != 2 {
		t.Errorf("token server hit %d times, want 2", n)
	}
}

func TestTransportRegistryTokenSentDirectly(t *testing.T) {
	ts := newTokenServer(t, false)
	reg := newRegistry(t, ts, false)
	reg.Accept = secret("access-SECRET-env")
	tr, _ := newTransport(reg, auth.Credential{RegistryToken: reg.Accept}, nil)
	c := &http.Client{Transport: tr}

	if code, _ := do(t, c, "GET", reg.URL+"/v2/a/blobs/sha256:1", nil); code != 200 {
		t.Fatalf("status %d, want 200", code)
	}
	if n := ts.Hits(); n != 0 {
		t.Errorf("token server hit %d times, want 0", n)
	}
	if s := reg.Seen(); len(s) != 1 || s[0].Authorization != "Bearer "+reg.Accept {
		t.Errorf("registry saw %d requests; want one carrying the registry token", len(s))
	}
}

func TestTransportBasicChallenge(t *testing.T) {
	pass := secret("pw-SECRET-basicchallenge")
	want := "Basic " + basicSecret("bob", pass)
	var n401 atomic.Int32
	srv := newBasicServer(t, want, &n401)
	tr := &auth.Transport{Credentials: auth.Static{srv.Host(): {Username: "bob", Password: pass}}}
	tr.AddHost(srv.Host())
	c := &http.Client{Transport: tr}
	for range 3 {
		if code, _ := do(t, c, "GET", srv.URL+"/v2/x/manifests/y", nil); code != 200 {
			t.Fatalf("status %d, want 200", code)
		}
	}
	if n := n401.Load(); n != 1 {
		t.Errorf("server answered 401 %d times, want 1 (later requests send basic at once)", n)
	}
}

func TestTransportTokenReuse(t *testing.T) {
	ts := newTokenServer(t, false)
	ts.ExpiresIn = 300
	reg := newRegistry(t, ts, false)
	tr, _ := newTransport(reg, auth.Credential{}, nil)
	c := &http.Client{Transport: tr}
	for i := range 5 {
		if code, _ := do(t, c, "GET", reg.URL+"/v2/lib/app/blobs/sha256:"+strings.Repeat("a", i+1), nil); code != 200 {
			t.Fatalf("request %d: status %d", i, code)
		}
	}
	if n := ts.Hits(); n != 1 {
		t.Errorf("token server hit %d times for 5 requests on one scope, want 1", n)
	}
	if n := reg.Unauthorized(); n != 1 {
		t.Errorf("registry answered 401 %d times, want 1", n)
	}
}

func TestTransportTokenReuseConcurrent(t *testing.T) {
	ts := newTokenServer(t, false)
	reg := newRegistry(t, ts, false)
	tr, _ := newTransport(reg, auth.Credential{}, nil)
	c := &http.Client{Transport: tr}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", reg.URL+"/v2/lib/app/manifests/latest", nil)
			resp, err := c.Do(req)
			noteErr(err)
			if err == nil {
				if resp.StatusCode != 200 {
					t.Errorf("status %d", resp.StatusCode)
				}
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if n := ts.Hits(); n != 1 {
		t.Errorf("token server hit %d times by 8 concurrent requests, want 1", n)
	}
}

func TestTransportScopesKeepTokensApart(t *testing.T) {
	ts := newTokenServer(t, false)
	reg := newRegistry(t, ts, false)
	tr, _ := newTransport(reg, auth.Credential{}, nil)
	c := &http.Client{Transport: tr}

	do(t, c, "GET", reg.URL+"/v2/repo-a/manifests/latest", nil)
	do(t, c, "PUT", reg.URL+"/v2/repo-b/manifests/latest", strings.NewReader("{}"))
	do(t, c, "GET", reg.URL+"/v2/repo-a/manifests/v2", nil)

	reqs := ts.Requests()
	if len(reqs) != 2 {
		t.Fatalf("token server hit %d times, want 2", len(reqs))
	}
	if !slices.Equal(reqs[0].Scopes, []string{"repository:repo-a:pull"}) ||
		!slices.Equal(reqs[1].Scopes, []string{"repository:repo-b:pull,push"}) {
		t.Errorf("scopes asked: %v and %v", reqs[0].Scopes, reqs[1].Scopes)
	}
	seen := reg.Seen()
	last := seen[len(seen)-1]
	if last.Path != "/v2/repo-a/manifests/v2" || !ts.covers(strings.TrimPrefix(last.Authorization, "Bearer "), "repository:repo-a:pull") ||
		ts.covers(strings.TrimPrefix(last.Authorization, "Bearer "), "repository:repo-b:push") {
		t.Errorf("the pull of repo-a after the push to repo-b did not use repo-a's token")
	}
}

func TestTransportMountAsksBothScopes(t *testing.T) {
	ts := newTokenServer(t, false)
	reg := newRegistry(t, ts, false)
	tr, _ := newTransport(reg, auth.Credential{}, nil)
	c := &http.Client{Transport: tr}

	code, _ := do(t, c, "POST", reg.URL+"/v2/dst/blobs/uploads/?mount=sha256:1&from=src/img", nil)
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	got := ts.Requests()[0].Scopes
	want := []string{"repository:dst:pull,push", "repository:src/img:pull"}
	if !slices.Equal(got, want) {
		t.Errorf("mount asked for %v, want %v", got, want)
	}
}

func TestTransportAddScopeOneTokenForPush(t *testing.T) {
	ts := newTokenServer(t, false)
	reg := newRegistry(t, ts, false)
	tr, _ := newTransport(reg, auth.Credential{}, nil)
	tr.AddScope(reg.Host(), "repository:app:push,pull")
	c := &http.Client{Transport: tr}

	do(t, c, "HEAD", reg.URL+"/v2/app/blobs/sha256:1", nil)
	do(t, c, "POST", reg.URL+"/v2/app/blobs/uploads/", nil)
	do(t, c, "PUT", reg.URL+"/v2/app/manifests/v1", strings.NewReader("{}"))
	if n := ts.Hits(); n != 1 {
		t.Errorf("token server hit %d times during a push, want 1", n)
	}
	if got := ts.Requests()[0].Scopes; !slices.Equal(got, []string{"repository:app:pull,push"}) {
		t.Errorf("scopes %v", got)
	}
}

func TestTransportExpiresInDefault(t *testing.T) {
	ts := newTokenServer(t, false) // no expires_in: 60 s
	reg := newRegistry(t, ts, false)
	tr, clk := newTransport(reg, auth.Credential{}, nil)
	c := &http.Client{Transport: tr}
	get := func() { do(t, c, "GET", reg.URL+"/v2/a/manifests/x", nil) }

	get()
	clk.Advance(30 * time.Second)
	get()
	if n := ts.Hits(); n != 1 {
		t.Fatalf("after 30 s: %d token requests, want 1", n)
	}
	clk.Advance(31 * time.Second)
	get()
	if n := ts.Hits(); n != 2 {
		t.Fatalf("after 61 s: %d token requests, want 2", n)
	}
	if n := reg.Unauthorized(); n != 1 {
		t.Errorf("registry answered 401 %d times, want 1: the expired token is replaced before sending", n)
	}
}

func TestTransportExpiresInHonoured(t *testing.T) {
	ts := newTokenServer(t, false)
	ts.ExpiresIn = 3600
	reg := newRegistry(t, ts, false)
	tr, clk := newTransport(reg, auth.Credential{}, nil)
	c := &http.Client{Transport: tr}
	get := func() { do(t, c, "GET", reg.URL+"/v2/a/manifests/x", nil) }

	get()
	clk.Advance(50 * time.Minute)
	get()
	if n := ts.Hits(); n != 1 {
		t.Fatalf("after 50 min: %d token requests, want 1", n)
	}
	clk.Advance(10 * time.Minute)
	get()
	if n := ts.Hits(); n != 2 {
		t.Fatalf("after 60 min: %d token requests, want 2", n)
	}
}

func TestTransportTokenRevokedMidTransfer(t *testing.T) {
	ts := newTokenServer(t, false)
	reg := newRegistry(t, ts, false)
	tr, _ := newTransport(reg, auth.Credential{}, nil)
	c := &http.Client{Transport: tr}
	tr.AddScope(reg.Host(), "repository:app:push,pull")

	do(t, c, "POST", reg.URL+"/v2/app/blobs/uploads/", nil)
	reg.RevokeAll()
	code, body := do(t, c, "PATCH", reg.URL+"/v2/app/blobs/uploads/u1", strings.NewReader("chunk-1"))
	if code != 200 {
		t.Fatalf("PATCH after revocation: status %d %s, want 200", code, body)
	}
	if n := ts.Hits(); n != 2 {
		t.Errorf("token server hit %d times, want 2", n)
	}
	seen := reg.Seen()
	if last := seen[len(seen)-1]; last.Method != "PATCH" || last.Body != "chunk-1" {
		t.Errorf("retried PATCH carried %q, want the whole body again", last.Body)
	}
}

func TestTransportSecond401Returned(t *testing.T) {
	ts := newTokenServer(t, false)
	reg := newRegistry(t, ts, false)
	tr, _ := newTransport(reg, auth.Credential{}, nil)
	c := &http.Client{Transport: tr}

	do(t, c, "GET", reg.URL+"/v2/a/manifests/x", nil)
	// From now on no token is good enough, and the challenge names no
	// scope that could help.
	reg.RevokeAll()
	reg.Need = func(*http.Request) string { return "repository:a:never" }
	reg.Challenge = func(*http.Request, string, bool) string {
		return `Bearer realm="` + ts.Realm() + `",service="test-registry"`
	}
	before, hits := len(reg.Seen()), ts.Hits()
	code, _ := do(t, c, "GET", reg.URL+"/v2/a/manifests/x", nil)
	if code != http.StatusUnauthorized {
		t.Fatalf("status %d, want the 401", code)
	}
	if n := len(reg.Seen()) - before; n != 2 {
		t.Errorf("one request became %d requests, want 2 (the cached token, then one new token)", n)
	}
	if n := ts.Hits() - hits; n != 1 {
		t.Errorf("%d new tokens, want 1", n)
	}
}

func TestTransportInsufficientScopeNoLoop(t *testing.T) {
	ts := newTokenServer(t, false)
	reg := newRegistry(t, ts, false)
	// Whatever token arrives, the registry wants more.
	reg.Need = func(*http.Request) string { return "repository:a:never" }
	reg.Challenge = func(*http.Request, string, bool) string {
		return `Bearer realm="` + ts.Realm() + `",service="s",scope="repository:a:push",error="insufficient_scope"`
	}
	tr, _ := newTransport(reg, auth.Credential{}, nil)
	c := &http.Client{Transport: tr}

	for i := range 2 {
		before, hits := len(reg.Seen()), ts.Hits()
		code, _ := do(t, c, "GET", reg.URL+"/v2/a/manifests/x", nil)
		if code != http.StatusUnauthorized {
			t.Fatalf("request %d: status %d, want 401", i, code)
		}
		if n := len(reg.Seen()) - before; n < 2 || n > 3 {
			t.Errorf("request %d: registry saw %d requests, want 2 or 3", i, n)
		}
		if n := ts.Hits() - hits; n < 1 || n > 2 {
			t.Errorf("request %d: token server hit %d times, want 1 or 2", i, n)
		}
	}
}

func TestTransportInsufficientScopeCombines(t *testing.T) {
	ts := newTokenServer(t, false)
	reg := newRegistry(t, ts, false)
	// Reading this manifest needs push too: the challenge after the first
	// token says so.
	reg.Need = func(*http.Request) string { return "repository:a:push" }
	tr, _ := newTransport(reg, auth.Credential{}, nil)
	c := &http.Client{Transport: tr}

	code, _ := do(t, c, "GET", reg.URL+"/v2/a/manifests/x", nil)
	if code != 200 {
		t.Fatalf("status %d, want 200", code)
	}
	reqs := ts.Requests()
	if len(reqs) != 1 || !slices.Equal(reqs[0].Scopes, []string{"repository:a:pull,push"}) {
		t.Fatalf("token requests %+v, want one for pull,push", reqs)
	}
	// The learned scope is kept: the next read needs no 401.
	n401 := reg.Unauthorized()
	do(t, c, "GET", reg.URL+"/v2/a/manifests/y", nil)
	if reg.Unauthorized() != n401 || ts.Hits() != 1 {
		t.Errorf("second read: %d more 401s, %d token requests", reg.Unauthorized()-n401, ts.Hits())
	}
}

func TestTransportUnreplayableBody(t *testing.T) {
	ts := newTokenServer(t, false)
	reg := newRegistry(t, ts, false)
	tr, _ := newTransport(reg, auth.Credential{}, nil)
	c := &http.Client{Transport: tr}

	req, _ := http.NewRequest("PUT", reg.URL+"/v2/a/manifests/x", io.NopCloser(strings.NewReader("{}")))
	resp, err := c.Do(req)
	noErr(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(reg.Seen()) != 1 {
		t.Fatalf("status %d after %d requests; want the 401 after 1", resp.StatusCode, len(reg.Seen()))
	}
	// The challenge was answered anyway: the same upload now goes through.
	req, _ = http.NewRequest("PUT", reg.URL+"/v2/a/manifests/x", io.NopCloser(strings.NewReader("{}")))
	resp, err = c.Do(req)
	noErr(t, err)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("second PUT: status %d, want 200", resp.StatusCode)
	}
}

func TestTransportReplaysBody(t *testing.T) {
	ts := newTokenServer(t, false)
	reg := newRegistry(t, ts, false)
	tr, _ := newTransport(reg, auth.Credential{}, nil)
	c := &http.Client{Transport: tr}

	code, _ := do(t, c, "PUT", reg.URL+"/v2/a/manifests/x", strings.NewReader(`{"m":1}`))
	seen := reg.Seen()
	if code != 200 || len(seen) != 2 || seen[0].Body != `{"m":1}` || seen[1].Body != `{"m":1}` {
		t.Errorf("status %d, requests %+v; want the body sent twice", code, seen)
	}
}

func TestTransportUnregisteredHost(t *testing.T) {
	ts := newTokenServer(t, false)
	reg := newRegistry(t, ts, false)
	var asked atomic.Int32
	tr := &auth.Transport{Credentials: auth.KeychainFunc(func(context.Context, string) (auth.Credential, error) {
		asked.Add(1)
		return auth.Credential{Username: "u", Password: secret("pw-SECRET-unregistered")}, nil
	})}
	c := &http.Client{Transport: tr}

	code, _ := do(t, c, "GET", reg.URL+"/v2/a/manifests/x", nil)
	if code != http.StatusUnauthorized || asked.Load() != 0 || ts.Hits() != 0 {
		t.Errorf("status %d, keychain asked %d times, token server hit %d times; want 401, 0, 0",
			code, asked.Load(), ts.Hits())
	}
}

func TestTransportKeepsCallerAuthorization(t *testing.T) {
	ts := newTokenServer(t, false)
	reg := newRegistry(t, ts, false)
	reg.Accept = secret("caller-SECRET-token")
	tr, _ := newTransport(reg, auth.Credential{}, nil)
	req, _ := http.NewRequest("GET", reg.URL+"/v2/a/manifests/x", nil)
	req.Header.Set("Authorization", "Bearer "+reg.Accept)
	resp, err := tr.RoundTrip(req)
	noErr(t, err)
	resp.Body.Close()
	if resp.StatusCode != 200 || ts.Hits() != 0 {
		t.Errorf("status %d, %d token requests; want 200 and 0", resp.StatusCode, ts.Hits())
	}
}

func TestTransportTokenResponseLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		body []byte
		want any
	}{
		{"too large", []byte(`{"token":"` + strings.Repeat("x", auth.MaxTokenBytes) + `"}`), new(*auth.LimitError)},
		{"no token", []byte(`{"expires_in":60}`), new(*auth.TokenError)},
		{"not json", []byte(`<html>`), new(*auth.TokenError)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTokenServer(t, false)
			ts.BodyOverride = tc.body
			reg := newRegistry(t, ts, false)
			tr, _ := newTransport(reg, auth.Credential{}, nil)
			req, _ := http.NewRequest("GET", reg.URL+"/v2/a/manifests/x", nil)
			_, err := tr.RoundTrip(req)
			if !errors.As(wantErr(t, err), tc.want) {
				t.Errorf("error %v is not a %T", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "auth: ") {
				t.Errorf("error %q lacks the auth: prefix", err)
			}
		})
	}
}

func TestTransportKeychainError(t *testing.T) {
	ts := newTokenServer(t, false)
	reg := newRegistry(t, ts, false)
	tr := &auth.Transport{Credentials: auth.KeychainFunc(func(context.Context, string) (auth.Credential, error) {
		return auth.Credential{}, errors.New("auth: keychain locked")
	})}
	tr.AddHost(reg.Host())
	req, _ := http.NewRequest("PUT", reg.URL+"/v2/a/manifests/x", strings.NewReader("{}"))
	resp, err := tr.RoundTrip(req)
	if wantErr(t, err); resp != nil || len(reg.Seen()) != 0 {
		t.Errorf("a keychain error still sent %d requests", len(reg.Seen()))
	}
}

func TestTransportDerivedScopes(t *testing.T) {
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/v2/library/alpine/manifests/3.20", "repository:library/alpine:pull"},
		{"HEAD", "/v2/a/blobs/sha256:1", "repository:a:pull"},
		{"PUT", "/v2/a/manifests/v1", "repository:a:pull,push"},
		{"DELETE", "/v2/a/manifests/sha256:1", "repository:a:delete"},
		{"GET", "/v2/a/blobs/uploads/u-1", "repository:a:pull,push"},
		{"GET", "/v2/a/tags/list", "repository:a:pull"},
		{"GET", "/v2/a/referrers/sha256:1", "repository:a:pull"},
		{"GET", "/v2/a/manifests/b/manifests/latest", "repository:a/manifests/b:pull"},
		{"GET", "/v2/_catalog", "registry:catalog:*"},
	} {
		ts := newTokenServer(t, false)
		reg := newRegistry(t, ts, false)
		reg.Need = func(*http.Request) string { return "" }
		tr, _ := newTransport(reg, auth.Credential{}, nil)
		tr.AddHost(reg.Host())
		// Teach the transport the challenge, then watch the scopes it asks.
		do(t, &http.Client{Transport: tr}, "GET", reg.URL+"/v2/", nil)
		hits := ts.Hits()
		do(t, &http.Client{Transport: tr}, tc.method, reg.URL+tc.path, nil)
		reqs := ts.Requests()
		if len(reqs) != hits+1 || !slices.Equal(reqs[hits].Scopes, []string{tc.want}) {
			t.Errorf("%s %s: token requests %+v, want one more for %s", tc.method, tc.path, reqs, tc.want)
		}
	}
}
