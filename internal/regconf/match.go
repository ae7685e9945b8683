package regconf

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBlocked is wrapped by the error Sources returns for a blocked image.
var ErrBlocked = errors.New("blocked by registries.conf")

// Source is one place to pull an image from.
type Source struct {
	// Name is the image's name there: host[:port]/repository.
	Name string
	// Insecure allows plain HTTP and unverified TLS.
	Insecure bool
	// DigestOnly means the source is used only for content named by
	// digest, not to resolve tags.
	DigestOnly bool
	// Mirror is set for mirrors, unset for the primary location.
	Mirror bool
}

// Find returns the [[registry]] table whose prefix matches name
// (host[:port]/repository) longest, and how much of name it matched; nil
// when none does. Prefixes that name a tag or digest never match, since
// name has neither. A plain prefix wins a tie with a wildcard one.
func (c *Config) Find(name string) (*Registry, int) {
	var best *Registry
	bestLen := -1
	for i := range c.Registries {
		r := &c.Registries[i]
		n := matchPrefix(name, r.Prefix)
		if n > bestLen || n >= 0 && n == bestLen && isWildcard(best.Prefix) && !isWildcard(r.Prefix) {
			best, bestLen = r, n
		}
	}
	return best, bestLen
}

func isWildcard(prefix string) bool { return strings.HasPrefix(prefix, "*") }

// matchPrefix returns the length of name that prefix matches, or -1. A
// plain prefix must be followed in name by a separator or the end;
// "*.example.com" matches any subdomains of example.com in name's host.
func matchPrefix(name, prefix string) int {
	if suffix, ok := strings.CutPrefix(prefix, "*"); ok {
		host, _, _ := strings.Cut(name, "/")
		hostOnly, _, _ := strings.Cut(host, ":")
		if len(hostOnly) > len(suffix) && strings.HasSuffix(hostOnly, suffix) {
			return len(host)
		}
		return -1
	}
	if !strings.HasPrefix(name, prefix) {
		return -1
	}
	if len(name) > len(prefix) && !strings.ContainsRune("/:@", rune(name[len(prefix)])) {
		return -1
	}
	return len(prefix)
}

// Sources returns where to pull name (host[:port]/repository) from, in
// order: the mirrors, then the primary location. With no matching
// [[registry]] table, name itself is the only source. A blocked name is
// an error wrapping ErrBlocked.
func (c *Config) Sources(name string) ([]Source, error) {
	r, n := c.Find(name)
	if r == nil {
		return []Source{{Name: name}}, nil
	}
	if r.Blocked {
		return nil, fmt.Errorf("regconf: pulling %s is %w (prefix %q)", name, ErrBlocked, r.Prefix)
	}
	rest := name[n:]
	var out []Source
	for _, m := range r.Mirrors {
		mode := m.PullFromMirror
		if mode == "" {
			mode = r.PullFromMirror
		}
		digestOnly := r.MirrorByDigestOnly || mode == "digest-only"
		out = append(out, Source{Name: m.Location + rest, Insecure: m.Insecure, DigestOnly: digestOnly, Mirror: true})
	}
	primary := name
	if r.Location != "" {
		primary = r.Location + rest
	}
	return append(out, Source{Name: primary, Insecure: r.Insecure}), nil
}

// InsecureHosts lists the hosts (host or host:port) that tables and
// mirrors with insecure = true name. Wildcard prefixes are left out: a
// host list cannot hold them.
func (c *Config) InsecureHosts() []string {
	var hosts []string
	for _, r := range c.Registries {
		loc := r.Location
		if loc == "" {
			loc = r.Prefix
		}
		if r.Insecure && !strings.HasPrefix(loc, "*") {
			hosts = append(hosts, hostOf(loc))
		}
		for _, m := range r.Mirrors {
			if m.Insecure {
				hosts = append(hosts, hostOf(m.Location))
			}
		}
	}
	return hosts
}

func hostOf(loc string) string {
	host, _, _ := strings.Cut(loc, "/")
	return host
}
