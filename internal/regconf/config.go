package regconf

import (
	"errors"
	"fmt"
	"strings"
)

// Config is what registries.conf says about registries. Keys that skiff
// does not use (short-name-mode, credential-helpers, …) are ignored.
type Config struct {
	// UnqualifiedSearchRegistries are the hosts to try for a short name.
	UnqualifiedSearchRegistries []string
	// Registries are the [[registry]] tables, in the order read.
	Registries []Registry
	// Aliases are the [aliases] table: short names to full names.
	Aliases map[string]string
}

// Registry is one [[registry]] table.
type Registry struct {
	// Prefix selects the images the table applies to: a host, a
	// repository namespace, or "*.example.com". It defaults to Location.
	Prefix string
	// Location is where Prefix is pulled from; empty means Prefix itself.
	Location string
	// Insecure allows plain HTTP and unverified TLS.
	Insecure bool
	// Blocked forbids pulling the images Prefix matches.
	Blocked bool
	// MirrorByDigestOnly uses the mirrors only for images named by digest.
	MirrorByDigestOnly bool
	// PullFromMirror is "all" (or ""), "digest-only" or "tag-only".
	PullFromMirror string
	// Mirrors are tried in order before Location.
	Mirrors []Mirror
}

// Mirror is one [[registry.mirror]] table.
type Mirror struct {
	// Location is the mirror's host and optional namespace.
	Location string
	// Insecure allows plain HTTP and unverified TLS for the mirror.
	Insecure bool
	// PullFromMirror is "all" (or ""), "digest-only" or "tag-only".
	PullFromMirror string
}

// Decode parses a registries.conf file (version 2, or the deprecated
// version 1 [registries.search] form) and checks it.
func Decode(data []byte) (*Config, error) {
	t, err := Parse(data)
	if err != nil {
		return nil, err
	}
	c := &Config{}
	if c.UnqualifiedSearchRegistries, err = stringsAt(t, "unqualified-search-registries"); err != nil {
		return nil, err
	}
	if err := c.decodeRegistries(t); err != nil {
		return nil, err
	}
	if err := c.decodeAliases(t); err != nil {
		return nil, err
	}
	if err := c.decodeV1(t); err != nil {
		return nil, err
	}
	return c, c.check()
}

func (c *Config) decodeRegistries(t map[string]any) error {
	v, ok := t["registry"]
	if !ok {
		return nil
	}
	tables, ok := v.([]map[string]any)
	if !ok {
		return errors.New("regconf: registry must be an array of tables ([[registry]])")
	}
	for i, rt := range tables {
		r, err := decodeRegistry(rt)
		if err != nil {
			return fmt.Errorf("regconf: [[registry]] %d: %w", i+1, err)
		}
		c.Registries = append(c.Registries, r)
	}
	return nil
}

func decodeRegistry(t map[string]any) (Registry, error) {
	var r Registry
	var err error
	for _, f := range []struct {
		key string
		dst *string
	}{{"prefix", &r.Prefix}, {"location", &r.Location}, {"pull-from-mirror", &r.PullFromMirror}} {
		if *f.dst, err = stringAt(t, f.key); err != nil {
			return r, err
		}
	}
	for _, f := range []struct {
		key string
		dst *bool
	}{{"insecure", &r.Insecure}, {"blocked", &r.Blocked}, {"mirror-by-digest-only", &r.MirrorByDigestOnly}} {
		if *f.dst, err = boolAt(t, f.key); err != nil {
			return r, err
		}
	}
	r.Mirrors, err = decodeMirrors(t)
	return r, err
}

func decodeMirrors(t map[string]any) ([]Mirror, error) {
	v, ok := t["mirror"]
	if !ok {
		return nil, nil
	}
	tables, ok := v.([]map[string]any)
	if !ok {
		return nil, errors.New("mirror must be an array of tables ([[registry.mirror]])")
	}
	var out []Mirror
	for i, mt := range tables {
		var m Mirror
		var err error
		if m.Location, err = stringAt(mt, "location"); err == nil {
			if m.Insecure, err = boolAt(mt, "insecure"); err == nil {
				m.PullFromMirror, err = stringAt(mt, "pull-from-mirror")
			}
		}
		if err != nil {
			return nil, fmt.Errorf("mirror %d: %w", i+1, err)
		}
		out = append(out, m)
	}
	return out, nil
}

func (c *Config) decodeAliases(t map[string]any) error {
	v, ok := t["aliases"]
	if !ok {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return errors.New("regconf: aliases must be a table")
	}
	c.Aliases = map[string]string{}
	for k := range m {
		s, err := stringAt(m, k)
		if err != nil {
			return fmt.Errorf("regconf: aliases: %w", err)
		}
		c.Aliases[k] = s
	}
	return nil
}

// decodeV1 reads the deprecated [registries.search], .insecure and
// .block tables as the version 2 settings they stand for.
func (c *Config) decodeV1(t map[string]any) error {
	v, ok := t["registries"]
	if !ok {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return errors.New("regconf: registries must be a table")
	}
	if len(c.Registries) > 0 || c.UnqualifiedSearchRegistries != nil {
		return errors.New("regconf: version 1 [registries.*] tables mixed with version 2 settings")
	}
	lists := map[string][]string{}
	for _, name := range []string{"search", "insecure", "block"} {
		sub, ok := m[name].(map[string]any)
		if !ok {
			continue
		}
		hosts, err := stringsAt(sub, "registries")
		if err != nil {
			return fmt.Errorf("regconf: registries.%s: %w", name, err)
		}
		lists[name] = hosts
	}
	c.UnqualifiedSearchRegistries = lists["search"]
	for _, h := range lists["insecure"] {
		c.Registries = append(c.Registries, Registry{Prefix: h, Insecure: true})
	}
	for _, h := range lists["block"] {
		c.Registries = append(c.Registries, Registry{Prefix: h, Blocked: true})
	}
	return nil
}

func stringAt(t map[string]any, key string) (string, error) {
	v, ok := t[key]
	if !ok {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s must be a string", key)
	}
	return s, nil
}

func boolAt(t map[string]any, key string) (bool, error) {
	v, ok := t[key]
	if !ok {
		return false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%s must be true or false", key)
	}
	return b, nil
}

func stringsAt(t map[string]any, key string) ([]string, error) {
	v, ok := t[key]
	if !ok {
		return nil, nil
	}
	s, ok := v.([]string)
	if !ok {
		return nil, fmt.Errorf("regconf: %s must be an array of strings", key)
	}
	return s, nil
}

// check validates the tables and fills in defaults, as containers/image
// does: a missing prefix is the location, a wildcard prefix is a host
// only, and locations are host[:port][/namespace] without a scheme.
func (c *Config) check() error {
	seen := map[string]bool{}
	for i := range c.Registries {
		r := &c.Registries[i]
		if err := r.check(); err != nil {
			return fmt.Errorf("regconf: [[registry]] %d: %w", i+1, err)
		}
		if seen[r.Prefix] {
			return fmt.Errorf("regconf: prefix %q defined twice", r.Prefix)
		}
		seen[r.Prefix] = true
	}
	return nil
}

func (r *Registry) check() error {
	if r.Prefix == "" {
		r.Prefix = r.Location
	}
	if r.Prefix == "" {
		return errors.New("neither prefix nor location is set")
	}
	if strings.HasPrefix(r.Prefix, "*.") {
		if strings.ContainsAny(r.Prefix, "/:@") || strings.Contains(r.Prefix[2:], "*") {
			return fmt.Errorf("wildcard prefix %q must be of the form *.example.com", r.Prefix)
		}
		if r.Location != "" {
			return fmt.Errorf("wildcard prefix %q cannot have a location", r.Prefix)
		}
	}
	if err := checkLocation(r.Prefix, true); err != nil {
		return err
	}
	if err := checkLocation(r.Location, false); err != nil {
		return err
	}
	if err := checkPullFrom(r.PullFromMirror, r.MirrorByDigestOnly); err != nil {
		return err
	}
	for _, m := range r.Mirrors {
		if m.Location == "" {
			return errors.New("a mirror has no location")
		}
		if err := checkLocation(m.Location, false); err != nil {
			return err
		}
		if err := checkPullFrom(m.PullFromMirror, r.MirrorByDigestOnly); err != nil {
			return err
		}
	}
	return nil
}

func checkLocation(s string, prefix bool) error {
	switch {
	case strings.Contains(s, "://"):
		return fmt.Errorf("%q: locations are host[:port][/namespace], without a scheme", s)
	case strings.HasSuffix(s, "/") || strings.HasPrefix(s, "/"), strings.ContainsAny(s, " \t"):
		return fmt.Errorf("%q is not a valid location", s)
	case !prefix && strings.ContainsAny(s, "*@"):
		return fmt.Errorf("%q is not a valid location", s)
	}
	return nil
}

func checkPullFrom(mode string, digestOnly bool) error {
	switch mode {
	case "", "all":
	case "digest-only", "tag-only":
		if digestOnly {
			return errors.New("pull-from-mirror and mirror-by-digest-only cannot both be set")
		}
	default:
		return fmt.Errorf("pull-from-mirror %q must be all, digest-only or tag-only", mode)
	}
	return nil
}
