package registry

import (
	"context"
	"errors"
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
	resp, err := r.send(req, http.StatusOK)
	var idx *manifest.Index
	filtered := false
	switch {
	case err == nil:
		defer resp.Body.Close()
		raw, err := manifest.ReadLimited(resp.Body, manifest.MaxManifestSize, "referrers of "+string(desc.Digest))
		if err != nil {
			return nil, err
		}
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
