package registrytest

import (
	"fmt"

	"github.com/skiffoci/skiff/internal/registryserver"
	"github.com/skiffoci/skiff/manifest"
)

// Storage is where a Registry keeps content: registryserver's interface.
type Storage = registryserver.Storage

// Link is a repository's name for content held in a [Storage].
type Link = registryserver.Link

// Kind says what a [Link] names within a repository.
type Kind = registryserver.Kind

// The kinds of link a repository holds.
const (
	KindBlob     = registryserver.KindBlob
	KindManifest = registryserver.KindManifest
	KindTag      = registryserver.KindTag
)

// NewLayoutStorage returns the Storage "skiff registry serve" uses: every
// repository an OCI image layout under root.
func NewLayoutStorage(root string) Storage { return registryserver.NewLayoutStorage(root) }

func checkLink(repo string, kind Kind, name string) error {
	return registryserver.CheckLink(repo, kind, name)
}

func notFound(what string) error {
	return fmt.Errorf("registrytest: %s: %w", what, manifest.ErrNotFound)
}
