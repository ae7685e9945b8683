package main

import (
	"context"
	"flag"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
)

// registerOCIMediaTypes adds --oci-media-types to commands that write
// into layouts (and registries).
func (o *options) registerOCIMediaTypes(fs *flag.FlagSet) {
	fs.BoolVar(&o.ociMediaTypes, "oci-media-types", false, "store Docker-typed manifests, configs and layers with OCI media types, so that every OCI tool reads the layout (umoci, and skopeo up to at least 1.9, find only OCI-typed entries of index.json by name); the manifests get new digests, layers keep theirs")
}

// walkFor walks the graph copyTo moves from src, converted to OCI media
// types with --oci-media-types; src.converted then keeps the digest the
// root had before, for transfer to say what changed.
func walkFor(ctx context.Context, src *source, platforms []manifest.Platform, o *options) (*images.Graph, error) {
	g, err := images.Walk(ctx, src.fetcher, src.root, &images.WalkOptions{Platforms: platforms, Referrers: o.referrers})
	if err != nil || !o.ociMediaTypes {
		return g, err
	}
	from := g.Root.Digest
	if g, err = g.ToOCI(); err != nil {
		return nil, err
	}
	src.converted = from
	return g, nil
}
