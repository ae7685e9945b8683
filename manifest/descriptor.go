package manifest

import (
	"fmt"
	"strings"
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

// validMediaType reports whether s is type/subtype in RFC 6838's
// restricted-name grammar: each name 1 to 127 characters, starting with a
// letter or digit, then letters, digits and !#$&^_.+-.
func validMediaType(s string) bool {
	typ, sub, ok := strings.Cut(s, "/")
	return ok && restrictedName(typ) && restrictedName(sub)
}

func restrictedName(s string) bool {
	if len(s) == 0 || len(s) > 127 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("!#$&^_.+-", rune(c))) {
			return false
		}
	}
	return true
}

// Validate checks the digest, the size and the media type's form, and that
// embedded data, if any, matches the digest.
func (d Descriptor) Validate() error {
	if err := d.Digest.Validate(); err != nil {
		return err
	}
	if d.Size < 0 {
		return fmt.Errorf("manifest: descriptor %s has negative size %d", d.Digest, d.Size)
	}
	if !validMediaType(d.MediaType) {
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
