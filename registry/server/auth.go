package server

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/skiffoci/skiff/reference"
)

// Scope is a resource and actions on it, as in the token spec:
// "repository:a/b:pull,push" or "registry:catalog:*".
type Scope struct {
	Type, Name string
	Actions    []string
}

// RepositoryScope returns the scope of actions on repository name.
func RepositoryScope(name string, actions ...string) Scope {
	return Scope{Type: "repository", Name: name, Actions: actions}
}

func (s Scope) String() string {
	return s.Type + ":" + s.Name + ":" + strings.Join(s.Actions, ",")
}

// Has reports whether the scope lists action.
func (s Scope) Has(action string) bool { return slices.Contains(s.Actions, action) }

// Grant reports whether a request that was let in may also do action on
// repository repo: a mount asks it of its source.
type Grant func(repo, action string) bool

// Authorizer decides whether a request may do what it asks.
type Authorizer interface {
	// Authorize lets r in and returns what else it may do, or answers r
	// itself (401 with a challenge, 403) and returns false. need lists
	// the scopes r needs, empty for the ping endpoint /v2/; ask the
	// scopes a challenge should name: need and, for a mount, pull on its
	// source.
	Authorize(w http.ResponseWriter, r *http.Request, need, ask []Scope) (Grant, bool)
}

// required returns the scopes a request needs, and those its challenge
// asks for: a mount also asks for pull on the source repository, which
// decides whether the mount happens rather than whether the request is let in.
func required(rt Route, r *http.Request) (need, ask []Scope) {
	switch {
	case rt.Kind == RoutePing:
		return nil, nil
	case rt.Kind == RouteCatalog:
		need = []Scope{{Type: "registry", Name: "catalog", Actions: []string{"*"}}}
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		need = []Scope{RepositoryScope(rt.Name, "pull")}
	case r.Method == http.MethodDelete && rt.Kind != RouteUpload:
		need = []Scope{RepositoryScope(rt.Name, "delete")}
	default:
		need = []Scope{RepositoryScope(rt.Name, "pull", "push")}
	}
	ask = need
	if from := r.URL.Query().Get("from"); rt.Kind == RouteUploads && from != "" && reference.ValidRepository(from) {
		ask = append(slices.Clip(need), RepositoryScope(from, "pull"))
	}
	return need, ask
}

type grantKey struct{}

func grantFrom(ctx context.Context) Grant {
	if g, ok := ctx.Value(grantKey{}).(Grant); ok {
		return g
	}
	return func(string, string) bool { return true }
}

// authorize lets the request in, or answers 401 or 403 and returns false.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, rt Route) (*http.Request, bool) {
	if s.opts.Auth == nil {
		return r, true
	}
	need, ask := required(rt, r)
	g, ok := s.opts.Auth.Authorize(w, r, need, ask)
	if !ok {
		return r, false
	}
	return r.WithContext(context.WithValue(r.Context(), grantKey{}, g)), true
}

// BasicAuth is an Authorizer checking HTTP basic credentials on every
// request, as distribution's htpasswd mode does.
type BasicAuth struct {
	// Realm is the challenge's realm; "skiff" when empty.
	Realm string
	// Users maps user names to passwords.
	Users map[string]string
	// CheckPassword, if set, decides whether a password is right instead
	// of Users, for password files that store hashes.
	CheckPassword func(user, password string) bool
	// Access says what a user may do with a repository. When nil, every
	// known user may pull and push everything. Anonymous requests pass
	// user "" and are granted pull only, and only with AnonymousPull.
	// Delete needs push.
	Access func(user, repo string) (pull, push bool)
	// AnonymousPull lets requests without credentials pull.
	AnonymousPull bool
}

// PasswordOK reports whether pass is user's password.
func (a *BasicAuth) PasswordOK(user, pass string) bool {
	if pass == "" {
		return false
	}
	if a.CheckPassword != nil {
		return a.CheckPassword(user, pass)
	}
	return a.Users != nil && a.Users[user] == pass
}

// permissions says what user (known: authenticated) may do with repo.
func (a *BasicAuth) permissions(user string, known bool, repo string) (pull, push bool) {
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

// Permits reports whether user (known: authenticated) may do action on
// the scope's resource.
func (a *BasicAuth) Permits(user string, known bool, s Scope, action string) bool {
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

// Authorize implements Authorizer.
func (a *BasicAuth) Authorize(w http.ResponseWriter, r *http.Request, need, _ []Scope) (Grant, bool) {
	user, pass, known := r.BasicAuth()
	if known && !a.PasswordOK(user, pass) || len(need) == 0 && !known && !a.AnonymousPull {
		a.challenge(w, need)
		return nil, false
	}
	for _, s := range need {
		for _, action := range s.Actions {
			if a.Permits(user, known, s, action) {
				continue
			}
			if !known {
				a.challenge(w, need)
			} else {
				writeError(w, http.StatusForbidden, CodeDenied, nil)
			}
			return nil, false
		}
	}
	return func(repo, action string) bool { return a.Permits(user, known, RepositoryScope(repo), action) }, true
}

func (a *BasicAuth) challenge(w http.ResponseWriter, need []Scope) {
	realm := a.Realm
	if realm == "" {
		realm = "skiff"
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`"`)
	writeError(w, http.StatusUnauthorized, CodeUnauthorized, AccessDetail(need))
}

// AccessDetail is distribution's detail for UNAUTHORIZED: one entry per
// action needed.
func AccessDetail(scopes []Scope) any {
	type access struct{ Type, Class, Name, Action string }
	var out []access
	for _, s := range scopes {
		for _, a := range s.Actions {
			out = append(out, access{Type: s.Type, Name: s.Name, Action: a})
		}
	}
	return out
}
