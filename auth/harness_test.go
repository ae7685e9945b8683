package auth_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/internal/testtool"
)

// tokenRequest is what a tokenServer saw.
type tokenRequest struct {
	Method     string
	User, Pass string
	HasBasic   bool
	Values     url.Values // query for GET, form for POST
	Scopes     []string
}

// tokenServer is a distribution-style token server. It issues tokens for
// every scope asked, and checks basic credentials or refresh tokens when
// told to.
type tokenServer struct {
	*httptest.Server
	ExpiresIn    int    // 0: expires_in is left out
	User, Pass   string // required basic credentials, if User != ""
	Refresh      string // accepted refresh token, if not ""
	NewRefresh   string // refresh_token to return, if not ""
	BodyOverride []byte // sent instead of a token, if not nil

	mu       sync.Mutex
	requests []tokenRequest
	granted  map[string][]string // token -> scopes
}

func newTokenServer(t *testing.T, tls bool) *tokenServer {
	ts := &tokenServer{granted: map[string][]string{}}
	if tls {
		ts.Server = httptest.NewTLSServer(http.HandlerFunc(ts.serve))
	} else {
		ts.Server = httptest.NewServer(http.HandlerFunc(ts.serve))
	}
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) Realm() string { return ts.URL + "/token" }

func (ts *tokenServer) Hits() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.requests)
}

func (ts *tokenServer) Requests() []tokenRequest {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return slices.Clone(ts.requests)
}

func (ts *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	tr := tokenRequest{Method: r.Method}
	tr.User, tr.Pass, tr.HasBasic = r.BasicAuth()
	if r.Method == http.MethodPost {
		r.ParseForm()
		tr.Values = r.PostForm
		tr.Scopes = strings.Fields(r.PostForm.Get("scope"))
	} else {
		tr.Values = r.URL.Query()
		tr.Scopes = r.URL.Query()["scope"]
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.requests = append(ts.requests, tr)
	if !ts.allowed(tr) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"details":"incorrect username or password %s"}`, tr.Pass)
		return
	}
	if ts.BodyOverride != nil {
		w.Write(ts.BodyOverride)
		return
	}
	tok := secret(fmt.Sprintf("tok-SECRET-%d", len(ts.requests)))
	ts.granted[tok] = tr.Scopes
	resp := map[string]any{"token": tok}
	if r.Method == http.MethodPost {
		resp = map[string]any{"access_token": tok}
	}
	if ts.ExpiresIn != 0 {
		resp["expires_in"] = ts.ExpiresIn
	}
	if ts.NewRefresh != "" {
		resp["refresh_token"] = ts.NewRefresh
	}
	json.NewEncoder(w).Encode(resp)
}

func (ts *tokenServer) allowed(tr tokenRequest) bool {
	if tr.Method == http.MethodPost {
		return ts.Refresh != "" && tr.Values.Get("grant_type") == "refresh_token" &&
			tr.Values.Get("refresh_token") == ts.Refresh
	}
	if ts.User == "" {
		return true
	}
	return tr.User == ts.User && tr.Pass == ts.Pass
}

func (ts *tokenServer) known(tok string) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	_, ok := ts.granted[tok]
	return ok
}

// covers reports whether the token grants the scope need.
func (ts *tokenServer) covers(tok, need string) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	granted, ok := ts.granted[tok]
	if !ok {
		return false
	}
	i := strings.LastIndexByte(need, ':')
	if i <= 0 {
		return false
	}
	for _, g := range granted {
		j := strings.LastIndexByte(g, ':')
		if j > 0 && g[:j] == need[:i] && containsAll(strings.Split(g[j+1:], ","), strings.Split(need[i+1:], ",")) {
			return true
		}
	}
	return false
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// seen is one request a registry received.
type seen struct {
	Method, Host, Path, Authorization string
	Body                              string
}

// registry is a registry that wants bearer tokens from a tokenServer for
// the scope its Need function names.
type registry struct {
	*httptest.Server
	TS *tokenServer
	// Need returns the scope a request needs; nil: pull for GET and HEAD,
	// push,pull otherwise, on the repository of /v2/<name>/<kind>/...
	Need func(r *http.Request) string
	// Challenge overrides the WWW-Authenticate header of 401s.
	Challenge func(r *http.Request, need string, hadToken bool) string
	// Handler, if set, serves authorized requests.
	Handler http.HandlerFunc
	// Accept is a registry token accepted for everything, if not "".
	Accept string

	mu      sync.Mutex
	seen    []seen
	revoked map[string]bool
	n401    int
}

func newRegistry(t *testing.T, ts *tokenServer, tls bool) *registry {
	reg := &registry{TS: ts, revoked: map[string]bool{}}
	if tls {
		reg.Server = httptest.NewTLSServer(http.HandlerFunc(reg.serve))
	} else {
		reg.Server = httptest.NewServer(http.HandlerFunc(reg.serve))
	}
	t.Cleanup(reg.Close)
	return reg
}

// Host is the registry's host:port.
func (reg *registry) Host() string {
	return strings.TrimPrefix(strings.TrimPrefix(reg.URL, "http://"), "https://")
}

func (reg *registry) Seen() []seen {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return slices.Clone(reg.seen)
}

func (reg *registry) Unauthorized() int {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return reg.n401
}

// RevokeAll makes every token issued so far invalid.
func (reg *registry) RevokeAll() {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	reg.TS.mu.Lock()
	defer reg.TS.mu.Unlock()
	for tok := range reg.TS.granted {
		reg.revoked[tok] = true
	}
}

func defaultNeed(r *http.Request) string {
	p := strings.TrimPrefix(r.URL.Path, "/v2/")
	for _, kind := range []string{"/manifests/", "/blobs/", "/tags/"} {
		if i := strings.LastIndex(p, kind); i > 0 {
			action := "pull"
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				action = "pull,push"
			}
			return "repository:" + p[:i] + ":" + action
		}
	}
	return ""
}

func (reg *registry) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	authz := r.Header.Get("Authorization")
	reg.mu.Lock()
	reg.seen = append(reg.seen, seen{r.Method, r.Host, r.URL.Path, authz, string(body)})
	need := defaultNeed(r)
	if reg.Need != nil {
		need = reg.Need(r)
	}
	tok, hasToken := strings.CutPrefix(authz, "Bearer ")
	ok := hasToken && !reg.revoked[tok] && (need == "" && reg.TS.known(tok) || reg.TS.covers(tok, need)) ||
		reg.Accept != "" && authz == "Bearer "+reg.Accept
	if !ok {
		reg.n401++
	}
	reg.mu.Unlock()
	if !ok {
		ch := fmt.Sprintf(`Bearer realm=%q,service="test-registry"`, reg.TS.Realm())
		if need != "" {
			ch += fmt.Sprintf(",scope=%q", need)
		}
		if hasToken {
			ch += `,error="insufficient_scope"`
		}
		if reg.Challenge != nil {
			ch = reg.Challenge(r, need, hasToken)
		}
		w.Header().Set("WWW-Authenticate", ch)
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
		return
	}
	if reg.Handler != nil {
		reg.Handler(w, r)
		return
	}
	fmt.Fprintf(w, "ok %s %s", r.Method, r.URL.Path)
}

// do sends method url with body through rt and returns the status and body.
func do(t *testing.T, c *http.Client, method, u string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	noErr(t, err)
	resp, err := c.Do(req)
	noErr(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	noErr(t, err)
	return resp.StatusCode, string(b)
}

// newTransport returns a Transport for reg's host with the credential c.
func newTransport(reg *registry, c auth.Credential, base http.RoundTripper) (*auth.Transport, *testtool.Clock) {
	clk := testtool.NewClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	var send auth.RoundTripFunc
	if base != nil {
		send = base.RoundTrip
	}
	tr := &auth.Transport{
		Base:        send,
		Credentials: auth.Static{reg.Host(): c},
		Now:         clk.Now,
	}
	tr.AddHost(reg.Host())
	return tr, clk
}
