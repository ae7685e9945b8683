package registrytest

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/skiffoci/skiff/registry/server"
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

// scope is a resource scope of the token spec, "repository:a/b:pull,push".
type scope = server.Scope

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

// authorizer returns what decides who may do what in the Auth's mode.
func (g *Registry) authorizer() server.Authorizer {
	switch g.opts.Auth.Mode {
	case AuthBasic:
		return g.basic
	case AuthBearer:
		return bearerAuth{g}
	}
	return nil
}

// bearerAuth accepts tokens of the registry's own token endpoint.
type bearerAuth struct{ g *Registry }

func (b bearerAuth) Authorize(w http.ResponseWriter, r *http.Request, need, ask []scope) (server.Grant, bool) {
	return b.g.authorizeBearer(w, r, need, ask)
}

func (g *Registry) authorizeBearer(w http.ResponseWriter, r *http.Request, need, ask []scope) (server.Grant, bool) {
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
	writeError(w, http.StatusUnauthorized, CodeUnauthorized, server.AccessDetail(ask))
}

func (g *Registry) realmFor(r *http.Request) string {
	if g.opts.Auth.Realm != "" {
		return g.opts.Auth.Realm
	}
	return server.BaseURL(r) + g.opts.Auth.tokenPath()
}
