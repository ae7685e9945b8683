package cosign

import (
	"context"
	"errors"
	"strings"

	"github.com/skiffoci/skiff/manifest"
)

// Suffixes of the tags cosign attaches to an image's digest.
const (
	SignatureSuffix   = ".sig"
	AttestationSuffix = ".att"
	SBOMSuffix        = ".sbom"
)

// SignatureTag returns the tag under which cosign keeps the signatures of
// the manifest d names: "sha256-<hex>.sig".
func SignatureTag(d manifest.Digest) (string, error) { return AttachedTag(d, SignatureSuffix) }

// attachedTag returns "<algorithm>-<hex><suffix>", which must fit a tag's
// 128 characters: a sha512 digest does not.
func AttachedTag(d manifest.Digest, suffix string) (string, error) {
	if err := d.Validate(); err != nil {
		return "", err
	}
	tag := manifest.CosignTag(d, suffix)
	if len(tag) > 128 {
		return "", errors.New("cosign: " + string(d) + ": the tag " + d.Algorithm() + "-…" + suffix + " would be longer than 128 characters")
	}
	return tag, nil
}

// Attached is what refers to an image: cosign's tags (nil where absent)
// and, from a store with the referrers API, every referrer.
type Attached struct {
	Signatures   *manifest.Descriptor // the "sha256-<hex>.sig" tag
	Attestations *manifest.Descriptor // the ".att" tag
	SBOMs        *manifest.Descriptor // the ".sbom" tag
	// Referrers lists the manifests whose subject is the image, of every
	// artifact type; nil when the store cannot list them.
	Referrers []manifest.Descriptor
}

// Find looks up what is attached to the manifest desc names in r: cosign's
// .sig, .att and .sbom tags and, when r is a manifest.ReferrersLister, the
// referrers. An absent tag is no error; any other failure is. It looks at
// one digest; images.Walk with Referrers follows a whole graph.
func Find(ctx context.Context, r manifest.Resolver, desc manifest.Descriptor) (*Attached, error) {
	a := &Attached{}
	for _, t := range []struct {
		suffix string
		to     **manifest.Descriptor
	}{{SignatureSuffix, &a.Signatures}, {AttestationSuffix, &a.Attestations}, {SBOMSuffix, &a.SBOMs}} {
		d, err := resolveAttached(ctx, r, desc.Digest, t.suffix)
		if err != nil {
			return nil, err
		}
		*t.to = d
	}
	refs, err := listReferrers(ctx, r, desc)
	if err != nil {
		return nil, err
	}
	a.Referrers = refs
	return a, nil
}

// resolveAttached resolves d's tag with suffix, or returns nil when the
// store has no such tag.
func resolveAttached(ctx context.Context, r manifest.Resolver, d manifest.Digest, suffix string) (*manifest.Descriptor, error) {
	tag, err := AttachedTag(d, suffix)
	if err != nil {
		return nil, err
	}
	desc, err := r.Resolve(ctx, tag)
	if errors.Is(err, manifest.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("looking up "+tag, err)
	}
	return &desc, nil
}

// listReferrers lists desc's referrers when r can; nil when it cannot.
func listReferrers(ctx context.Context, r manifest.Resolver, desc manifest.Descriptor) ([]manifest.Descriptor, error) {
	l, ok := r.(manifest.ReferrersLister)
	if !ok {
		return nil, nil
	}
	refs, err := l.Referrers(ctx, desc, "")
	if err != nil {
		return nil, wrap("listing the referrers of "+string(desc.Digest), err)
	}
	return refs, nil
}

// isSignatureReferrer reports whether a referrer is, by its artifact type
// and annotations, a signature: cosign's oci-1-1 signature manifest, or a
// sigstore bundle that does not declare itself an attestation.
func isSignatureReferrer(d manifest.Descriptor) bool {
	if d.ArtifactType == ArtifactTypeSignature {
		return true
	}
	if !strings.HasPrefix(d.ArtifactType, bundleMediaTypePrefix) {
		return false
	}
	pt, ok := d.Annotations["dev.sigstore.bundle.predicateType"]
	return !ok || pt == SignPredicateType
}
