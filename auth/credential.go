package auth

import (
	"cmp"
	"context"
	"slices"
	"strings"
)

// Credential is what a registry host may be authenticated with. The zero
// Credential means anonymous access.
type Credential struct {
	Username string
	Password string
	// IdentityToken is an OAuth2 refresh token. When set, bearer tokens
	// are obtained with grant_type=refresh_token instead of the password.
	IdentityToken string
	// RegistryToken is a bearer token sent to the registry as it is,
	// without asking a token server.
	RegistryToken string
}

// String describes c without its secrets, so that printing a Credential
// by mistake leaks nothing.
func (c Credential) String() string {
	var parts []string
	if c.Username != "" {
		parts = append(parts, "Username:"+c.Username)
	}
	for _, f := range []struct{ name, v string }{
		{"Password", c.Password},
		{"IdentityToken", c.IdentityToken},
		{"RegistryToken", c.RegistryToken},
	} {
		if f.v != "" {
			parts = append(parts, f.name+":"+redacted)
		}
	}
	return "auth.Credential{" + strings.Join(parts, " ") + "}"
}

// GoString is String, so that %#v hides secrets too.
func (c Credential) GoString() string { return c.String() }

// A Keychain finds the credential for a registry host. Get returns the
// zero Credential and a nil error when it knows nothing about the host.
// host is a host name with an optional port, as in a URL's Host.
type Keychain interface {
	Get(ctx context.Context, host string) (Credential, error)
}

// KeychainFunc adapts a function to a Keychain.
type KeychainFunc func(ctx context.Context, host string) (Credential, error)

// Get returns f(ctx, host).
func (f KeychainFunc) Get(ctx context.Context, host string) (Credential, error) {
	return f(ctx, host)
}

// Static is a Keychain of explicit credentials. Keys are hosts or server
// URLs as in docker's config.json ("ghcr.io", "https://index.docker.io/v1/");
// they match a host by [NormalizeHost] equality.
type Static map[string]Credential

// Get returns the credential whose key names host.
func (s Static) Get(_ context.Context, host string) (Credential, error) {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	for _, k := range matchingKeys(keys, host) {
		if c := s[k]; c != (Credential{}) {
			return c, nil
		}
	}
	return Credential{}, nil
}

// dockerHubKey is where docker stores Docker Hub credentials.
const dockerHubKey = "https://index.docker.io/v1/"

// dockerHub is the name NormalizeHost gives every Docker Hub alias.
const dockerHub = "docker.io"

// NormalizeHost reduces a host, or a server URL as found in config.json
// keys, to the form credentials are matched on: no scheme, no path, no
// user information, lower case, port kept. All Docker Hub aliases
// (docker.io, index.docker.io, registry-1.docker.io,
// https://index.docker.io/v1/) become "docker.io". Two keys name the same
// registry only if their normalized forms are equal.
func NormalizeHost(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	s = strings.ToLower(s)
	switch s {
	case "docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return dockerHub
	}
	return s
}

// serverKey is the key docker uses for host in config.json and the server
// URL it gives credential helpers.
func serverKey(host string) string {
	h := NormalizeHost(host)
	if h == dockerHub {
		return dockerHubKey
	}
	return h
}

// matchingKeys returns the keys that name host, best first: the key docker
// itself would write, then bare hosts, then keys with a scheme or path,
// each group in lexical order.
func matchingKeys(keys []string, host string) []string {
	want := NormalizeHost(host)
	var out []string
	for _, k := range keys {
		if NormalizeHost(k) == want {
			out = append(out, k)
		}
	}
	rank := func(k string) int {
		switch {
		case k == serverKey(host):
			return 0
		case !strings.Contains(k, "/"):
			return 1
		}
		return 2
	}
	slices.SortFunc(out, func(a, b string) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a, b))
	})
	return out
}
