package images

import (
	"fmt"

	"github.com/skiffoci/skiff/manifest"
)

// imagesOnly refuses to put an artifact (a manifest whose config or
// artifact type is not an image config's: an SBOM, a Helm chart, files
// pushed by oras) into a docker-archive, which docker load reads as an
// image and which would hold a config of "{}".
func imagesOnly(what string, doc *manifest.Document) error {
	m := doc.Manifest
	if m == nil {
		return nil
	}
	typ := m.ArtifactType
	if typ == "" || typ == manifest.MediaTypeOCIConfig || typ == manifest.MediaTypeDockerConfig {
		typ = m.Config.MediaType
	}
	if typ == manifest.MediaTypeOCIConfig || typ == manifest.MediaTypeDockerConfig {
		return nil
	}
	return fmt.Errorf("images: %s (%s) is an artifact of type %s, not an image, and a docker-archive holds images only: write its files with `skiff artifact pull` (package registry/artifact), or copy it to an oci: layout or an oci-archive",
		what, doc.Digest, typ)
}
