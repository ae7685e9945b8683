package registrytest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// token is an access token the token endpoint issued.
type token struct {
	user    string
	scopes  []scope
	expires time.Time
}

func (t *token) allows(typ, name, action string) bool {
	for _, s := range t.scopes {
		if s.Type == typ && s.Name == name && (s.Has(action) || s.Has("*")) {
			return true
		}
	}
	return false
}

// tokenTable holds issued access and refresh tokens.
type tokenTable struct {
	mu      sync.Mutex
	access  map[string]*token
	refresh map[string]string // refresh token → user
}

func newTokenTable(refresh map[string]string) *tokenTable {
	t := &tokenTable{access: map[string]*token{}, refresh: map[string]string{}}
	for k, v := range refresh {
		t.refresh[k] = v
	}
	return t
}

// lookup returns the unexpired access token raw, or nil.
func (t *tokenTable) lookup(raw string, now time.Time) *token {
	t.mu.Lock()
	defer t.mu.Unlock()
	tok := t.access[raw]
	if tok == nil || !now.Before(tok.expires) {
		return nil
	}
	return tok
}

func (t *tokenTable) add(tok *token) string {
	raw := "at-" + randomHex(16)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.access[raw] = tok
	return raw
}

func (t *tokenTable) addRefresh(user string) string {
	raw := "rt-" + randomHex(16)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refresh[raw] = user
	return raw
}

func (t *tokenTable) refreshUser(raw string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	user, ok := t.refresh[raw]
	return user, ok && raw != ""
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// TokenHandler returns the token endpoint alone, for serving on another
// host; NewServer does this when Auth.SeparateTokenServer is set.
func (g *Registry) TokenHandler() http.Handler {
	return g.Log.logged("token", g.serveToken)
}

func (g *Registry) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != g.opts.Auth.tokenPath() {
		http.NotFound(w, r)
		return
	}
	w, r, done := g.applyFault(w, r)
	if done {
		return
	}
	switch r.Method {
	case http.MethodGet:
		g.tokenGET(w, r)
	case http.MethodPost:
		g.tokenPOST(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "method not allowed")
	}
}

// tokenGET is the docker token spec's GET: basic credentials or none,
// service and scope parameters.
func (g *Registry) tokenGET(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("service") != g.opts.Auth.service() {
		oauthError(w, http.StatusBadRequest, "invalid_request", "unknown service")
		return
	}
	user, known, ok := g.tokenCredentials(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="registrytest token"`)
		writeError(w, http.StatusUnauthorized, CodeUnauthorized, "incorrect username or password")
		return
	}
	offline := q.Get("offline_token") == "true" && known
	resp := g.issue(user, known, parseScopes(q["scope"]), offline)
	resp.Token, resp.Scope = resp.AccessToken, ""
	writeJSON(w, resp)
}

// tokenCredentials checks the basic credentials of a token GET: user and
// password, or (FlavorACR) ACRUser and a refresh token. None is anonymous.
func (g *Registry) tokenCredentials(r *http.Request) (user string, known, ok bool) {
	a := &g.opts.Auth
	user, pass, has := r.BasicAuth()
	if !has {
		return "", false, true
	}
	if a.Flavor == FlavorACR {
		if user != ACRUser {
			return "", false, false
		}
		user, ok = g.tokens.refreshUser(pass)
		return user, ok, ok
	}
	if !g.basic.PasswordOK(user, pass) {
		return "", false, false
	}
	return user, true, true
}

// tokenPOST is the OAuth2 form exchange: grant_type=password or
// grant_type=refresh_token.
func (g *Registry) tokenPOST(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	f := r.PostForm
	if f.Get("service") != g.opts.Auth.service() || f.Get("client_id") == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "service and client_id are required")
		return
	}
	user, offline, ok := g.postGrant(w, f.Get)
	if !ok {
		return
	}
	resp := g.issue(user, true, parseScopes(f["scope"]), offline)
	if f.Get("grant_type") == "refresh_token" {
		resp.RefreshToken = ""
	}
	writeJSON(w, resp)
}

// postGrant checks the grant of a POST and returns its user.
func (g *Registry) postGrant(w http.ResponseWriter, get func(string) string) (user string, offline, ok bool) {
	a := &g.opts.Auth
	switch get("grant_type") {
	case "password":
		if a.Flavor == FlavorACR {
			break
		}
		user, pass := get("username"), get("password")
		if !g.basic.PasswordOK(user, pass) {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "incorrect username or password")
			return "", false, false
		}
		return user, get("access_type") == "offline", true
	case "refresh_token":
		user, ok := g.tokens.refreshUser(get("refresh_token"))
		if !ok {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown refresh token")
		}
		return user, false, ok
	}
	oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be password or refresh_token")
	return "", false, false
}

// tokenResponse is the token endpoint's answer; GET fills token and
// access_token, POST access_token only.
type tokenResponse struct {
	Token        string `json:"token,omitempty"`
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	IssuedAt     string `json:"issued_at"`
	Scope        string `json:"scope,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// issue grants user what it asked for and may have, and records the token.
func (g *Registry) issue(user string, known bool, asked []scope, offline bool) tokenResponse {
	a := &g.opts.Auth
	now := g.now()
	tok := &token{user: user, expires: now.Add(a.ttl())}
	var names []string
	for _, s := range asked {
		got := scope{Type: s.Type, Name: s.Name}
		for _, action := range s.Actions {
			if g.basic.Permits(user, known, s, action) {
				got.Actions = append(got.Actions, action)
			}
		}
		if len(got.Actions) > 0 {
			tok.scopes = append(tok.scopes, got)
			names = append(names, got.String())
		}
	}
	resp := tokenResponse{AccessToken: g.tokens.add(tok), ExpiresIn: int(a.ttl() / time.Second),
		IssuedAt: now.UTC().Format(time.RFC3339), Scope: strings.Join(names, " ")}
	if offline && a.IssueRefreshTokens {
		resp.RefreshToken = g.tokens.addRefresh(user)
	}
	return resp
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}

// writeJSON answers 200 with v, as application/json unless a
// Content-Type is set already.
func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}
