package cosign

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/skiffoci/skiff/manifest"
)

// Media types, annotations and types cosign uses.
const (
	// PayloadMediaType is the media type of a simple signing payload.
	PayloadMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// PayloadType is the value of critical.type in a cosign payload.
	PayloadType = "cosign container image signature"

	// AnnotationSignature holds the base64 signature of a payload layer.
	AnnotationSignature = "dev.cosignproject.cosign/signature"
	// AnnotationCertificate holds a PEM certificate (keyless signing).
	AnnotationCertificate = "dev.sigstore.cosign/certificate"
	// AnnotationChain holds the PEM chain of AnnotationCertificate.
	AnnotationChain = "dev.sigstore.cosign/chain"
	// AnnotationBundle holds a Rekor transparency log bundle.
	AnnotationBundle = "dev.sigstore.cosign/bundle"
	// AnnotationTimestamp holds an RFC 3161 timestamp bundle.
	AnnotationTimestamp = "dev.sigstore.cosign/rfc3161timestamp"

	// ArtifactTypeSignature is the artifact type of a signature manifest
	// attached through the referrers API (cosign's oci-1-1 mode).
	ArtifactTypeSignature = "application/vnd.dev.cosign.artifact.sig.v1+json"
)

// MaxPayloadSize bounds a simple signing payload. cosign's are a few
// hundred bytes; annotations in "optional" make them larger.
const MaxPayloadSize = 256 << 10

// Errors wrapped by the parsers.
var (
	// ErrInvalidPayload is wrapped by ParsePayload.
	ErrInvalidPayload = errors.New("invalid simple signing payload")
)

// Payload is a simple signing payload: what a cosign signature signs.
//
//	{"critical":{"identity":{"docker-reference":"…"},
//	             "image":{"docker-manifest-digest":"sha256:…"},
//	             "type":"cosign container image signature"},
//	 "optional":{…}}
//
// See https://github.com/containers/image/blob/main/docs/containers-signature.5.md.
type Payload struct {
	// Reference is critical.identity.docker-reference, as written: cosign
	// puts the repository there ("ghcr.io/o/app"), without tag or digest.
	Reference string
	// Digest is critical.image.docker-manifest-digest: the signed manifest.
	Digest manifest.Digest
	// Optional holds the signer's annotations, or nil. Numbers are
	// json.Number.
	Optional map[string]any
}

// wirePayload is a Payload as cosign marshals it: the key order and the
// "optional": null of Go's encoding/json over sigstore's types.
type wirePayload struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// ParsePayload parses a simple signing payload of at most MaxPayloadSize
// bytes. It refuses invalid JSON, unknown or repeated fields, a type other
// than PayloadType, a missing or malformed digest and an empty reference.
func ParsePayload(raw []byte) (*Payload, error) {
	var w wirePayload
	if err := decodeStrict(raw, MaxPayloadSize, "payload", &w); err != nil {
		return nil, payloadError(err)
	}
	c := &w.Critical
	if c.Type != PayloadType {
		return nil, because(ErrInvalidPayload, "critical.type is "+strconv.Quote(truncate(c.Type, 64))+", want \""+PayloadType+"\"")
	}
	d, err := manifest.ParseDigest(c.Image.DockerManifestDigest)
	if err != nil {
		return nil, because(ErrInvalidPayload, "docker-manifest-digest: "+err.Error())
	}
	if c.Identity.DockerReference == "" {
		return nil, because(ErrInvalidPayload, "docker-reference is empty")
	}
	return &Payload{Reference: c.Identity.DockerReference, Digest: d, Optional: w.Optional}, nil
}

func payloadError(err error) error {
	var le *manifest.LimitError
	if errors.As(err, &le) {
		return err
	}
	return because(ErrInvalidPayload, strings.TrimPrefix(err.Error(), "cosign: "))
}

// Marshal returns p in the exact bytes cosign writes for the same values,
// "optional": null included when p.Optional is nil.
func (p *Payload) Marshal() ([]byte, error) {
	if err := p.Digest.Validate(); err != nil {
		return nil, wrap("payload", err)
	}
	if p.Reference == "" {
		return nil, errors.New("cosign: payload: empty docker-reference")
	}
	var w wirePayload
	w.Critical.Identity.DockerReference = p.Reference
	w.Critical.Image.DockerManifestDigest = string(p.Digest)
	w.Critical.Type = PayloadType
	w.Optional = p.Optional
	raw, err := json.Marshal(&w)
	if err != nil {
		return nil, wrap("payload", err)
	}
	return raw, nil
}
