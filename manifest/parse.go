package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
)

// Size limits for documents read from untrusted sources.
const (
	MaxManifestSize = 4 << 20 // manifests and indexes
	MaxConfigSize   = 8 << 20 // image configs
)

// Errors wrapped by Parse.
var (
	ErrSchema1          = errors.New("docker schema 1 manifests are not supported (deprecated since 2017); re-push the image with a current client")
	ErrAmbiguous        = errors.New("ambiguous document")
	ErrUnsupportedMedia = errors.New("unsupported media type")
)

// Document is a parsed manifest or index together with the exact bytes it
// was parsed from: re-encoding would change its digest, so the bytes travel
// with the value. Exactly one of Manifest and Index is set.
type Document struct {
	MediaType string
	Raw       []byte
	Digest    Digest
	Manifest  *Manifest
	Index     *Index
}

// Descriptor returns the descriptor of d's raw bytes.
func (d *Document) Descriptor() Descriptor {
	return Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: int64(len(d.Raw))}
}

// IsIndex reports whether d is an index or manifest list.
func (d *Document) IsIndex() bool { return d.Index != nil }

// probe holds the fields that tell the kinds of document apart.
type probe struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     string          `json:"mediaType"`
	Config        json.RawMessage `json:"config"`
	Layers        json.RawMessage `json:"layers"`
	Manifests     json.RawMessage `json:"manifests"`
	FSLayers      json.RawMessage `json:"fsLayers"`
}

// Parse detects what raw is (OCI manifest or index, Docker manifest or
// manifest list), checks it against contentType (the HTTP Content-Type, or
// "" when unknown), and parses and validates it. It refuses documents larger
// than MaxManifestSize, schema 1 manifests, documents that have both
// "manifests" and "layers" or "config", and documents whose mediaType
// disagrees with contentType (CVE-2021-41190).
func Parse(raw []byte, contentType string) (*Document, error) {
	if len(raw) > MaxManifestSize {
		return nil, &LimitError{What: "manifest", Limit: MaxManifestSize}
	}
	ct := baseMediaType(contentType)
	if ct == mediaTypeDockerSchema1 || ct == mediaTypeDockerSchema1Signed {
		return nil, fmt.Errorf("manifest: %w", ErrSchema1)
	}
	var p probe
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("manifest: invalid JSON: %w", err)
	}
	mt, err := detect(&p, ct)
	if err != nil {
		return nil, err
	}
	doc := &Document{MediaType: mt, Raw: raw, Digest: FromBytes(raw)}
	if IsIndex(mt) {
		err = parseIndex(doc)
	} else {
		err = parseManifest(doc)
	}
	if err != nil {
		return nil, err
	}
	return doc, nil
}

// detect returns the document's media type, from its own mediaType field,
// the Content-Type or, failing both, its shape.
func detect(p *probe, ct string) (string, error) {
	if p.SchemaVersion == 1 || p.FSLayers != nil {
		return "", fmt.Errorf("manifest: %w", ErrSchema1)
	}
	if p.SchemaVersion != 2 {
		return "", fmt.Errorf("manifest: schemaVersion must be 2, got %d", p.SchemaVersion)
	}
	hasManifests := p.Manifests != nil
	if hasManifests && (p.Layers != nil || p.Config != nil) {
		return "", fmt.Errorf("manifest: %w: both \"manifests\" and \"layers\" or \"config\"", ErrAmbiguous)
	}
	if !isDocumentType(ct) {
		ct = "" // application/json, octet-stream and the like say nothing
	}
	if p.MediaType != "" && ct != "" && p.MediaType != ct {
		return "", fmt.Errorf("manifest: %w: mediaType %q but Content-Type %q", ErrAmbiguous, truncate(p.MediaType, 100), ct)
	}
	mt := p.MediaType
	if mt == "" {
		mt = ct
	}
	if mt == "" {
		mt = MediaTypeOCIManifest
		if hasManifests {
			mt = MediaTypeOCIIndex
		}
	}
	if !IsIndex(mt) && !IsManifest(mt) {
		return "", fmt.Errorf("manifest: %w %q", ErrUnsupportedMedia, truncate(mt, 100))
	}
	if IsIndex(mt) == (p.Layers != nil || p.Config != nil) {
		return "", fmt.Errorf("manifest: %w: media type %s does not fit the document's fields", ErrAmbiguous, mt)
	}
	return mt, nil
}

func isDocumentType(ct string) bool {
	return IsIndex(ct) || IsManifest(ct)
}

func baseMediaType(ct string) string {
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ct
	}
	return mt
}

func parseManifest(doc *Document) error {
	var m Manifest
	if err := strictUnmarshal(doc.Raw, &m); err != nil {
		return err
	}
	if err := m.Config.Validate(); err != nil {
		return fmt.Errorf("manifest: config: %w", err)
	}
	for i, l := range m.Layers {
		if err := l.Validate(); err != nil {
			return fmt.Errorf("manifest: layer %d: %w", i, err)
		}
	}
	if err := validateSubject(m.Subject); err != nil {
		return err
	}
	doc.Manifest = &m
	return nil
}

func parseIndex(doc *Document) error {
	var idx Index
	if err := strictUnmarshal(doc.Raw, &idx); err != nil {
		return err
	}
	for i, d := range idx.Manifests {
		if err := d.Validate(); err != nil {
			return fmt.Errorf("manifest: index entry %d: %w", i, err)
		}
	}
	if err := validateSubject(idx.Subject); err != nil {
		return err
	}
	doc.Index = &idx
	return nil
}

func validateSubject(s *Descriptor) error {
	if s == nil {
		return nil
	}
	if err := s.Validate(); err != nil {
		return fmt.Errorf("manifest: subject: %w", err)
	}
	return nil
}

// strictUnmarshal decodes one JSON value and refuses trailing data.
func strictUnmarshal(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("manifest: invalid document: %w", err)
	}
	if dec.More() {
		return errors.New("manifest: invalid document: data after the JSON value")
	}
	return nil
}

// ParseConfig parses an image config of at most MaxConfigSize bytes.
func ParseConfig(raw []byte) (*Config, error) {
	if len(raw) > MaxConfigSize {
		return nil, &LimitError{What: "config", Limit: MaxConfigSize}
	}
	var c Config
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("manifest: invalid image config: %w", err)
	}
	for i, d := range c.RootFS.DiffIDs {
		if err := d.Validate(); err != nil {
			return nil, fmt.Errorf("manifest: config diff_ids[%d]: %w", i, err)
		}
	}
	return &c, nil
}

// Marshal encodes v (a *Manifest or *Index) and parses the result, so the
// returned Document carries its raw bytes and digest.
func Marshal(mediaType string, v any) (*Document, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return Parse(raw, mediaType)
}
