package regconf

import (
	"fmt"
	"slices"

	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

// Mirrors returns where to pull repo from, for registry.Client.Mirrors:
// nil when no [[registry]] table changes anything, an error wrapping
// ErrBlocked for a blocked repository.
func (c *Config) Mirrors(repo reference.Reference) ([]registry.Mirror, error) {
	name := repo.Registry + "/" + repo.Repository
	srcs, err := c.Sources(name)
	if err != nil {
		return nil, err
	}
	if len(srcs) == 1 && srcs[0].Name == name {
		return nil, nil
	}
	out := make([]registry.Mirror, 0, len(srcs))
	for _, s := range srcs {
		ref, err := reference.ParseName(s.Name)
		if err != nil {
			return nil, fmt.Errorf("regconf: %s is remapped to %q: %w", name, s.Name, err)
		}
		out = append(out, registry.Mirror{Ref: ref, DigestOnly: s.DigestOnly})
	}
	return out, nil
}

// Apply makes cl follow c: pulls go through c's mirrors and locations,
// blocked repositories cannot be pulled, and insecure hosts are added to
// cl.Insecure. Call it before cl's first use.
func (c *Config) Apply(cl *registry.Client) {
	for _, h := range c.InsecureHosts() {
		if !slices.Contains(cl.Insecure, h) {
			cl.Insecure = append(cl.Insecure, h)
		}
	}
	if len(c.Registries) > 0 {
		cl.Mirrors = c.Mirrors
	}
}
