package cosign

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
)

// errNotASignature marks a referrer that turned out to be an attestation
// or another kind of statement: not counted, not a failure.
var errNotASignature = errors.New("not a signature")

// candidate is one signature layer: a simple signing payload, or a bundle.
type candidate struct {
	scheme   string
	manifest manifest.Digest
	layer    int
	desc     manifest.Descriptor
}

func (c *candidate) String() string {
	where := "referrer"
	switch c.scheme {
	case SchemeTag:
		where = ".sig tag manifest"
	case SchemeBundle:
		where = "bundle referrer"
	}
	return where + " " + string(c.manifest) + ", layer " + strconv.Itoa(c.layer)
}

func (c *candidate) isSignature() bool {
	if c.scheme == SchemeBundle {
		return strings.HasPrefix(c.desc.MediaType, bundleMediaTypePrefix)
	}
	return c.desc.MediaType == PayloadMediaType
}

// reasonError is a failure with one of the reasons VerifyError names.
type reasonError struct {
	reason error
	detail string
}

func (e *reasonError) Error() string { return "cosign: " + e.reason.Error() + ": " + e.detail }
func (e *reasonError) Unwrap() error { return e.reason }

// because returns an error of reason with detail. It and wrap are called
// from forty places and kept out of line: a call is smaller.
//
//go:noinline
func because(reason error, detail string) error {
	return &reasonError{reason: reason, detail: detail}
}

// wrapError is an error of this package around another.
type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string { return "cosign: " + e.msg + ": " + e.err.Error() }
func (e *wrapError) Unwrap() error { return e.err }

// wrap returns err, said to have happened while doing msg.
//
//go:noinline
func wrap(msg string, err error) error { return &wrapError{msg: msg, err: err} }

// reasonOf returns the reason err carries: a sentinel of this package,
// or err itself.
func reasonOf(err error) error {
	for _, r := range []error{ErrWrongDigest, ErrIdentityMismatch, ErrNeedsTransparencyLog, ErrBadSignature, ErrInvalidPayload, ErrInvalidBundle} {
		if errors.Is(err, r) {
			return r
		}
	}
	return err
}

func (v *verifier) check(ctx context.Context, c *candidate) (*Verified, error) {
	if c.scheme == SchemeBundle {
		return v.checkBundle(ctx, c)
	}
	return v.checkSimple(ctx, c)
}

// checkSimple checks a simple signing payload layer and its signature
// annotation.
func (v *verifier) checkSimple(ctx context.Context, c *candidate) (*Verified, error) {
	b64 := c.desc.Annotations[AnnotationSignature]
	if b64 == "" {
		return nil, because(ErrInvalidPayload, "the layer has no "+AnnotationSignature+" annotation")
	}
	sig, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, because(ErrInvalidPayload, "the signature annotation is not base64: "+err.Error())
	}
	payload, err := manifest.FetchAll(ctx, v.src, c.desc, MaxPayloadSize)
	if err != nil {
		return nil, err
	}
	alg, err := VerifyBytes(v.pub, payload, sig)
	if err != nil {
		return nil, notByKey(err, c.desc.Annotations[AnnotationCertificate] != "")
	}
	p, err := ParsePayload(payload)
	if err != nil {
		return nil, err
	}
	if p.Digest != v.desc.Digest {
		return nil, because(ErrWrongDigest, string(p.Digest)+", not "+string(v.desc.Digest))
	}
	if err := v.matchIdentity(p.Reference); err != nil {
		return nil, err
	}
	return &Verified{Scheme: c.scheme, Manifest: c.manifest, Layer: c.layer, Digest: p.Digest,
		Identity: p.Reference, Algorithm: alg, Optional: p.Optional, Unchecked: uncheckedAnnotations(c.desc.Annotations)}, nil
}

// notByKey turns a signature the key did not verify into the reason to
// report: a keyless signature needs what this package does not have.
func notByKey(err error, keyless bool) error {
	if !errors.Is(err, ErrBadSignature) {
		return err
	}
	if keyless {
		return because(ErrNeedsTransparencyLog, "signed with a certificate (keyless), not with this key")
	}
	return because(ErrBadSignature, "signed with another key, or altered")
}

// uncheckedAnnotations lists what a payload layer carries that is not
// checked here.
func uncheckedAnnotations(a map[string]string) []string {
	var out []string
	for _, u := range []struct{ key, what string }{
		{AnnotationCertificate, "certificate"},
		{AnnotationChain, "certificate chain"},
		{AnnotationBundle, "Rekor transparency log entry"},
		{AnnotationTimestamp, "RFC 3161 timestamp"},
	} {
		if a[u.key] != "" {
			out = append(out, u.what)
		}
	}
	return out
}

// checkBundle checks a sigstore bundle layer.
func (v *verifier) checkBundle(ctx context.Context, c *candidate) (*Verified, error) {
	raw, err := manifest.FetchAll(ctx, v.src, c.desc, MaxBundleSize)
	if err != nil {
		return nil, err
	}
	b, err := ParseBundle(raw)
	if err != nil {
		return nil, err
	}
	var alg string
	if b.Envelope != nil {
		alg, err = v.checkEnvelope(b)
	} else {
		alg, err = v.checkMessage(b)
	}
	if err != nil {
		return nil, err
	}
	if v.identity != nil {
		return nil, because(ErrIdentityMismatch, "a sigstore bundle names no docker-reference to compare with "+v.identity.String())
	}
	return &Verified{Scheme: c.scheme, Manifest: c.manifest, Layer: c.layer, Digest: v.desc.Digest,
		Algorithm: alg, Unchecked: b.unchecked()}, nil
}

// checkEnvelope checks a DSSE envelope around cosign's signing statement.
func (v *verifier) checkEnvelope(b *Bundle) (string, error) {
	e := b.Envelope
	if e.PayloadType != InTotoPayloadType {
		return "", errNotASignature
	}
	st, err := ParseStatement(e.Payload)
	if err != nil {
		return "", err
	}
	if st.PredicateType != SignPredicateType {
		return "", errNotASignature
	}
	pae := PAE(e.PayloadType, e.Payload)
	alg, err := "", ErrBadSignature
	for _, sig := range e.Signatures {
		if alg, err = VerifyBytes(v.pub, pae, sig); err == nil {
			break
		}
	}
	if err != nil {
		return "", notByKey(err, len(b.Certificates) > 0)
	}
	var named []string
	for _, s := range st.Subjects {
		if s[v.desc.Digest.Algorithm()] == v.desc.Digest.Hex() {
			return alg, nil
		}
		for a, h := range s {
			named = append(named, a+":"+truncate(h, 128))
		}
	}
	return "", because(ErrWrongDigest, "the statement names "+strings.Join(named, ", ")+", not "+string(v.desc.Digest))
}

// checkMessage checks a message signature, which signs the image's
// digest itself.
func (v *verifier) checkMessage(b *Bundle) (string, error) {
	m := b.MessageSignature
	h, name := bundleHash(m.Algorithm)
	if h == 0 || len(m.Digest) != h.Size() {
		return "", because(ErrInvalidBundle, "message digest algorithm "+strconv.Quote(truncate(m.Algorithm, 32))+" with "+strconv.Itoa(len(m.Digest))+" bytes")
	}
	alg, err := verifyDigest(v.pub, h, m.Digest, m.Signature)
	if err != nil {
		return "", notByKey(err, len(b.Certificates) > 0)
	}
	got := name + ":" + hex.EncodeToString(m.Digest)
	if got != string(v.desc.Digest) {
		return "", because(ErrWrongDigest, "the message signature names "+got+", not "+string(v.desc.Digest))
	}
	return alg, nil
}

// bundleHash maps a bundle's hash algorithm name to the hash and to the
// name digests use.
func bundleHash(name string) (crypto.Hash, string) {
	switch name {
	case "SHA2_256":
		return crypto.SHA256, manifest.SHA256
	case "SHA2_384":
		return crypto.SHA384, "sha384"
	case "SHA2_512":
		return crypto.SHA512, manifest.SHA512
	}
	return 0, ""
}

// unchecked lists what b carries that is not checked here.
func (b *Bundle) unchecked() []string {
	var out []string
	if len(b.Certificates) > 0 {
		out = append(out, "certificate")
	}
	if b.TlogEntries > 0 {
		out = append(out, "transparency log entry")
	}
	if b.Timestamps > 0 {
		out = append(out, "RFC 3161 timestamp")
	}
	return out
}

// identity is a reference given or claimed as an identity, and whether
// it named a tag or digest.
type identity struct {
	ref    reference.Reference
	tagged bool
}

func parseIdentity(s string) (identity, error) {
	if r, err := reference.ParseName(s); err == nil {
		return identity{ref: r}, nil
	}
	r, err := reference.Parse(s)
	return identity{ref: r, tagged: true}, err
}

// matchIdentity checks a payload's docker-reference against the identity
// asked for, if any.
func (v *verifier) matchIdentity(claimed string) error {
	if v.identity == nil {
		return nil
	}
	want := v.identity
	c, err := parseIdentity(claimed)
	if err != nil {
		return because(ErrIdentityMismatch, "the payload's docker-reference "+strconv.Quote(truncate(claimed, 256))+" is not a reference")
	}
	r, w := c.ref, want.ref
	switch {
	case r.Name() != w.Name(),
		c.tagged && want.tagged && r.Tag != "" && w.Tag != "" && r.Tag != w.Tag,
		c.tagged && want.tagged && r.Digest != "" && w.Digest != "" && r.Digest != w.Digest:
		return because(ErrIdentityMismatch, "the payload names "+truncate(claimed, 256)+", not "+want.String())
	}
	return nil
}

func (id *identity) String() string {
	if id.tagged {
		return id.ref.String()
	}
	return id.ref.Name()
}
