package manifest

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Layer and config media types that have a counterpart in the other spec.
var (
	dockerToOCI = map[string]string{
		MediaTypeDockerManifest:                        MediaTypeOCIManifest,
		MediaTypeDockerManifestList:                    MediaTypeOCIIndex,
		MediaTypeDockerConfig:                          MediaTypeOCIConfig,
		MediaTypeDockerLayer:                           MediaTypeOCILayerGzip,
		MediaTypeDockerForeignLayer:                    MediaTypeOCIForeignLayer,
		"application/vnd.docker.image.rootfs.diff.tar": MediaTypeOCILayer,
	}
	ociToDocker = invert(dockerToOCI)
)

func invert(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

// ToOCI returns d with OCI media types: a Docker manifest becomes an OCI
// manifest (config and layer types too), a manifest list an OCI index. An
// OCI document is returned as is. Converting an index changes only its own
// media type: its entries keep their digests, so a caller that converts the
// child manifests must also replace their descriptors.
func ToOCI(d *Document) (*Document, error) {
	return convert(d, dockerToOCI, "OCI")
}

// ToDocker returns d with Docker media types. OCI content that Docker's
// schema cannot express (zstd layers, subject, artifactType) is an error.
func ToDocker(d *Document) (*Document, error) {
	return convert(d, ociToDocker, "Docker")
}

func convert(d *Document, table map[string]string, to string) (*Document, error) {
	mt, ok := table[d.MediaType]
	if !ok {
		return d, nil // already in the target form
	}
	var v any
	if d.Index != nil {
		idx := *d.Index
		idx.MediaType = mt
		if to == "Docker" && (idx.Subject != nil || idx.ArtifactType != "") {
			return nil, fmt.Errorf("manifest: cannot convert index %s to Docker: it has a subject or artifactType", d.Digest)
		}
		v = &idx
	} else {
		m, err := convertManifest(*d.Manifest, table, to)
		if err != nil {
			return nil, fmt.Errorf("manifest: cannot convert %s to %s: %w", d.Digest, to, err)
		}
		m.MediaType = mt
		v = &m
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return Parse(raw, mt)
}

func convertManifest(m Manifest, table map[string]string, to string) (Manifest, error) {
	if to == "Docker" && (m.Subject != nil || m.ArtifactType != "") {
		return m, fmt.Errorf("it has a subject or artifactType")
	}
	var err error
	if m.Config, err = convertDesc(m.Config, table); err != nil {
		return m, err
	}
	layers := make([]Descriptor, len(m.Layers))
	for i, l := range m.Layers {
		if layers[i], err = convertDesc(l, table); err != nil {
			return m, err
		}
	}
	m.Layers = layers
	return m, nil
}

func convertDesc(d Descriptor, table map[string]string) (Descriptor, error) {
	if mt, ok := table[d.MediaType]; ok {
		d.MediaType = mt
		return d, nil
	}
	if _, known := dockerToOCI[d.MediaType]; known {
		return d, nil // already the target's type
	}
	if _, known := ociToDocker[d.MediaType]; known {
		return d, nil
	}
	if strings.HasSuffix(d.MediaType, "+zstd") {
		return d, fmt.Errorf("layer %s is zstd-compressed, and Docker's schema 2 has no zstd layer type", d.Digest)
	}
	return d, fmt.Errorf("no counterpart for media type %s", d.MediaType)
}

// OCIMediaType returns the OCI media type of content of Docker's type mt,
// or mt when it has no Docker counterpart.
func OCIMediaType(mt string) string {
	if oci, ok := dockerToOCI[mt]; ok {
		return oci
	}
	return mt
}
