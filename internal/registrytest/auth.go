package registrytest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/skiffoci/skiff/reference"
)

// AuthMode selects how a Registry authenticates requests.
type AuthMode int

// The authentication modes.
const (
	// AuthNone lets every request through.
	AuthNone AuthMode = iota
	// AuthBasic checks HTTP basic credentials against Auth.Users on every
	// request, as distribution's htpasswd mode does.
	AuthBasic
	// AuthBearer challenges with WWW-Authenticate: Bearer and accepts only
	// tokens from the registry's own token endpoint, as distribution's
	// token mode does.
	AuthBearer
)

// Flavor selects whose token endpoint a bearer Registry imitates.
type Flavor string

// The token endpoint flavors.
const (
	// FlavorDistribution serves GET and POST at /token on the registry's
	// own host.
	FlavorDistribution Flavor = ""
	// FlavorDockerHub serves the token endpoint on a second server (the
	// realm is on another host, as auth.docker.io is for
	// registry-1.docker.io) and calls the service "registry.docker.io".
	FlavorDockerHub Flavor = "dockerhub"
	// FlavorACR approximates Azure Container Registry: the endpoint is
	// /oauth2/token; GET accepts basic credentials only as ACR's null
	// user "00000000-0000-0000-0000-000000000000" with a refresh token as
	// password; POST accepts grant_type=refresh_token and refuses
	// grant_type=password with unsupported_grant_type.
	FlavorACR Flavor = "acr"
)

// ACRUser is the user name ACR expects with a refresh token as password.
const ACRUser = "00000000-0000-0000-0000-000000000000"

// Auth configures authentication. The zero value authenticates nothing.
type Auth struct {
	Mode AuthMode
	// Users maps user names to passwords.
	Users map[string]string
	// CheckPassword, if set, decides whether a password is right instead of
	// Users (which still lists the known users when set), for password
	// files that store hashes.
	CheckPassword func(user, password string) bool
	// Access says what a user may do with a repository. When nil, every
	// known user may pull and push everything. Anonymous requests pass
	// user "" and are granted pull only, and only with AnonymousPull.
	// Delete needs push.
	Access func(user, repo string) (pull, push bool)
	// AnonymousPull lets requests without credentials pull (basic mode)
	// and lets the token endpoint grant pull without credentials.
	AnonymousPull bool
	// Service is the bearer challenge's service; "registrytest" when
	// empty ("registry.docker.io" for FlavorDockerHub).
	Service string
	// Realm overrides the token endpoint URL put in challenges; by default
	// it is the token path on the host the request was sent to.
	Realm string
	// TokenTTL is how long issued tokens last: 5 minutes when zero.
	TokenTTL time.Duration
	// RefreshTokens maps refresh tokens the token endpoint accepts
	// (grant_type=refresh_token) to the users they stand for, like the
	// identity tokens docker login stores.
	RefreshTokens map[string]string
	// IssueRefreshTokens makes the token endpoint hand out refresh tokens
	// on GET with offline_token=true and on POST password grants with
	// access_type=offline.
	IssueRefreshTokens bool
	// SeparateTokenServer makes NewServer serve the token endpoint on a
	// second server, not on the registry's host. FlavorDockerHub implies it.
	SeparateTokenServer bool
	Flavor              Flavor
}

// passwordOK reports whether pass is user's password.
func (a *Auth) passwordOK(user, pass string) bool {
	if pass == "" {
		return false
	}
	if a.CheckPassword != nil {
		return a.CheckPassword(user, pass)
	}
	return a.Users != nil && a.Users[user] == pass
}

func (a *Auth) service() string {
	switch {
	case a.Service != "":
		return a.Service
	case a.Flavor == FlavorDockerHub:
		return "registry.docker.io"
	}
	return "registrytest"
}

func (a *Auth) tokenPath() string {
	if a.Flavor == FlavorACR {
		return "/oauth2/token"
	}
	return "/token"
}

func (a *Auth) separate() bool {
	return a.SeparateTokenServer || a.Flavor == FlavorDockerHub
}

func (a *Auth) ttl() time.Duration {
	if a.TokenTTL > 0 {
		return a.TokenTTL
	}
	return 5 * time.Minute
}

// permissions says what user (known: authenticated) may do with repo.
func (a *Auth) permissions(user string, known bool, repo string) (pull, push bool) {
	if !known {
		if !a.AnonymousPull {
			return false, false
		}
		if a.Access != nil {
			pull, _ = a.Access("", repo)
			return pull, false
		}
		return true, false
	}
	if a.Access == nil {
		return true, true
	}
	return a.Access(user, repo)
}

// permits reports whether user may perform action on the scope's resource.
func (a *Auth) permits(user string, known bool, s scope, action string) bool {
	switch s.Type {
	case "registry":
		return known && s.Name == "catalog"
	case "repository":
		if !reference.ValidRepository(s.Name) {
			return false
		}
		pull, push := a.permissions(user, known, s.Name)
		switch action {
		case "pull":
			return pull
		case "push", "delete":
			return push
		case "*":
			return pull && push
		}
	}
	return false
}

// scope is a resource scope of the token spec, "repository:a/b:pull,push".
type scope struct {
	Type, Name string
	Actions    []string
}

func (s scope) String() string {
	return s.Type + ":" + s.Name + ":" + strings.Join(s.Actions, ",")
}

func (s scope) has(action string) bool { return slices.Contains(s.Actions, action) }

// parseScopes reads scope parameters, each one or more space-separated
// scopes; malformed ones are skipped.
func parseScopes(params []string) []scope {
	var out []scope
	for _, p := range params {
		for _, f := range strings.Fields(p) {
			typ, rest, ok1 := strings.Cut(f, ":")
			i := strings.LastIndex(rest, ":")
			if !ok1 || i < 0 {
				continue
			}
			typ, _, _ = strings.Cut(typ, "(") // drop a resource class
			out = append(out, scope{Type: typ, Name: rest[:i], Actions: strings.Split(rest[i+1:], ",")})
		}
	}
	return out
}

func repoScope(name string, actions ...string) scope {
	return scope{Type: "repository", Name: name, Actions: actions}
}

// required returns the scopes a request needs, and those its challenge
// asks for: a mount also asks for pull on the source repository, which
// decides whether the mount happens rather than whether the request is let in.
func required(rt route, r *http.Request) (need, ask []scope) {
	switch {
	case rt.kind == routePing:
		return nil, nil
	case rt.kind == routeCatalog:
		need = []scope{{Type: "registry", Name: "catalog", Actions: []string{"*"}}}
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		need = []scope{repoScope(rt.name, "pull")}
	case r.Method == http.MethodDelete && rt.kind != routeUpload:
		need = []scope{repoScope(rt.name, "delete")}
	default:
		need = []scope{repoScope(rt.name, "pull", "push")}
	}
	ask = need
	if from := r.URL.Query().Get("from"); rt.kind == routeUploads && from != "" && reference.ValidRepository(from) {
		ask = append(slices.Clip(need), repoScope(from, "pull"))
	}
	return need, ask
}

// grant answers, for a request let in, whether it may also do action on a
// repository (a mount's source).
type grant func(repo, action string) bool

type grantKey struct{}

func grantFrom(ctx context.Context) grant {
	if g, ok := ctx.Value(grantKey{}).(grant); ok {
		return g
	}
	return func(string, string) bool { return true }
}

// authorize lets the request in, or answers 401 or 403 and returns false.
func (g *Registry) authorize(w http.ResponseWriter, r *http.Request, rt route) (*http.Request, bool) {
	need, ask := required(rt, r)
	var gr grant
	var ok bool
	switch g.opts.Auth.Mode {
	case AuthBasic:
		gr, ok = g.authorizeBasic(w, r, rt, need)
	case AuthBearer:
		gr, ok = g.authorizeBearer(w, r, need, ask)
	default:
		return r, true
	}
	if !ok {
		return r, false
	}
	return r.WithContext(context.WithValue(r.Context(), grantKey{}, gr)), true
}

func (g *Registry) authorizeBasic(w http.ResponseWriter, r *http.Request, rt route, need []scope) (grant, bool) {
	a := &g.opts.Auth
	user, pass, known := r.BasicAuth()
	if known && !a.passwordOK(user, pass) {
		g.challengeBasic(w, need)
		return nil, false
	}
	if rt.kind == routePing && !known && !a.AnonymousPull {
		g.challengeBasic(w, need)
		return nil, false
	}
	for _, s := range need {
		for _, action := range s.Actions {
			if a.permits(user, known, s, action) {
				continue
			}
			if !known {
				g.challengeBasic(w, need)
			} else {
				writeError(w, http.StatusForbidden, CodeDenied, nil)
			}
			return nil, false
		}
	}
	return func(repo, action string) bool { return a.permits(user, known, repoScope(repo), action) }, true
}

func (g *Registry) challengeBasic(w http.ResponseWriter, need []scope) {
	w.Header().Set("WWW-Authenticate", `Basic realm="registrytest"`)
	writeError(w, http.StatusUnauthorized, CodeUnauthorized, accessDetail(need))
}

func (g *Registry) authorizeBearer(w http.ResponseWriter, r *http.Request, need, ask []scope) (grant, bool) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		g.challengeBearer(w, r, ask, "")
		return nil, false
	}
	tok := g.tokens.lookup(raw, g.now())
	if tok == nil {
		g.challengeBearer(w, r, ask, "invalid_token")
		return nil, false
	}
	for _, s := range need {
		for _, action := range s.Actions {
			if !tok.allows(s.Type, s.Name, action) {
				g.challengeBearer(w, r, ask, "insufficient_scope")
				return nil, false
			}
		}
	}
	return func(repo, action string) bool { return tok.allows("repository", repo, action) }, true
}

// challengeBearer answers 401 with distribution's challenge: the realm,
// the service, the scopes the request needs (space-separated) and, for a
// token that was refused, the reason.
func (g *Registry) challengeBearer(w http.ResponseWriter, r *http.Request, ask []scope, reason string) {
	c := fmt.Sprintf("Bearer realm=%q,service=%q", g.realmFor(r), g.opts.Auth.service())
	if len(ask) > 0 {
		s := make([]string, len(ask))
		for i, sc := range ask {
			s[i] = sc.String()
		}
		c += fmt.Sprintf(",scope=%q", strings.Join(s, " "))
	}
	if reason != "" {
		c += fmt.Sprintf(",error=%q", reason)
	}
	w.Header().Set("WWW-Authenticate", c)
	writeError(w, http.StatusUnauthorized, CodeUnauthorized, accessDetail(ask))
}

// accessDetail is distribution's detail for UNAUTHORIZED: one entry per
// action needed.
func accessDetail(scopes []scope) any {
	type access struct{ Type, Class, Name, Action string }
	var out []access
	for _, s := range scopes {
		for _, a := range s.Actions {
			out = append(out, access{Type: s.Type, Name: s.Name, Action: a})
		}
	}
	return out
}

func (g *Registry) realmFor(r *http.Request) string {
	if g.opts.Auth.Realm != "" {
		return g.opts.Auth.Realm
	}
	return baseURL(r) + g.opts.Auth.tokenPath()
}

// baseURL is the scheme and host the request was sent to.
func baseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}
