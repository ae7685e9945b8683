package cosign

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/skiffoci/skiff/manifest"
)

// Target is what Sign writes to: a registry.Repository or a layout.
type Target interface {
	manifest.Fetcher
	manifest.Resolver
	manifest.Pusher
	manifest.Tagger
}

// SignOptions say what a signature claims besides the digest.
type SignOptions struct {
	// Reference is the docker-reference the payload names. cosign puts
	// the repository there, "ghcr.io/o/app" (reference.Reference.Name).
	Reference string
	// Optional holds annotations for the payload's "optional" object.
	Optional map[string]any
}

// Signed describes what Sign did.
type Signed struct {
	Tag      string              // the .sig tag
	Manifest manifest.Descriptor // the signature manifest now under Tag
	Payload  manifest.Descriptor // the new signature's layer
	// Kept counts the signatures that were there before and are kept.
	Kept int
	// AlreadySigned is true when the same payload, signed by the same
	// key, was already there: nothing was pushed.
	AlreadySigned bool
}

// Sign signs the manifest desc names in dst with key and attaches the
// signature under its .sig tag in the form "cosign verify --key" reads:
// a simple signing payload naming desc's digest and opts.Reference, as a
// layer with the signature in its annotation. Signatures already under
// the tag are kept and the new one appended, as cosign does; if the same
// payload signed by the same key is there already, nothing is pushed.
// Two signers racing on one tag can lose one signature, as with cosign.
func Sign(ctx context.Context, dst Target, desc manifest.Descriptor, key crypto.Signer, opts *SignOptions) (*Signed, error) {
	if opts == nil || opts.Reference == "" {
		return nil, errors.New("cosign: sign: SignOptions.Reference (the docker-reference to claim) is required")
	}
	tag, err := manifest.CosignTag(desc.Digest, ".sig")
	if err != nil {
		return nil, fmt.Errorf("cosign: sign: %w", err)
	}
	payload, err := (&Payload{Reference: opts.Reference, Digest: desc.Digest, Optional: opts.Optional}).Marshal()
	if err != nil {
		return nil, err
	}
	layers, err := existingSignatures(ctx, dst, tag)
	if err != nil {
		return nil, err
	}
	out := &Signed{Tag: tag, Kept: len(layers), Payload: manifest.DescriptorFor(PayloadMediaType, payload)}
	if i := signedBy(ctx, dst, layers, out.Payload.Digest, key.Public()); i >= 0 {
		out.AlreadySigned, out.Payload = true, layers[i]
		out.Manifest, err = dst.Resolve(ctx, tag)
		return out, err
	}
	sig, err := SignBytes(key, payload)
	if err != nil {
		return nil, err
	}
	out.Payload.Annotations = map[string]string{AnnotationSignature: base64.StdEncoding.EncodeToString(sig)}
	layers = append(layers, out.Payload)
	out.Manifest, err = pushSignatures(ctx, dst, tag, layers, payload)
	return out, err
}

// existingSignatures returns the layers of the manifest under tag, or
// none when there is no such tag.
func existingSignatures(ctx context.Context, dst Target, tag string) ([]manifest.Descriptor, error) {
	desc, err := dst.Resolve(ctx, tag)
	if errors.Is(err, manifest.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("looking up "+tag, err)
	}
	doc, err := manifest.FetchDocument(ctx, dst, desc)
	if err != nil {
		return nil, wrap("reading "+tag, err)
	}
	if doc.Manifest == nil {
		return nil, errors.New("cosign: " + tag + " is an index, not a cosign signature manifest; not replacing it")
	}
	for i, l := range doc.Manifest.Layers {
		if l.MediaType != PayloadMediaType {
			return nil, errors.New("cosign: " + tag + " layer " + strconv.Itoa(i) + " is " + strconv.Quote(truncate(l.MediaType, 100)) + ", not a cosign signature; not replacing it")
		}
	}
	return doc.Manifest.Layers, nil
}

// signedBy returns the index of the layer holding payload digest d with a
// signature pub verifies, or -1.
func signedBy(ctx context.Context, src manifest.Fetcher, layers []manifest.Descriptor, d manifest.Digest, pub crypto.PublicKey) int {
	for i, l := range layers {
		if l.Digest != d {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(l.Annotations[AnnotationSignature])
		if err != nil {
			continue
		}
		payload, err := manifest.FetchAll(ctx, src, l, MaxPayloadSize)
		if err != nil {
			continue
		}
		if _, err := VerifyBytes(pub, payload, sig); err == nil {
			return i
		}
	}
	return -1
}

// pushSignatures pushes the new payload, the config and the manifest of
// layers, and tags the manifest.
func pushSignatures(ctx context.Context, dst Target, tag string, layers []manifest.Descriptor, payload []byte) (manifest.Descriptor, error) {
	config := signatureConfig(layers)
	m := manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIManifest,
		Config: manifest.DescriptorFor(manifest.MediaTypeOCIConfig, config), Layers: layers}
	raw, err := json.Marshal(&m)
	if err != nil {
		return manifest.Descriptor{}, wrap("signature manifest", err)
	}
	desc := manifest.DescriptorFor(manifest.MediaTypeOCIManifest, raw)
	for _, p := range []struct {
		desc manifest.Descriptor
		b    []byte
	}{{layers[len(layers)-1], payload}, {m.Config, config}, {desc, raw}} {
		d := p.desc
		d.Annotations = nil
		if err := dst.Push(ctx, d, bytes.NewReader(p.b)); err != nil {
			return desc, wrap("pushing "+string(d.Digest), err)
		}
	}
	if err := dst.Tag(ctx, desc, tag); err != nil {
		return desc, wrap("tagging "+tag, err)
	}
	return desc, nil
}

// signatureConfig is the config cosign writes for a signature manifest,
// byte for byte: an empty image whose layers' diffIDs are the payloads'
// digests (valid digests: nothing in them needs escaping).
func signatureConfig(layers []manifest.Descriptor) []byte {
	const created = `{"created":"0001-01-01T00:00:00Z"}`
	b := []byte(`{"architecture":"","created":"0001-01-01T00:00:00Z","history":[`)
	for i := range layers {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, created...)
	}
	b = append(b, `],"os":"","rootfs":{"type":"layers","diff_ids":[`...)
	for i, l := range layers {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(append(append(b, '"'), l.Digest...), '"')
	}
	return append(b, `]},"config":{}}`...)
}
