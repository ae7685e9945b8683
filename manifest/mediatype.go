package manifest

// Media types of the OCI image spec and of Docker's image manifest v2.2.
const (
	MediaTypeOCIManifest     = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeOCIIndex        = "application/vnd.oci.image.index.v1+json"
	MediaTypeOCIConfig       = "application/vnd.oci.image.config.v1+json"
	MediaTypeOCILayer        = "application/vnd.oci.image.layer.v1.tar"
	MediaTypeOCILayerGzip    = "application/vnd.oci.image.layer.v1.tar+gzip"
	MediaTypeOCILayerZstd    = "application/vnd.oci.image.layer.v1.tar+zstd"
	MediaTypeOCIForeignLayer = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
	MediaTypeOCIEmpty        = "application/vnd.oci.empty.v1+json"

	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeDockerConfig       = "application/vnd.docker.container.image.v1+json"
	MediaTypeDockerLayer        = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	MediaTypeDockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
)

// Docker's schema 1, which skiff refuses (ErrSchema1).
const (
	mediaTypeDockerSchema1       = "application/vnd.docker.distribution.manifest.v1+json"
	mediaTypeDockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"
)

// ManifestMediaTypes lists, most preferred first, the manifest and index
// types skiff reads; it is the Accept list for manifest requests.
var ManifestMediaTypes = []string{
	MediaTypeOCIIndex,
	MediaTypeOCIManifest,
	MediaTypeDockerManifestList,
	MediaTypeDockerManifest,
}

// IsIndex reports whether mt is an OCI index or a Docker manifest list.
func IsIndex(mt string) bool {
	return mt == MediaTypeOCIIndex || mt == MediaTypeDockerManifestList
}

// IsManifest reports whether mt is an OCI or Docker v2 image manifest.
func IsManifest(mt string) bool {
	return mt == MediaTypeOCIManifest || mt == MediaTypeDockerManifest
}

// IsForeign reports whether mt is a non-distributable layer, whose bytes
// may live at the descriptor's URLs rather than in the registry.
func IsForeign(mt string) bool {
	switch mt {
	case MediaTypeDockerForeignLayer, MediaTypeOCIForeignLayer,
		"application/vnd.oci.image.layer.nondistributable.v1.tar",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd":
		return true
	}
	return false
}
