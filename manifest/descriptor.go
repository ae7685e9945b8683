package manifest

import (
	"fmt"
	"regexp"
)

// Descriptor points at content by media type, digest and size, as in the
// OCI image spec's descriptor.md.
type Descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       Digest            `json:"digest"`
	Size         int64             `json:"size"`
	URLs         []string          `json:"urls,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Data         []byte            `json:"data,omitempty"`
	Platform     *Platform         `json:"platform,omitempty"`
	ArtifactType string            `json:"artifactType,omitempty"`
}

// mediaTypeRE is RFC 6838's restricted-name grammar for type and subtype.
var mediaTypeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$`)

// Validate checks the digest, the size and the media type's form, and that
// embedded data, if any, matches the digest.
func (d Descriptor) Validate() error {
	if err := d.Digest.Validate(); err != nil {
		return err
	}
	if d.Size < 0 {
		return fmt.Errorf("manifest: descriptor %s has negative size %d", d.Digest, d.Size)
	}
	if !mediaTypeRE.MatchString(d.MediaType) {
		return fmt.Errorf("manifest: descriptor %s has invalid media type %q", d.Digest, truncate(d.MediaType, 100))
	}
	if d.Data != nil {
		if int64(len(d.Data)) != d.Size {
			return fmt.Errorf("manifest: descriptor %s: %w: data is %d bytes, size says %d", d.Digest, ErrSizeMismatch, len(d.Data), d.Size)
		}
		if g := NewDigester(d.Digest.Algorithm()); g != nil {
			g.Write(d.Data)
			if got := g.Digest(); got != d.Digest {
				return fmt.Errorf("manifest: descriptor data: %w: expected %s, got %s", ErrDigestMismatch, d.Digest, got)
			}
		}
	}
	return nil
}

// DescriptorFor returns the descriptor of b under the media type mt.
func DescriptorFor(mt string, b []byte) Descriptor {
	return Descriptor{MediaType: mt, Digest: FromBytes(b), Size: int64(len(b))}
}
