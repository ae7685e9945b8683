package cosign

import (
	"context"
	"errors"
	"strings"

	"github.com/skiffoci/skiff/manifest"
)

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
	found := []**manifest.Descriptor{&a.Signatures, &a.Attestations, &a.SBOMs} // in manifest.CosignSuffixes' order
	for i, suffix := range manifest.CosignSuffixes {
		d, err := resolveAttached(ctx, r, desc.Digest, suffix)
		if err != nil {
			return nil, err
		}
		*found[i] = d
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
	tag, err := manifest.CosignTag(d, suffix)
	if err != nil {
		return nil, wrap("naming the tag of "+string(d), err)
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
