package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/skiffoci/skiff/auth"
)

// basicServer wants one exact Authorization header, else answers 401 with
// a Basic challenge.
type basicServer struct{ *httptest.Server }

func (s basicServer) Host() string { return strings.TrimPrefix(s.URL, "http://") }

func newBasicServer(t *testing.T, want string, n401 *atomic.Int32) basicServer {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != want {
			n401.Add(1)
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return basicServer{srv}
}

// recorder records the Authorization header of every request and answers
// each with a 401 carrying challenge.
type recorder struct {
	*httptest.Server
	mu     sync.Mutex
	authzs []string
}

func newRecorder(t *testing.T, challenge string) *recorder {
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.authzs = append(rec.authzs, r.Header.Get("Authorization"))
		rec.mu.Unlock()
		w.Header().Set("WWW-Authenticate", challenge)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) Authorizations() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.authzs...)
}

func redirectTo(target string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, http.StatusTemporaryRedirect)
	}
}

func TestRedirectToOtherHostGetsNoCredentials(t *testing.T) {
	for _, scheme := range []string{"Basic", "Bearer"} {
		t.Run(scheme, func(t *testing.T) {
			ts := newTokenServer(t, false)
			ts.User, ts.Pass = "alice", secret("pw-SECRET-redirect")
			reg := newRegistry(t, ts, false)
			storage := newRecorder(t, scheme+` realm="`+ts.Realm()+`",service="storage"`)
			reg.Handler = redirectTo(storage.URL + "/blob?X-Amz-Signature=abc")
			var hosts []string
			tr := &auth.Transport{Credentials: auth.KeychainFunc(func(_ context.Context, host string) (auth.Credential, error) {
				hosts = append(hosts, host)
				return auth.Credential{Username: "alice", Password: ts.Pass}, nil
			})}
			tr.AddHost(reg.Host())
			c := &http.Client{Transport: tr}

			code, _ := do(t, c, "GET", reg.URL+"/v2/a/blobs/sha256:1", nil)
			if code != http.StatusUnauthorized {
				t.Errorf("status %d, want the storage's 401 passed through", code)
			}
			authzs := storage.Authorizations()
			if len(authzs) != 1 || authzs[0] != "" {
				t.Errorf("storage saw Authorization headers %q, want one request without", authzs)
			}
			if ts.Hits() != 1 || len(hosts) != 1 || hosts[0] != reg.Host() {
				t.Errorf("token server hit %d times, keychain asked for %v; want 1 and only %s", ts.Hits(), hosts, reg.Host())
			}
		})
	}
}

func TestRedirectToAliasOfSameServerIsAnotherHost(t *testing.T) {
	ts := newTokenServer(t, false)
	reg := newRegistry(t, ts, false)
	port := reg.Host()[strings.LastIndexByte(reg.Host(), ':'):]
	reg.Handler = func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/a/blobs/sha256:1" {
			redirectTo("http://localhost"+port+"/v2/a/blobs/sha256:2")(w, r)
			return
		}
		w.Write([]byte("blob"))
	}
	tr, _ := newTransport(reg, auth.Credential{}, nil)
	c := &http.Client{Transport: tr}

	code, _ := do(t, c, "GET", reg.URL+"/v2/a/blobs/sha256:1", nil)
	if code != http.StatusUnauthorized {
		t.Errorf("status %d, want 401: localhost is not the registered 127.0.0.1", code)
	}
	for _, s := range reg.Seen() {
		if strings.HasPrefix(s.Host, "localhost") && s.Authorization != "" {
			t.Errorf("request to %s carried Authorization", s.Host)
		}
	}
}

func TestRedirectSameOriginKeepsToken(t *testing.T) {
	ts := newTokenServer(t, false)
	reg := newRegistry(t, ts, false)
	reg.Handler = func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/a/blobs/sha256:1" {
			redirectTo("/v2/a/blobs/sha256:2")(w, r)
			return
		}
		w.Write([]byte("blob"))
	}
	tr, _ := newTransport(reg, auth.Credential{}, nil)
	code, body := do(t, &http.Client{Transport: tr}, "GET", reg.URL+"/v2/a/blobs/sha256:1", nil)
	if code != 200 || body != "blob" || reg.Unauthorized() != 1 || ts.Hits() != 1 {
		t.Errorf("status %d %q, %d 401s, %d token requests; want 200, 1, 1", code, body, reg.Unauthorized(), ts.Hits())
	}
}

// net/http drops Authorization on a redirect to another host name, but
// keeps it on a redirect to another port of the same host. The Transport
// drops it in both cases (RELIABILITY.md #20).
func TestRedirectAuthorizationAcrossHostsAndPorts(t *testing.T) {
	other := newRecorder(t, `Basic realm="x"`)
	port := other.URL[strings.LastIndexByte(other.URL, ':'):]
	for _, tc := range []struct {
		name, target string
		rt           http.RoundTripper
	}{
		{"net/http, other host", "http://localhost" + port + "/elsewhere", http.DefaultTransport},
		{"Transport, other host", "http://localhost" + port + "/elsewhere", &auth.Transport{}},
		{"Transport, other port", other.URL + "/elsewhere", &auth.Transport{}},
	} {
		origin := httptest.NewServer(redirectTo(tc.target))
		req, _ := http.NewRequest("GET", origin.URL+"/v2/a/blobs/sha256:1", nil)
		req.Header.Set("Authorization", "Bearer "+secret("caller-SECRET-redirect"))
		before := len(other.Authorizations())
		resp, err := (&http.Client{Transport: tc.rt}).Do(req)
		noErr(t, err)
		resp.Body.Close()
		origin.Close()
		if a := other.Authorizations()[before:]; len(a) != 1 || a[0] != "" {
			t.Errorf("%s: the redirect target saw %q, want one request without Authorization", tc.name, a)
		}
	}
}

func TestTransportDropsAuthorizationOnRedirectHop(t *testing.T) {
	other := newRecorder(t, `Basic realm="x"`)
	tr := &auth.Transport{}
	tr.AddHost(strings.TrimPrefix(other.URL, "http://"))
	for _, prev := range []string{
		"http://registry.example.com/v2/a/blobs/sha256:1",              // another host
		"https://" + strings.TrimPrefix(other.URL, "http://") + "/v2/", // https to http
	} {
		prevReq, _ := http.NewRequest("GET", prev, nil)
		req, _ := http.NewRequest("GET", other.URL+"/blob", nil)
		req.Header.Set("Authorization", "Bearer "+secret("caller-SECRET-hop"))
		req.Response = &http.Response{Request: prevReq, StatusCode: http.StatusTemporaryRedirect}
		resp, err := tr.RoundTrip(req)
		noErr(t, err)
		resp.Body.Close()
		if req.Header.Get("Authorization") == "" {
			t.Fatal("RoundTrip changed the caller's request")
		}
	}
	for _, a := range other.Authorizations() {
		if a != "" {
			t.Errorf("redirect hop carried Authorization %q", a)
		}
	}
}

func TestRealmPlainHTTPRefusedForHTTPS(t *testing.T) {
	ts := newTokenServer(t, false)
	ts.User, ts.Pass = "alice", secret("pw-SECRET-insecure-realm")
	reg := newRegistry(t, ts, true)
	tr, _ := newTransport(reg, auth.Credential{Username: "alice", Password: ts.Pass}, reg.Client().Transport)

	req, _ := http.NewRequest("GET", reg.URL+"/v2/a/manifests/x", nil)
	_, err := tr.RoundTrip(req)
	if !errors.Is(wantErr(t, err), auth.ErrInsecureRealm) {
		t.Errorf("error %v, want ErrInsecureRealm", err)
	}
	if ts.Hits() != 0 {
		t.Errorf("token server hit %d times, want 0", ts.Hits())
	}
}

func TestRealmOnAnotherHTTPSHostAllowed(t *testing.T) {
	ts := newTokenServer(t, true)
	reg := newRegistry(t, ts, true)
	tr, _ := newTransport(reg, auth.Credential{}, reg.Client().Transport)
	code, _ := do(t, &http.Client{Transport: tr}, "GET", reg.URL+"/v2/a/manifests/x", nil)
	if code != 200 || ts.Hits() != 1 {
		t.Errorf("status %d, %d token requests; want 200 and 1", code, ts.Hits())
	}
}

func TestRealmInvalid(t *testing.T) {
	for _, realm := range []string{
		"ftp://tokens.example.com/token",
		"file:///etc/passwd",
		"/token",
		"https://alice:" + secret("pw-SECRET-in-realm") + "@tokens.example.com/token",
	} {
		ts := newTokenServer(t, false)
		reg := newRegistry(t, ts, false)
		reg.Challenge = func(*http.Request, string, bool) string { return `Bearer realm="` + realm + `"` }
		tr, _ := newTransport(reg, auth.Credential{Username: "u", Password: secret("pw-SECRET-realm")}, nil)
		req, _ := http.NewRequest("GET", reg.URL+"/v2/a/manifests/x", nil)
		_, err := tr.RoundTrip(req)
		if !errors.Is(wantErr(t, err), auth.ErrBadRealm) {
			t.Errorf("realm %q: error %v, want ErrBadRealm", realm, err)
		}
	}
}

func TestBearerWithoutRealmReturns401(t *testing.T) {
	ts := newTokenServer(t, false)
	reg := newRegistry(t, ts, false)
	reg.Challenge = func(*http.Request, string, bool) string { return `Bearer error="invalid_token"` }
	tr, _ := newTransport(reg, auth.Credential{}, nil)
	for range 2 {
		code, _ := do(t, &http.Client{Transport: tr}, "GET", reg.URL+"/v2/a/manifests/x", nil)
		if code != http.StatusUnauthorized {
			t.Errorf("status %d, want the 401", code)
		}
	}
	if n := len(reg.Seen()); n != 2 || ts.Hits() != 0 {
		t.Errorf("%d registry requests, %d token requests; want 2 and 0", n, ts.Hits())
	}
}

func TestOversizedChallengeIsAnError(t *testing.T) {
	ts := newTokenServer(t, false)
	reg := newRegistry(t, ts, false)
	reg.Challenge = func(*http.Request, string, bool) string {
		return `Bearer realm="` + ts.Realm() + `",service="` + strings.Repeat("s", auth.MaxHeaderBytes) + `"`
	}
	tr, _ := newTransport(reg, auth.Credential{}, nil)
	req, _ := http.NewRequest("GET", reg.URL+"/v2/a/manifests/x", nil)
	_, err := tr.RoundTrip(req)
	var le *auth.LimitError
	if !errors.As(wantErr(t, err), &le) || ts.Hits() != 0 {
		t.Errorf("error %v, %d token requests; want *LimitError and 0", err, ts.Hits())
	}
}
