package images

import (
	"fmt"
	"maps"

	"github.com/skiffoci/skiff/manifest"
)

// with returns a copy of im holding edit, with its added layers shared
// (they are never changed in place) and its encoding to be redone.
func (im *Image) with(edit record) *Image {
	return &Image{edit: edit, base: im.base, added: im.added, from: im.from}
}

// RemoveLayer returns the image without layer i, its diffID and its
// history entry. 0 is the bottom layer; a negative i counts from the top,
// -1 being the top layer.
func (im *Image) RemoveLayer(i int) (*Image, error) {
	edit, err := removeLayer(im.edit, i)
	if err != nil {
		return nil, err
	}
	return im.with(edit), nil
}

// AppendLayer returns the image with l on top, described in the config by
// history h. A gzip layer takes the media type of the image's kind (Docker
// or OCI): the bytes are the same. A zstd layer on a Docker image makes
// the image OCI, since Docker's schema 2 has no zstd layer type; any other
// layer a Docker image cannot carry is an error wrapping
// manifest.ErrUnsupportedMedia.
func (im *Image) AppendLayer(l Layer, h manifest.History) (*Image, error) {
	desc, diffID := l.Describe()
	base := im.edit
	docker := base.Manifest.MediaType == manifest.MediaTypeDockerManifest
	if docker && desc.MediaType == manifest.MediaTypeOCILayerZstd {
		var err error
		if base, err = toOCI(base); err != nil {
			return nil, err
		}
		docker = false
	}
	desc, err := fitMediaType(desc, docker)
	if err != nil {
		return nil, err
	}
	edit, err := appendLayers(base, newLayer{Desc: desc, DiffID: diffID, History: h})
	if err != nil {
		return nil, err
	}
	out := im.with(edit)
	out.added = maps.Clone(im.added)
	if out.added == nil {
		out.added = map[manifest.Digest]Layer{}
	}
	out.added[desc.Digest] = l
	return out, nil
}

// layerTypes pairs the OCI and Docker media types of the same bytes.
var layerTypes = [][2]string{
	{manifest.MediaTypeOCILayerGzip, manifest.MediaTypeDockerLayer},
	{manifest.MediaTypeOCIForeignLayer, manifest.MediaTypeDockerForeignLayer},
}

// fitMediaType gives desc the media type of its kind of bytes in a Docker
// image (docker) or an OCI one.
func fitMediaType(desc manifest.Descriptor, docker bool) (manifest.Descriptor, error) {
	for _, pair := range layerTypes {
		if desc.MediaType == pair[0] || desc.MediaType == pair[1] {
			desc.MediaType = pair[0]
			if docker {
				desc.MediaType = pair[1]
			}
			return desc, nil
		}
	}
	if docker {
		return desc, fmt.Errorf("images: a Docker image cannot carry a layer of type %s: %w", desc.MediaType, manifest.ErrUnsupportedMedia)
	}
	return desc, nil
}

// WithoutLayers returns the image with no layers, no diffIDs and no
// history, the rest of its config kept: the start of a flattened image.
func (im *Image) WithoutLayers() *Image {
	edit := im.edit
	edit.Manifest.Layers = []manifest.Descriptor{}
	edit.Config.RootFS.DiffIDs = []manifest.Digest{}
	edit.Config.History = nil
	return &Image{edit: editConfig(edit, ConfigChanges{}), base: im.base}
}

// EditConfig returns the image with ch applied to its config.
func (im *Image) EditConfig(ch ConfigChanges) *Image {
	return im.with(editConfig(im.edit, ch))
}

// EditConfigFunc returns the image with its config as edit leaves it: any
// field, such as Config.Volumes, Config.Healthcheck, OS or Architecture.
// edit changes a copy, never the image's own. RootFS is the exception: the
// layers make it (AppendLayer, RemoveLayer), and it stays as they made it.
// Fields of the config skiff does not know are kept as they were.
func (im *Image) EditConfigFunc(edit func(c *manifest.Config)) *Image {
	rec := im.edit.clone()
	edit(&rec.Config)
	rec.Config.RootFS = im.edit.Config.Clone().RootFS
	return im.with(rec)
}

// Annotate returns the image with annotations set in its manifest: each
// key set to its value, or removed when the value is "". A Docker image
// becomes OCI (the same config and layers under their OCI media types),
// since Docker's schema 2 has no annotations.
func (im *Image) Annotate(annotations map[string]string) (*Image, error) {
	rec := im.edit.clone()
	if rec.Manifest.MediaType == manifest.MediaTypeDockerManifest {
		var err error
		if rec, err = toOCI(rec); err != nil {
			return nil, err
		}
	}
	rec.Manifest.Annotations = annotate(rec.Manifest.Annotations, annotations)
	return im.with(rec), nil
}

// annotate returns have with set applied: "" removes a key. An empty
// result is nil, so the document leaves the field out.
func annotate(have, set map[string]string) map[string]string {
	out := maps.Clone(have)
	for k, v := range set {
		out = setKey(out, k, v, v == "")
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// toOCI returns im with OCI media types: the same config and layers under
// the OCI names of their types.
func toOCI(im record) (record, error) {
	_, doc, err := im.Encode()
	if err == nil {
		doc, err = manifest.ToOCI(doc)
	}
	if err != nil {
		return im, fmt.Errorf("images: %w", err)
	}
	im.Manifest = *doc.Manifest
	return im, nil
}
