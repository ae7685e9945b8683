package images

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/skiffoci/skiff/internal/resume"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/reference"
)

// Kind is the kind of place a Location names, spelled as skopeo spells
// its transports.
type Kind string

// The kinds of Location.
const (
	// KindRegistry is a repository in a registry: "alpine",
	// "ghcr.io/o/app:1.0@sha256:…", or the same after "docker://".
	KindRegistry Kind = "docker"
	// KindOCI is an OCI image layout, a directory: "oci:DIR[:TAG]".
	KindOCI Kind = "oci"
	// KindDockerArchive is a tarball that docker load reads (and that is
	// also an OCI layout in a tar): "docker-archive:FILE[:REF]".
	KindDockerArchive Kind = "docker-archive"
	// KindOCIArchive is an OCI image layout in a tar:
	// "oci-archive:FILE[:TAG]".
	KindOCIArchive Kind = "oci-archive"
)

// Location is where an image is: a registry reference, or a layout
// directory or an archive file with, perhaps, the name of one of the
// images in it. ParseLocation reads one; see the package documentation
// for the grammar.
type Location struct {
	// Kind says what the location is.
	Kind Kind
	// Ref is the reference of a KindRegistry location.
	Ref reference.Reference
	// Path is the directory or file of the other kinds. An archive
	// written to "-" goes to Options.Stdout.
	Path string
	// Name picks an image inside Path: a tag (oci, oci-archive) or a
	// reference (docker-archive); "" for the only image there, or for an
	// image written without a name.
	Name string
}

// String spells l as ParseLocation reads it; a registry reference is
// spelled in full ("docker.io/library/alpine:latest").
func (l Location) String() string {
	if l.Kind == KindRegistry {
		return l.Ref.String()
	}
	if l.Name == "" {
		return string(l.Kind) + ":" + l.Path
	}
	return string(l.Kind) + ":" + l.Path + ":" + l.Name
}

// ParseLocation reads "oci:DIR[:TAG]", "docker-archive:FILE[:REF]",
// "oci-archive:FILE[:TAG]", "docker://REF" or a plain registry reference.
// A path that ends in ":WORD" where WORD is a valid tag is read as
// DIR:TAG; the REF of a docker-archive is everything after the file's
// first colon.
func ParseLocation(s string) (Location, error) {
	kind, rest, found := strings.Cut(s, ":")
	switch k := Kind(kind); {
	case found && (k == KindOCI || k == KindOCIArchive):
		path, tag := splitTag(rest)
		if path == "" {
			return Location{}, fmt.Errorf("images: %q: missing path", s)
		}
		return Location{Kind: k, Path: path, Name: tag}, nil
	case found && k == KindDockerArchive:
		path, name, _ := strings.Cut(rest, ":")
		if path == "" {
			return Location{}, fmt.Errorf("images: %q: missing path", s)
		}
		if name != "" {
			if _, err := reference.Parse(name); err != nil {
				return Location{}, err
			}
		}
		return Location{Kind: k, Path: path, Name: name}, nil
	case found && k == KindRegistry && strings.HasPrefix(rest, "//"):
		s = rest[2:]
	}
	ref, err := reference.Parse(s)
	if err != nil {
		return Location{}, err
	}
	return Location{Kind: KindRegistry, Ref: ref}, nil
}

// splitTag splits "dir:tag" at its last colon when what follows is a tag.
func splitTag(s string) (string, string) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 || !reference.ValidTag(s[i+1:]) {
		return s, ""
	}
	return s[:i], s[i+1:]
}

// isArchive reports whether l is a tar file: a docker-archive or an
// oci-archive.
func (l Location) isArchive() bool {
	return l.Kind == KindDockerArchive || l.Kind == KindOCIArchive
}

// Resumable reports whether a transfer into l that stopped short kept
// what arrived, for the same transfer to continue from: always in a
// registry (the blobs it stored) and a layout (its blobs, and partial
// blobs in its blobs directory), and for an archive when a partial file
// and its checkpoints wait beside it (".FILE.skiff-partial",
// ".FILE.skiff-state"; ".FILE.layout.skiff-partial" for an oci-archive
// assembled with referrers).
func (l Location) Resumable() bool {
	if l.Kind == KindRegistry || l.Kind == KindOCI {
		return true
	}
	if l.Path == "-" || l.Path == "" {
		return false
	}
	for _, name := range []string{l.Path, l.Path + layoutArchiveSuffix} {
		_, state := resume.Names(name)
		if _, err := os.Stat(state); err == nil {
			return true
		}
	}
	return false
}

// openLayoutForRead opens the layout in dir, saying plainly when dir holds
// none.
func openLayoutForRead(dir string) (*layout.Layout, error) {
	if _, err := os.Stat(filepath.Join(dir, layout.LayoutFile)); err != nil {
		return nil, fmt.Errorf("images: %s is not an OCI image layout: %w", dir, err)
	}
	return layout.Open(dir)
}
