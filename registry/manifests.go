package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
)

var acceptManifests = strings.Join(manifest.ManifestMediaTypes, ", ")

// checkRef validates a tag or digest before it is put into a URL.
func checkRef(ref string) (manifest.Digest, error) {
	if strings.Contains(ref, ":") {
		return manifest.ParseDigest(ref)
	}
	if !reference.ValidTag(ref) {
		return "", fmt.Errorf("registry: invalid tag %q", truncate(ref, 140))
	}
	return "", nil
}

// identifier returns the tag or digest ref names in r. ref is a tag, a
// digest ("sha256:…"), or a whole reference ("ghcr.io/o/app:1.0",
// "ghcr.io/o/app@sha256:…", "alpine") that must name r's repository: one
// of another repository is an error that says so.
func (r *Repository) identifier(ref string) (string, error) {
	if reference.ValidTag(ref) || looksLikeDigest(ref) {
		return ref, nil
	}
	p, err := reference.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("registry: %q is neither a tag, a digest nor a reference: %w", truncate(ref, 140), err)
	}
	if apiHost(p.Registry) != r.host || p.Repository != r.name {
		return "", fmt.Errorf("registry: %s names repository %s, not %s/%s", truncate(ref, 140), p.Name(), r.host, r.name)
	}
	return p.Identifier(), nil
}

// looksLikeDigest reports whether ref is meant as a digest: an algorithm
// and a colon, and no slash. Whether it is a valid one, checkRef says.
func looksLikeDigest(ref string) bool {
	alg, _, found := strings.Cut(ref, ":")
	return found && !strings.Contains(ref, "/") && (alg == manifest.SHA256 || alg == manifest.SHA512)
}

// Resolve returns the descriptor of the manifest or index that ref (a
// tag, a digest, or a whole reference of r's repository) names. It asks with HEAD and falls back to GET when the
// registry does not answer HEAD, leaves out Docker-Content-Digest or
// fails it with anything but 404 (a HEAD error has no body to say why); a
// digest that disagrees with the one asked for is an error.
func (r *Repository) Resolve(ctx context.Context, ref string) (manifest.Descriptor, error) {
	ref, err := r.identifier(ref)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	if r.sources != nil {
		return r.sources.resolve(ctx, ref)
	}
	want, err := checkRef(ref)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	req, err := r.newRequest(ctx, http.MethodHead, "manifests/"+ref, nil)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	req.Header.Set("Accept", acceptManifests)
	resp, err := r.client.do(req)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if desc, ok := headDescriptor(resp); ok {
			if want != "" && desc.Digest != want {
				return manifest.Descriptor{}, fmt.Errorf("registry: %s@%s: registry answered with digest %s", r.name, want, desc.Digest)
			}
			return desc, nil
		}
	} else if resp.StatusCode == http.StatusNotFound {
		return manifest.Descriptor{}, newError(resp)
	}
	// HEAD failed without a body to say why (Harbor's 412 policy
	// violation, Artifactory's 403 for a missing tag), was refused (405,
	// 501), or lacked the digest: GET tells more.
	doc, err := r.FetchManifest(ctx, ref)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	return doc.Descriptor(), nil
}

// headDescriptor builds a descriptor from a HEAD response's headers, if
// they are complete and well-formed.
func headDescriptor(resp *http.Response) (manifest.Descriptor, bool) {
	d, err := manifest.ParseDigest(resp.Header.Get("Docker-Content-Digest"))
	mt := baseType(resp.Header.Get("Content-Type"))
	if err != nil || resp.ContentLength < 0 || !isManifestDesc(manifest.Descriptor{MediaType: mt}) {
		return manifest.Descriptor{}, false
	}
	return manifest.Descriptor{MediaType: mt, Digest: d, Size: resp.ContentLength}, true
}

func baseType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.TrimSpace(mt)
}

// FetchManifest gets the manifest or index that ref (a tag, a digest or a
// whole reference, as Resolve takes) names, bounded by manifest.MaxManifestSize, and verifies it: the body's
// hash must equal the digest asked for, and otherwise the
// Docker-Content-Digest header when there is one, so a registry cannot
// answer a digest with other content.
func (r *Repository) FetchManifest(ctx context.Context, ref string) (*manifest.Document, error) {
	doc, err := r.fetchManifest(ctx, ref)
	if err == nil {
		r.recent.add(doc)
	}
	return doc, err
}

func (r *Repository) fetchManifest(ctx context.Context, ref string) (*manifest.Document, error) {
	ref, err := r.identifier(ref)
	if err != nil {
		return nil, err
	}
	if r.sources != nil {
		return r.sources.fetchManifest(ctx, ref)
	}
	want, err := checkRef(ref)
	if err != nil {
		return nil, err
	}
	resp, raw, err := r.readManifest(ctx, ref, manifest.MaxManifestSize)
	if err != nil {
		return nil, err
	}
	if err := verifyManifest(raw, want, resp.Header.Get("Docker-Content-Digest")); err != nil {
		return nil, fmt.Errorf("registry: %s:%s: %w", r.name, ref, err)
	}
	return manifest.Parse(raw, resp.Header.Get("Content-Type"))
}

// getManifest GETs /manifests/<ref> with the Accept list; ref is checked.
func (r *Repository) getManifest(ctx context.Context, ref string) (*http.Response, error) {
	req, err := r.manifestRequest(ctx, ref)
	if err != nil {
		return nil, err
	}
	return r.send(req, http.StatusOK)
}

// readManifest GETs /manifests/<ref> and reads it whole, up to limit
// bytes; a body that breaks off or stalls is asked for again.
func (r *Repository) readManifest(ctx context.Context, ref string, limit int64) (*http.Response, []byte, error) {
	req, err := r.manifestRequest(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	ok := func(req *http.Request) (*http.Response, error) { return r.send(req, http.StatusOK) }
	return r.client.readBody(req, ok, limit, "manifest "+r.host+"/"+r.name+":"+ref)
}

func (r *Repository) manifestRequest(ctx context.Context, ref string) (*http.Request, error) {
	req, err := r.newRequest(ctx, http.MethodGet, "manifests/"+ref, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", acceptManifests)
	return req, nil
}

// verifyManifest checks raw against the digest asked for, or else against
// the digest the registry claims.
func verifyManifest(raw []byte, want manifest.Digest, header string) error {
	if want == "" && header != "" {
		d, err := manifest.ParseDigest(header)
		if err != nil {
			return fmt.Errorf("bad Docker-Content-Digest header: %w", err)
		}
		want = d
	}
	if want == "" {
		return nil
	}
	g := manifest.NewDigester(want.Algorithm())
	g.Write(raw)
	if got := g.Digest(); got != want {
		return fmt.Errorf("%w: expected %s, got %s", manifest.ErrDigestMismatch, want, got)
	}
	return nil
}

// PushManifest stores raw, of media type mediaType, under ref (a tag or a
// digest) and returns its descriptor.
func (r *Repository) PushManifest(ctx context.Context, raw []byte, mediaType, ref string) (manifest.Descriptor, error) {
	desc := manifest.DescriptorFor(mediaType, raw)
	want, err := checkRef(ref)
	if err != nil {
		return desc, err
	}
	if want != "" && want != desc.Digest {
		return desc, fmt.Errorf("registry: %w: pushing %s under %s", manifest.ErrDigestMismatch, desc.Digest, want)
	}
	req, err := r.newRequest(ctx, http.MethodPut, "manifests/"+ref, bytes.NewReader(raw))
	if err != nil {
		return desc, err
	}
	req.Header.Set("Content-Type", mediaType)
	resp, err := r.send(req, http.StatusCreated, http.StatusOK, http.StatusAccepted)
	if err != nil && want == "" && r.tagHolds(ctx, ref, desc, err) {
		return desc, nil // an immutable tag that already names it
	}
	if err != nil {
		return desc, err
	}
	closeBody(resp)
	if got := resp.Header.Get("Docker-Content-Digest"); got != "" && got != string(desc.Digest) {
		return desc, fmt.Errorf("registry: %s: registry stored manifest %s as %s", r.name, desc.Digest, got)
	}
	if resp.Header.Get("OCI-Subject") == "" {
		return desc, r.listReferrer(ctx, raw, desc)
	}
	return desc, nil
}

// Tag names the manifest desc under tag, sending its bytes again (the
// Distribution API has no tag-only request).
func (r *Repository) Tag(ctx context.Context, desc manifest.Descriptor, tag string) error {
	raw, err := manifest.FetchAll(ctx, r.origin(), desc, manifest.MaxManifestSize)
	if err != nil {
		return err
	}
	_, err = r.PushManifest(ctx, raw, desc.MediaType, tag)
	return err
}

// Delete removes the manifest ref (a digest, or a reference of r's
// repository with one; registries rarely allow deleting by tag) from the
// repository.
func (r *Repository) Delete(ctx context.Context, ref string) error {
	ref, err := r.identifier(ref)
	if err != nil {
		return err
	}
	if _, err := checkRef(ref); err != nil {
		return err
	}
	req, err := r.newRequest(ctx, http.MethodDelete, "manifests/"+ref, nil)
	if err != nil {
		return err
	}
	resp, err := r.send(req, http.StatusAccepted, http.StatusOK, http.StatusNoContent)
	if err != nil {
		return err
	}
	closeBody(resp)
	return nil
}

// Untag removes tag from the repository and leaves the manifest it
// names, as the OCI Distribution Spec allows (DELETE of a manifest by
// tag). Registries that delete only by digest, as distribution before
// v3 does (it answers 400 DIGEST_INVALID), give an error matching
// errors.ErrUnsupported; deleting the digest instead would remove every
// tag naming it.
func (r *Repository) Untag(ctx context.Context, tag string) error {
	if !reference.ValidTag(tag) {
		return fmt.Errorf("registry: untag: invalid tag %q", tag)
	}
	err := r.Delete(ctx, tag)
	var e *Error
	if errors.As(err, &e) && (e.Is(ErrUnsupported) || e.Status == http.StatusBadRequest && e.hasCode("DIGEST_INVALID")) {
		return fmt.Errorf("registry: %s cannot remove tag %s alone (%w): %w", r.name, tag, err, errors.ErrUnsupported)
	}
	return err
}

func (r *Repository) pushManifestDesc(ctx context.Context, desc manifest.Descriptor, body io.Reader) error {
	raw, err := manifest.ReadAllVerified(body, desc, manifest.MaxManifestSize)
	if err != nil {
		return err
	}
	_, err = r.PushManifest(ctx, raw, desc.MediaType, string(desc.Digest))
	return err
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
