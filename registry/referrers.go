package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/skiffoci/skiff/manifest"
)

// Referrers lists the manifests whose subject is desc, optionally only
// those of artifactType. It uses the referrers API and, on registries
// without it, the tag schema ("sha256-<hex>") the spec defines as the
// fallback.
func (r *Repository) Referrers(ctx context.Context, desc manifest.Descriptor, artifactType string) ([]manifest.Descriptor, error) {
	if err := desc.Digest.Validate(); err != nil {
		return nil, err
	}
	path := "referrers/" + string(desc.Digest)
	if artifactType != "" {
		path += "?artifactType=" + url.QueryEscape(artifactType)
	}
	req, err := r.newRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", manifest.MediaTypeOCIIndex)
	ok := func(req *http.Request) (*http.Response, error) { return r.send(req, http.StatusOK) }
	resp, raw, err := r.client.readBody(req, ok, manifest.MaxManifestSize, "referrers of "+string(desc.Digest)+" on "+r.host)
	var idx *manifest.Index
	filtered := false
	switch {
	case err == nil:
		doc, err := manifest.Parse(raw, resp.Header.Get("Content-Type"))
		if err != nil {
			return nil, err
		}
		if doc.Index == nil {
			return nil, errors.New("registry: referrers response is not an index")
		}
		idx, filtered = doc.Index, resp.Header.Get("OCI-Filters-Applied") != ""
	case errors.Is(err, ErrNotFound):
		if idx, err = r.referrersByTag(ctx, desc.Digest); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	return filterArtifacts(idx.Manifests, artifactType, filtered), nil
}

// referrersByTag reads the fallback tag's index; no such tag means none.
func (r *Repository) referrersByTag(ctx context.Context, d manifest.Digest) (*manifest.Index, error) {
	doc, err := r.FetchManifest(ctx, d.Algorithm()+"-"+d.Hex())
	if errors.Is(err, ErrNotFound) {
		return &manifest.Index{}, nil
	}
	if err != nil {
		return nil, err
	}
	if doc.Index == nil {
		return &manifest.Index{}, nil
	}
	return doc.Index, nil
}

func filterArtifacts(ds []manifest.Descriptor, artifactType string, done bool) []manifest.Descriptor {
	if artifactType == "" || done {
		return ds
	}
	var out []manifest.Descriptor
	for _, d := range ds {
		if d.ArtifactType == artifactType {
			out = append(out, d)
		}
	}
	return out
}

// listReferrer keeps the referrers tag schema of the spec for a registry
// without the referrers API: when raw, just pushed as desc, has a subject,
// the index tagged "sha256-<subject hex>" must list it.
func (r *Repository) listReferrer(ctx context.Context, raw []byte, desc manifest.Descriptor) error {
	doc, err := manifest.Parse(raw, desc.MediaType)
	if err != nil {
		return nil // the registry took it; it is not ours to judge here
	}
	subject, entry := doc.Subject()
	if subject == nil {
		return nil
	}
	idx, err := r.referrersByTag(ctx, subject.Digest)
	if err != nil {
		return fmt.Errorf("registry: listing %s as a referrer of %s: %w", desc.Digest, subject.Digest, err)
	}
	for _, d := range idx.Manifests {
		if d.Digest == desc.Digest {
			return nil
		}
	}
	list := manifest.Index{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIIndex, Manifests: append(idx.Manifests, entry)}
	out, err := json.Marshal(&list)
	if err != nil {
		return err
	}
	tag := subject.Digest.Algorithm() + "-" + subject.Digest.Hex()
	if _, err := r.PushManifest(ctx, out, manifest.MediaTypeOCIIndex, tag); err != nil {
		return fmt.Errorf("registry: listing %s as a referrer of %s: %w", desc.Digest, subject.Digest, err)
	}
	return nil
}
