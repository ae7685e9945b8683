package manifest

import (
	"encoding/json"
	"fmt"
	"strings"
)

// dockerToOCI maps Docker's media types to their OCI counterparts.
var dockerToOCI = map[string]string{
	MediaTypeDockerManifest:                        MediaTypeOCIManifest,
	MediaTypeDockerManifestList:                    MediaTypeOCIIndex,
	MediaTypeDockerConfig:                          MediaTypeOCIConfig,
	MediaTypeDockerLayer:                           MediaTypeOCILayerGzip,
	MediaTypeDockerForeignLayer:                    MediaTypeOCIForeignLayer,
	"application/vnd.docker.image.rootfs.diff.tar": MediaTypeOCILayer,
}

// ToOCI returns d with OCI media types: a Docker manifest becomes an OCI
// manifest (config and layer types too), a manifest list an OCI index. An
// OCI document is returned as is. Converting an index changes only its own
// media type: its entries keep their digests, so a caller that converts the
// child manifests must also replace their descriptors.
func ToOCI(d *Document) (*Document, error) {
	mt, ok := dockerToOCI[d.MediaType]
	if !ok {
		return d, nil // OCI already
	}
	var v any
	if d.Index != nil {
		idx := *d.Index
		idx.MediaType = mt
		v = &idx
	} else {
		m, err := manifestToOCI(*d.Manifest)
		if err != nil {
			return nil, fmt.Errorf("manifest: cannot convert %s to OCI: %w", d.Digest, err)
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

func manifestToOCI(m Manifest) (Manifest, error) {
	var err error
	if m.Config, err = descToOCI(m.Config); err != nil {
		return m, err
	}
	layers := make([]Descriptor, len(m.Layers))
	for i, l := range m.Layers {
		if layers[i], err = descToOCI(l); err != nil {
			return m, err
		}
	}
	m.Layers = layers
	return m, nil
}

// descToOCI gives d the OCI counterpart of its Docker type; an OCI type
// stays.
func descToOCI(d Descriptor) (Descriptor, error) {
	if mt, ok := dockerToOCI[d.MediaType]; ok {
		d.MediaType = mt
		return d, nil
	}
	if strings.HasPrefix(d.MediaType, "application/vnd.oci.") {
		return d, nil
	}
	return d, fmt.Errorf("no OCI counterpart for media type %s", truncate(d.MediaType, 100))
}

// OCIMediaType returns the OCI media type of content of Docker's type mt,
// or mt when it has no Docker counterpart.
func OCIMediaType(mt string) string {
	if oci, ok := dockerToOCI[mt]; ok {
		return oci
	}
	return mt
}
