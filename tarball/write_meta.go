package tarball

import (
	"encoding/json"
	"fmt"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
)

// tagName is one tag in the three spellings a tarball uses.
type tagName struct {
	repoTag string // manifest.json's RepoTags: "alpine:latest"
	name    string // io.containerd.image.name: "docker.io/library/alpine:latest"
	tag     string // org.opencontainers.image.ref.name: "latest"
}

// parseTags parses references into tag names; a reference with only a
// digest gets DigestTag.
func parseTags(tags []string) ([]tagName, error) {
	out := make([]tagName, 0, len(tags))
	for _, s := range tags {
		ref, err := reference.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("tag: %w", err)
		}
		if ref.Tag == "" {
			ref.Tag = DigestTag
		}
		ref.Digest = ""
		out = append(out, tagName{repoTag: ref.Familiar(), name: ref.String(), tag: ref.Tag})
	}
	return out, nil
}

// appendTags appends the tags of more that tags lacks.
func appendTags(tags, more []tagName) []tagName {
	for _, t := range more {
		dup := false
		for _, have := range tags {
			dup = dup || have.name == t.name
		}
		if !dup {
			tags = append(tags, t)
		}
	}
	return tags
}

// ociLayoutFile is the content of an OCI layout's "oci-layout" file.
const ociLayoutFile = `{"imageLayoutVersion":"1.0.0"}`

// metadata returns the entries of manifest.json and, in the Docker 25
// shape, of oci-layout and index.json.
func (b *planBuilder) metadata(imgs []*planImage) ([]PlannedFile, error) {
	mj, err := b.manifestJSON(imgs)
	if err != nil {
		return nil, err
	}
	if b.legacy {
		return []PlannedFile{metaEntry("manifest.json", mj)}, nil
	}
	ij, err := indexJSON(imgs)
	if err != nil {
		return nil, err
	}
	return []PlannedFile{
		metaEntry("oci-layout", []byte(ociLayoutFile)),
		metaEntry("index.json", ij),
		metaEntry("manifest.json", mj),
	}, nil
}

func metaEntry(name string, data []byte) PlannedFile {
	return PlannedFile{Name: name, Size: int64(len(data)), data: data}
}

// manifestJSON returns manifest.json, one entry per image.
func (b *planBuilder) manifestJSON(imgs []*planImage) ([]byte, error) {
	entries := make([]ManifestEntry, len(imgs))
	for i, pi := range imgs {
		me := ManifestEntry{Config: b.blobName(pi.man.Config.Digest, true), RepoTags: []string{}}
		for _, t := range pi.tags {
			me.RepoTags = append(me.RepoTags, t.repoTag)
		}
		for _, l := range pi.man.Layers {
			me.Layers = append(me.Layers, b.blobName(l.Digest, false))
		}
		var err error
		if me.LayerSources, err = layerSources(pi); err != nil {
			return nil, fmt.Errorf("tarball: image %s: %w", pi.img.Manifest.Digest, err)
		}
		entries[i] = me
	}
	return json.Marshal(entries)
}

// layerSources maps the diffIDs of pi's foreign layers to their
// descriptors, as `docker load` expects; nil when there is none.
func layerSources(pi *planImage) (map[manifest.Digest]manifest.Descriptor, error) {
	var out map[manifest.Digest]manifest.Descriptor
	var diffIDs []manifest.Digest
	for i, l := range pi.man.Layers {
		if !manifest.IsForeign(l.MediaType) {
			continue
		}
		if out == nil {
			if pi.img.Config == nil {
				return nil, fmt.Errorf("foreign layer %s: Entry.Config is needed to find its diffID", l.Digest)
			}
			cfg, err := manifest.ParseConfig(pi.img.Config)
			if err != nil {
				return nil, err
			}
			if diffIDs = cfg.RootFS.DiffIDs; len(diffIDs) != len(pi.man.Layers) {
				return nil, fmt.Errorf("config has %d diff_ids for %d layers", len(diffIDs), len(pi.man.Layers))
			}
			out = make(map[manifest.Digest]manifest.Descriptor)
		}
		out[diffIDs[i]] = l
	}
	return out, nil
}

// indexJSON returns the OCI layout's index.json: one entry per tag, named
// as Docker 25 and containerd name them, or one unnamed entry for an image
// without tags.
func indexJSON(imgs []*planImage) ([]byte, error) {
	idx := manifest.Index{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIIndex, Manifests: []manifest.Descriptor{}}
	for _, pi := range imgs {
		d := pi.img.Manifest.Descriptor()
		if len(pi.tags) == 0 {
			idx.Manifests = append(idx.Manifests, d)
		}
		for _, t := range pi.tags {
			d.Annotations = map[string]string{AnnotationContainerdName: t.name, AnnotationRefName: t.tag}
			idx.Manifests = append(idx.Manifests, d)
		}
	}
	return json.Marshal(&idx)
}
