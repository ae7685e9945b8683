package registrytest

import (
	"fmt"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/server"
)

// Storage is where a Registry keeps content: registry/server's interface.
type Storage = server.Storage

// Link is a repository's name for content held in a [Storage].
type Link = server.Link

// Kind says what a [Link] names within a repository.
type Kind = server.Kind

// The kinds of link a repository holds.
const (
	KindBlob     = server.KindBlob
	KindManifest = server.KindManifest
	KindTag      = server.KindTag
)

// NewLayoutStorage returns the Storage "skiff registry serve" uses: every
// repository an OCI image layout under root.
func NewLayoutStorage(root string) Storage { return server.NewLayoutStorage(root) }

// NewMemoryStorage returns an empty Storage held in memory, the one a
// Registry uses without Options.Storage and Options.Dir.
func NewMemoryStorage() Storage { return server.NewMemoryStorage() }

func checkLink(repo string, kind Kind, name string) error {
	return server.CheckLink(repo, kind, name)
}

func notFound(what string) error {
	return fmt.Errorf("registrytest: %s: %w", what, manifest.ErrNotFound)
}
