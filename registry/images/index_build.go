package images

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/skiffoci/skiff/manifest"
)

// ErrDuplicatePlatform is wrapped by the error of an edit that would give
// an index two entries of one platform when AddOptions.Duplicates refuses
// them.
var ErrDuplicatePlatform = errors.New("two images of one platform")

// Duplicates says what Add and AddIndex do with an entry whose platform
// the index already holds. Platforms are the same when their OS,
// architecture, variant (normalized: arm64/v8 is arm64), OS version and
// OS features are.
type Duplicates int

const (
	// ReplaceDuplicates puts the new entry in the old one's place, and
	// drops the old one's attestations (as `skiff index add` does).
	ReplaceDuplicates Duplicates = iota
	// KeepDuplicates keeps both, the new one last (`skiff index add
	// --keep`, `skiff index create --allow-duplicate-platforms`).
	KeepDuplicates
	// RefuseDuplicates fails with ErrDuplicatePlatform (`skiff index
	// create`).
	RefuseDuplicates
)

// AddOptions tune Add, AddIndex and NewIndexFrom. The zero value, or nil,
// takes every entry of an index and replaces entries of the same
// platform.
type AddOptions struct {
	// Duplicates says what happens to an entry whose platform the index
	// holds already.
	Duplicates Duplicates
	// Platforms chooses the entries AddIndex (and NewIndexFrom, of an
	// index) takes: those that match one of them (as Platform.Matches
	// does), with their attestations. None means every entry.
	Platforms []manifest.Platform
}

// NewIndex returns an index of imgs, each entry's platform read from the
// image's config (OS, architecture, variant, OS version, OS features).
// Two images of one platform are an error wrapping ErrDuplicatePlatform.
// With no images it is empty, ready for Add. Written, it is a Docker
// manifest list if every image is Docker-typed, an OCI index otherwise
// (see WithMediaType).
func NewIndex(imgs ...*Image) (*Index, error) {
	ix := &Index{index: manifest.Index{SchemaVersion: 2, Manifests: []manifest.Descriptor{}}}
	for _, im := range imgs {
		var err error
		if ix, err = ix.Add(im, &AddOptions{Duplicates: RefuseDuplicates}); err != nil {
			return nil, err
		}
	}
	return ix, nil
}

// Add returns the index with im as an entry whose platform is the one
// im's config names. An entry of im's digest and platform already there
// leaves the index as it is.
func (ix *Index) Add(im *Image, opts *AddOptions) (*Index, error) {
	d, err := im.Descriptor()
	if err != nil {
		return nil, err
	}
	if p := im.Platform(); p.OS != "" || p.Architecture != "" {
		d.Platform = &p
	}
	return ix.add([]manifest.Descriptor{d}, []entry{{from: im.base, img: im}}, opts)
}

// AddIndex returns the index with other's entries added, those of
// opts.Platforms only when it names any: each keeps its descriptor
// (platform, annotations) and is read, when written, from where other
// holds it. Choosing platforms that other lacks is an error wrapping
// manifest.ErrNotFound.
func (ix *Index) AddIndex(other *Index, opts *AddOptions) (*Index, error) {
	if opts == nil {
		opts = &AddOptions{}
	}
	keep := other.choose(opts.Platforms)
	if len(keep) == 0 {
		return nil, fmt.Errorf("images: no entry for %s in index %s (it has %s): %w",
			platformList(opts.Platforms), other.name(), held(other.index.Manifests), manifest.ErrNotFound)
	}
	var ds []manifest.Descriptor
	var es []entry
	for _, i := range keep {
		ds = append(ds, other.index.Manifests[i])
		es = append(es, other.entries[i])
	}
	return ix.add(ds, es, opts)
}

// choose returns the positions of the entries of one of ps (every
// entry, for none), with the attestations of those it chose.
func (ix *Index) choose(ps []manifest.Platform) []int {
	var out []int
	chosen := map[manifest.Digest]bool{}
	for i, d := range ix.index.Manifests {
		if len(ps) == 0 || d.Platform != nil && slices.ContainsFunc(ps, d.Platform.Matches) {
			out = append(out, i)
			chosen[d.Digest] = true
		}
	}
	for i, d := range ix.index.Manifests {
		if of, ok := attestationOf(d); ok && len(ps) > 0 && chosen[of] && !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}

// add adds ds, whose graphs es locate, one after the other.
func (ix *Index) add(ds []manifest.Descriptor, es []entry, opts *AddOptions) (*Index, error) {
	if opts == nil {
		opts = &AddOptions{}
	}
	out := ix.clone()
	for i, d := range ds {
		if err := out.addOne(d, es[i], opts.Duplicates); err != nil {
			return nil, err
		}
	}
	return ix.unlessSame(out), nil
}

// unlessSame returns ix when out, an edit of it, changed nothing, so
// that an index opened keeps its bytes and its digest.
func (ix *Index) unlessSame(out *Index) *Index {
	if out.mediaType == ix.mediaType && reflect.DeepEqual(out.index, ix.index) {
		return ix
	}
	return out
}

// addOne adds d to ix, which is a clone to change in place.
func (ix *Index) addOne(d manifest.Descriptor, e entry, dup Duplicates) error {
	var same []int
	there := false // the entry is in the index already
	for i, have := range ix.index.Manifests {
		if samePlatform(have.Platform, d.Platform) {
			same = append(same, i)
		}
		there = there || have.Digest == d.Digest && (have.Platform == nil && d.Platform == nil || samePlatform(have.Platform, d.Platform))
	}
	switch {
	case there && (dup != ReplaceDuplicates || len(same) <= 1):
	case len(same) == 0 || dup == KeepDuplicates:
		ix.index.Manifests = append(ix.index.Manifests, d)
		ix.entries = append(ix.entries, e)
	case dup == RefuseDuplicates:
		return fmt.Errorf("images: %s and %s are both %s: %w", ix.index.Manifests[same[0]].Digest, d.Digest, platformName(*d.Platform), ErrDuplicatePlatform)
	default:
		var old []manifest.Digest
		for _, i := range same {
			old = append(old, ix.index.Manifests[i].Digest)
		}
		ix.index.Manifests[same[0]], ix.entries[same[0]] = d, e
		ix.removeWhere(func(i int, have manifest.Descriptor) bool {
			of, ok := attestationOf(have)
			return slices.Contains(same[1:], i) || ok && slices.Contains(old, of) && of != d.Digest
		})
	}
	return nil
}

// Remove returns the index without the entries of platform p (matched as
// Platform.Matches does: linux/arm64 is every variant of it) and their
// attestations. No such entry is an error wrapping manifest.ErrNotFound.
func (ix *Index) Remove(p manifest.Platform) (*Index, error) {
	return ix.remove(func(d manifest.Descriptor) bool { return d.Platform != nil && d.Platform.Matches(p) }, platformName(p))
}

// RemoveDigest returns the index without the entries of digest d and
// their attestations. No such entry is an error wrapping
// manifest.ErrNotFound.
func (ix *Index) RemoveDigest(d manifest.Digest) (*Index, error) {
	return ix.remove(func(e manifest.Descriptor) bool { return e.Digest == d }, string(d))
}

// remove drops the entries match chooses, and their attestations.
func (ix *Index) remove(match func(manifest.Descriptor) bool, what string) (*Index, error) {
	var gone []manifest.Digest
	for _, d := range ix.index.Manifests {
		if match(d) {
			gone = append(gone, d.Digest)
		}
	}
	if len(gone) == 0 {
		return nil, fmt.Errorf("images: no entry for %s in index %s (it has %s): %w", what, ix.name(), held(ix.index.Manifests), manifest.ErrNotFound)
	}
	out := ix.clone()
	out.removeWhere(func(_ int, d manifest.Descriptor) bool {
		of, ok := attestationOf(d)
		return slices.Contains(gone, d.Digest) || ok && slices.Contains(gone, of)
	})
	return out, nil
}

// removeWhere drops, in place, the entries drop chooses.
func (ix *Index) removeWhere(drop func(int, manifest.Descriptor) bool) {
	var ds []manifest.Descriptor
	var es []entry
	for i, d := range ix.index.Manifests {
		if !drop(i, d) {
			ds, es = append(ds, d), append(es, ix.entries[i])
		}
	}
	ix.index.Manifests, ix.entries = ds, es
	if ix.index.Manifests == nil {
		ix.index.Manifests = []manifest.Descriptor{}
	}
}

// Annotate returns the index with annotations set on the index itself;
// an empty value removes the annotation.
func (ix *Index) Annotate(annotations map[string]string) *Index {
	out := ix.clone()
	out.index.Annotations = annotate(out.index.Annotations, annotations)
	return ix.unlessSame(out)
}

// AnnotateEntry returns the index with annotations set on the entries of
// platform p (matched as Remove matches); an empty value removes the
// annotation. No such entry is an error wrapping manifest.ErrNotFound.
func (ix *Index) AnnotateEntry(p manifest.Platform, annotations map[string]string) (*Index, error) {
	out := ix.clone()
	found := false
	for i, d := range out.index.Manifests {
		if d.Platform != nil && d.Platform.Matches(p) {
			out.index.Manifests[i].Annotations = annotate(d.Annotations, annotations)
			found = true
		}
	}
	if !found {
		return nil, fmt.Errorf("images: no entry for %s in index %s (it has %s): %w", platformName(p), ix.name(), held(ix.index.Manifests), manifest.ErrNotFound)
	}
	return ix.unlessSame(out), nil
}

// WithMediaType returns the index to be written as mt: an OCI index
// (manifest.MediaTypeOCIIndex) or a Docker manifest list
// (manifest.MediaTypeDockerManifestList). By default an opened index keeps
// its type, but a Docker manifest list given an OCI-typed entry becomes an
// OCI index; a new one is a Docker manifest list when every entry is
// Docker-typed and it has no annotations, artifact type or subject,
// which a Docker manifest list cannot carry, and an OCI index otherwise.
func (ix *Index) WithMediaType(mt string) (*Index, error) {
	if mt != manifest.MediaTypeOCIIndex && mt != manifest.MediaTypeDockerManifestList {
		return nil, fmt.Errorf("images: an index is %s or %s, not %q", manifest.MediaTypeOCIIndex, manifest.MediaTypeDockerManifestList, mt)
	}
	out := ix.clone()
	out.mediaType = mt
	return out, nil
}

// WithArtifactType returns the index with artifactType t ("" removes it),
// which only an OCI index carries.
func (ix *Index) WithArtifactType(t string) *Index {
	out := ix.clone()
	out.index.ArtifactType = t
	return ix.unlessSame(out)
}

// samePlatform reports whether a and b are one platform: both set and
// known, and equal as Duplicates says.
func samePlatform(a, b *manifest.Platform) bool {
	if a == nil || b == nil || a.OS == "unknown" || b.OS == "unknown" {
		return false
	}
	x, y := a.Normalize(), b.Normalize()
	return x.OS == y.OS && x.Architecture == y.Architecture && x.Variant == y.Variant &&
		x.OSVersion == y.OSVersion && sameSet(x.OSFeatures, y.OSFeatures)
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// Docker's buildx lists an image's attestations in its index as entries
// with these annotations, naming the image's digest.
const (
	referenceTypeAnnotation   = "vnd.docker.reference.type"
	referenceDigestAnnotation = "vnd.docker.reference.digest"
)

// attestationOf returns the digest of the image d attests, if it is an
// attestation entry.
func attestationOf(d manifest.Descriptor) (manifest.Digest, bool) {
	of := d.Annotations[referenceDigestAnnotation]
	if d.Annotations[referenceTypeAnnotation] != "attestation-manifest" || of == "" {
		return "", false
	}
	return manifest.Digest(of), true
}

// platformName spells p as "os/arch[/variant]", with its OS version and
// features when it has them.
func platformName(p manifest.Platform) string {
	s := p.String()
	if p.OSVersion != "" {
		s += " (os.version " + p.OSVersion + ")"
	}
	if len(p.OSFeatures) > 0 {
		s += " (os.features " + strings.Join(p.OSFeatures, ",") + ")"
	}
	return s
}

// platformList spells ps for a person.
func platformList(ps []manifest.Platform) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = platformName(p)
	}
	return strings.Join(names, ", ")
}

// held lists the platforms of an index's entries for an error: "linux/amd64,
// linux/arm64", or "no entries".
func held(ds []manifest.Descriptor) string {
	if len(ds) == 0 {
		return "no entries"
	}
	return platformNames(ds)
}
