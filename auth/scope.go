package auth

import (
	"net/http"
	"slices"
	"strings"
)

// scopeSet maps a resource ("repository:library/alpine") to its actions.
type scopeSet map[string][]string

// add merges scope strings ("repository:a/b:pull,push"), as they appear in
// a challenge's space-separated scope parameter or in AddScope calls.
func (s scopeSet) add(scopes ...string) {
	for _, field := range scopes {
		for _, sc := range strings.Fields(field) {
			i := strings.LastIndexByte(sc, ':')
			if i <= 0 || !strings.Contains(sc[:i], ":") {
				continue // not type:name:actions
			}
			s.addActions(sc[:i], strings.Split(sc[i+1:], ",")...)
		}
	}
}

func (s scopeSet) addActions(resource string, actions ...string) {
	as := s[resource]
	for _, a := range actions {
		if a != "" && !slices.Contains(as, a) {
			as = append(as, a)
		}
	}
	slices.Sort(as)
	s[resource] = as
}

// merge adds the actions of other's resources that s already names.
func (s scopeSet) mergeKnown(other scopeSet) {
	for r := range s {
		if as, ok := other[r]; ok {
			s.addActions(r, as...)
		}
	}
}

func (s scopeSet) clone() scopeSet {
	c := make(scopeSet, len(s))
	for r, as := range s {
		c[r] = slices.Clone(as)
	}
	return c
}

// list returns the scopes in canonical form, sorted.
func (s scopeSet) list() []string {
	out := make([]string, 0, len(s))
	for r, as := range s {
		if len(as) > 0 {
			out = append(out, r+":"+strings.Join(as, ","))
		}
	}
	slices.Sort(out)
	return out
}

func (s scopeSet) key() string { return strings.Join(s.list(), " ") }

// requestScopes derives the scopes a Distribution API request needs from
// its method and path: pull for GET and HEAD, push and pull for writes and
// anything under blobs/uploads/,
// delete for DELETE, pull on the source repository of a cross-repository
// mount, and registry:catalog:* for the catalog. Paths it does not
// recognise need no scope as far as it can tell; the challenge says more.
func requestScopes(req *http.Request) scopeSet {
	s := scopeSet{}
	p := req.URL.Path
	i := strings.Index(p, "/v2/")
	if i < 0 {
		return s
	}
	rest := p[i+len("/v2/"):]
	if rest == "_catalog" {
		s.addActions("registry:catalog", "*")
		return s
	}
	name := repositoryName(rest)
	if name == "" {
		return s
	}
	actions := methodActions(req.Method)
	if strings.HasPrefix(rest[len(name):], "/blobs/uploads/") {
		actions = []string{"pull", "push"} // even the GET of an upload's status
	}
	s.addActions("repository:"+name, actions...)
	if from := req.URL.Query().Get("from"); from != "" && req.URL.Query().Has("mount") {
		s.addActions("repository:"+from, "pull")
	}
	return s
}

// repositoryName finds the repository in the part of an API path after
// "/v2/": the text before the last of /manifests/, /blobs/, /tags/ or
// /referrers/. Repository names may themselves contain those words.
func repositoryName(rest string) string {
	end := -1
	for _, m := range []string{"/manifests/", "/blobs/", "/tags/", "/referrers/"} {
		end = max(end, strings.LastIndex(rest, m))
	}
	if end <= 0 {
		return ""
	}
	return rest[:end]
}

func methodActions(method string) []string {
	switch method {
	case http.MethodGet, http.MethodHead, "":
		return []string{"pull"}
	case http.MethodDelete:
		return []string{"delete"}
	}
	return []string{"pull", "push"}
}
