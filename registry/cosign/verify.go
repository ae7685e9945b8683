package cosign

import (
	"context"
	"crypto"
	"errors"
	"strconv"
	"strings"

	"github.com/skiffoci/skiff/manifest"
)

// Reasons a verification fails, wrapped by *VerifyError.
var (
	// ErrNoSignature: neither a .sig tag nor a signature referrer.
	ErrNoSignature = errors.New("no signature found")
	// ErrWrongDigest: a signature that verifies names another image.
	ErrWrongDigest = errors.New("the signed payload names another digest")
	// ErrIdentityMismatch: a signature that verifies names another
	// docker-reference than VerifyOptions.Identity.
	ErrIdentityMismatch = errors.New("identity mismatch")
	// ErrNeedsTransparencyLog: a keyless signature (with a certificate),
	// which only a transparency log and certificate authority can check.
	ErrNeedsTransparencyLog = errors.New("needs a transparency log or certificate authority: not verifiable with a key")
	// ErrTooManySignatures: more signatures than VerifyOptions allow.
	ErrTooManySignatures = errors.New("too many signatures")
)

// Schemes a signature was found through, as Verified.Scheme names them.
const (
	SchemeTag      = "tag"      // a layer of the .sig tag's manifest
	SchemeReferrer = "referrer" // a simple signing referrer (cosign oci-1-1)
	SchemeBundle   = "bundle"   // a sigstore bundle referrer
)

// DefaultMaxSignatures bounds the signatures Verify examines.
const DefaultMaxSignatures = 100

// Source is what Verify reads from: a registry.Repository (which also
// lists referrers), or a layout.
type Source interface {
	manifest.Fetcher
	manifest.Resolver
}

// VerifyOptions tune Verify. The zero value checks the digest only.
type VerifyOptions struct {
	// Identity, when set, is a reference ("ghcr.io/o/app", tag optional)
	// each accepted payload's docker-reference must match: the same
	// registry and repository after normalization, and the same tag when
	// both name one. Bundles carry no docker-reference and never match.
	Identity string
	// MaxSignatures bounds the signatures examined; DefaultMaxSignatures
	// when 0.
	MaxSignatures int
}

// Verified describes one signature that verified.
type Verified struct {
	Scheme    string          `json:"scheme"`    // SchemeTag, SchemeReferrer or SchemeBundle
	Manifest  manifest.Digest `json:"manifest"`  // the signature manifest
	Layer     int             `json:"layer"`     // the payload's or bundle's layer in it
	Digest    manifest.Digest `json:"digest"`    // the image digest it signs
	Identity  string          `json:"identity"`  // the docker-reference signed; "" for bundles
	Algorithm string          `json:"algorithm"` // as sigstore names it: "ecdsa-sha2-256-nistp256"
	// Optional holds the payload's annotations, if any.
	Optional map[string]any `json:"optional,omitempty"`
	// Unchecked lists what the signature carries that was not checked:
	// a certificate, a transparency log entry, a timestamp.
	Unchecked []string `json:"unchecked,omitempty"`
}

// VerifyError is returned when no signature verifies. Err is the most
// telling failure (a signature that verifies but names another digest
// tells more than one that does not verify); errors.Is matches its reason:
// ErrNoSignature, ErrBadSignature, ErrWrongDigest, ErrIdentityMismatch,
// ErrNeedsTransparencyLog, ErrInvalidPayload, ErrInvalidBundle.
type VerifyError struct {
	Digest  manifest.Digest // the image
	Checked int             // signatures examined
	Where   string          // the signature Err is about, or ""
	Err     error
}

func (e *VerifyError) Error() string {
	s := "cosign: " + string(e.Digest) + ": " + strings.TrimPrefix(e.Err.Error(), "cosign: ")
	if e.Where != "" {
		s += " (" + e.Where + ")"
	}
	if e.Checked > 1 {
		s += "; " + strconv.Itoa(e.Checked) + " signatures examined, none verified"
	}
	return s
}

func (e *VerifyError) Unwrap() error { return e.Err }

// Verify checks the signatures of the manifest desc names in src with pub:
// the layers of its .sig tag, and, when src lists referrers, cosign
// signature manifests and sigstore bundles that refer to it. It returns the
// signatures that verified, or a *VerifyError naming why none did. A
// signature verifies when pub verifies it, its payload names desc's digest
// and, with opts.Identity, that identity.
func Verify(ctx context.Context, src Source, desc manifest.Descriptor, pub crypto.PublicKey, opts *VerifyOptions) ([]Verified, error) {
	v, err := newVerifier(src, desc, pub, opts)
	if err != nil {
		return nil, err
	}
	if err := v.fromTag(ctx); err != nil {
		return nil, err
	}
	refErr := v.fromReferrers(ctx)
	if len(v.ok) > 0 {
		return v.ok, nil
	}
	if refErr != nil {
		return nil, refErr
	}
	return nil, v.failure()
}

// verifier collects the outcome of each signature examined.
type verifier struct {
	src      Source
	desc     manifest.Descriptor
	pub      crypto.PublicKey
	identity *identity
	max      int

	checked int
	ok      []Verified
	worst   *VerifyError // the most telling failure so far
}

func newVerifier(src Source, desc manifest.Descriptor, pub crypto.PublicKey, opts *VerifyOptions) (*verifier, error) {
	if err := checkPublicKey(pub); err != nil {
		return nil, err
	}
	if err := desc.Digest.Validate(); err != nil {
		return nil, err
	}
	v := &verifier{src: src, desc: desc, pub: pub, max: DefaultMaxSignatures}
	if opts == nil {
		return v, nil
	}
	if opts.MaxSignatures > 0 {
		v.max = opts.MaxSignatures
	}
	if opts.Identity != "" {
		id, err := parseIdentity(opts.Identity)
		if err != nil {
			return nil, wrap("identity", err)
		}
		v.identity = &id
	}
	return v, nil
}

// fromTag examines the layers of the .sig tag's manifest.
func (v *verifier) fromTag(ctx context.Context) error {
	sig, err := resolveAttached(ctx, v.src, v.desc.Digest, ".sig")
	if err != nil || sig == nil {
		return err
	}
	return v.fromManifest(ctx, *sig, SchemeTag)
}

// fromReferrers examines the referrers that are signatures. Its error is
// reported only if no signature verifies.
func (v *verifier) fromReferrers(ctx context.Context) error {
	refs, err := listReferrers(ctx, v.src, v.desc)
	if err != nil {
		return err
	}
	for _, r := range refs {
		if !isSignatureReferrer(r) {
			continue
		}
		scheme := SchemeReferrer
		if r.ArtifactType != ArtifactTypeSignature {
			scheme = SchemeBundle
		}
		if err := v.fromManifest(ctx, r, scheme); err != nil {
			return err
		}
	}
	return nil
}

// fromManifest examines each signature layer of the manifest sig.
func (v *verifier) fromManifest(ctx context.Context, sig manifest.Descriptor, scheme string) error {
	doc, err := manifest.FetchDocument(ctx, v.src, sig)
	if err != nil {
		return wrap("signature manifest "+string(sig.Digest), err)
	}
	if doc.Manifest == nil {
		v.fail(because(ErrInvalidPayload, "the signature "+string(sig.Digest)+" is an index, not a manifest"), scheme+" signature")
		return nil
	}
	if scheme != SchemeTag && (doc.Manifest.Subject == nil || doc.Manifest.Subject.Digest != v.desc.Digest) {
		return nil // listed by the registry, but refers to something else
	}
	for i, l := range doc.Manifest.Layers {
		c := candidate{scheme: scheme, manifest: sig.Digest, layer: i, desc: l}
		if !c.isSignature() {
			continue
		}
		if v.checked == v.max {
			return &VerifyError{Digest: v.desc.Digest, Checked: v.checked,
				Err: because(ErrTooManySignatures, "more than "+strconv.Itoa(v.max))}
		}
		v.checked++
		res, err := v.check(ctx, &c)
		if errors.Is(err, errNotASignature) {
			v.checked--
			continue
		}
		if err != nil {
			v.fail(err, c.String())
			continue
		}
		v.ok = append(v.ok, *res)
	}
	return nil
}

// fail records a failed signature, keeping the most telling failure.
func (v *verifier) fail(err error, where string) {
	e := &VerifyError{Digest: v.desc.Digest, Err: err, Where: where}
	if v.worst == nil || rank(reasonOf(err)) > rank(reasonOf(v.worst.Err)) {
		v.worst = e
	}
}

// failure is the error of a verification in which nothing verified.
func (v *verifier) failure() error {
	if v.worst == nil {
		tag, _ := manifest.CosignTag(v.desc.Digest, ".sig")
		return &VerifyError{Digest: v.desc.Digest,
			Err: because(ErrNoSignature, "no tag "+tag+" and no signature among the referrers")}
	}
	v.worst.Checked = v.checked
	return v.worst
}

// rank orders failure reasons by how much they tell: a signature that
// verified but names the wrong image beats a keyless one, which beats a
// signature by another key, which beats a malformed one.
func rank(err error) int {
	switch err {
	case ErrWrongDigest, ErrIdentityMismatch:
		return 4
	case ErrNeedsTransparencyLog:
		return 3
	case ErrBadSignature:
		return 2
	}
	return 1
}
