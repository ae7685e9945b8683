package server

import (
	"fmt"
	"io"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
)

// Kind says what a [Link] names within a repository.
type Kind string

// The kinds of link a repository holds, as distribution's link files do:
// content is stored once by digest, and each repository only sees what was
// pushed or mounted into it.
const (
	// KindBlob links a blob (a layer or a config): Name is its digest.
	KindBlob Kind = "blob"
	// KindManifest links a manifest or index: Name is its digest and
	// MediaType its type.
	KindManifest Kind = "manifest"
	// KindTag names a manifest: Name is the tag, Digest the manifest's.
	KindTag Kind = "tag"
)

// Link is a repository's name for content held in a [Storage].
type Link struct {
	Kind      Kind
	Name      string
	Digest    manifest.Digest
	MediaType string `json:",omitempty"`
}

// Storage is where a Server keeps content. Blobs, manifests included,
// are stored once by digest; repositories hold links to them. Methods
// report absent content and links with errors wrapping
// [manifest.ErrNotFound]. Implementations must be safe for concurrent use.
type Storage interface {
	// StatBlob returns the size of the blob d.
	StatBlob(d manifest.Digest) (int64, error)
	// OpenBlob opens the blob d for reading, seeking and ranged reads.
	OpenBlob(d manifest.Digest) (io.ReadSeekCloser, error)
	// PutBlob stores r's bytes under d and returns their count. Nothing is
	// stored unless they hash to d; a mismatch wraps
	// [manifest.ErrDigestMismatch].
	PutBlob(d manifest.Digest, r io.Reader) (int64, error)

	// Link adds or replaces l in repo, creating the repository.
	Link(repo string, l Link) error
	// Unlink removes repo's link of kind and name.
	Unlink(repo string, kind Kind, name string) error
	// Lookup returns repo's link of kind and name.
	Lookup(repo string, kind Kind, name string) (Link, error)
	// List returns repo's links of kind, sorted by name; an unknown
	// repository is an error wrapping manifest.ErrNotFound.
	List(repo string, kind Kind) ([]Link, error)
	// Repositories returns, sorted, every repository anything was ever
	// linked into.
	Repositories() ([]string, error)
}

// BlobAdopter is a Storage that can take a verified file as a blob without
// copying it: a rename or a hard link within one file system. The Server
// hands it finished uploads; other storages get them through PutBlob.
type BlobAdopter interface {
	// AdoptBlob makes the file at path, whose bytes proof proves, the
	// blob proof.Digest(), on stable storage when it returns (the Server
	// has flushed the file's bytes). The file is gone afterwards, moved
	// or removed, also on error.
	AdoptBlob(proof manifest.Verified, path string) error
}

// NameChecker is a Storage that cannot keep some repositories the spec
// allows, such as a layout storage, where a repository named into another
// repository's layout would mix with that layout's files. The Server asks
// it before a push, and answers 400 NAME_INVALID with the reason.
type NameChecker interface {
	// CheckName returns a *NameError when the storage refuses repo: with
	// create, also when a new repository of that name could not be made
	// as things are on disk. A repository that exists is never refused.
	// Methods reading a refused repository report it as not found.
	CheckName(repo string, create bool) error
}

// NameError is a repository name a Storage refuses, with the reason.
type NameError struct {
	Name   string
	Reason string
}

func (e *NameError) Error() string {
	return "server: repository name " + e.Name + ": " + e.Reason
}

// checkLink validates repo and the link's name for its kind, so that no
// implementation builds a path from unchecked input.
func checkLink(repo string, kind Kind, name string) error {
	if !reference.ValidRepository(repo) {
		return fmt.Errorf("server: invalid repository name %q", repo)
	}
	switch kind {
	case KindBlob, KindManifest:
		_, err := manifest.ParseDigest(name)
		return err
	case KindTag:
		if !reference.ValidTag(name) {
			return fmt.Errorf("server: invalid tag %q", name)
		}
		return nil
	}
	return fmt.Errorf("server: unknown link kind %q", kind)
}

// CheckLink validates repo and a link's name for its kind, for Storage
// implementations: it refuses names that are not a repository, a digest
// or a tag, before any path is built from them.
func CheckLink(repo string, kind Kind, name string) error { return checkLink(repo, kind, name) }

var _ BlobAdopter = (*layoutStorage)(nil)
