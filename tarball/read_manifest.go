package tarball

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/skiffoci/skiff/manifest"
)

// Limits on a docker tarball's manifest.json.
const (
	MaxManifestJSONSize = 4 << 20 // bytes of manifest.json
	maxImages           = 10_000  // entries of manifest.json or index.json
	maxLayers           = 10_000  // layers of one image
	maxRepoTags         = 10_000  // tags of one image
)

// ManifestEntry is one image of a docker tarball's manifest.json, the file
// `docker load` reads. Config and Layers are paths inside the tarball.
type ManifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string

	// LayerSources maps the diffID of each foreign (non-distributable)
	// layer to its original descriptor.
	LayerSources map[manifest.Digest]manifest.Descriptor `json:",omitempty"`
}

// ParseManifestJSON parses and checks a manifest.json: at most
// MaxManifestJSONSize bytes, at least one entry, and every Config and
// Layers path relative and inside the archive.
func ParseManifestJSON(raw []byte) ([]ManifestEntry, error) {
	if len(raw) > MaxManifestJSONSize {
		return nil, &manifest.LimitError{What: "manifest.json", Limit: MaxManifestJSONSize}
	}
	var entries []ManifestEntry
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("tarball: invalid manifest.json: %w", err)
	}
	if len(entries) == 0 {
		return nil, errors.New("tarball: manifest.json lists no image")
	}
	if len(entries) > maxImages {
		return nil, fmt.Errorf("tarball: manifest.json lists more than %d images", maxImages)
	}
	for i := range entries {
		if err := entries[i].check(); err != nil {
			return nil, fmt.Errorf("tarball: manifest.json entry %d: %w", i, err)
		}
	}
	return entries, nil
}

func (e *ManifestEntry) check() error {
	if _, err := archivePath(e.Config); err != nil {
		return fmt.Errorf("Config: %w", err)
	}
	if len(e.Layers) > maxLayers || len(e.RepoTags) > maxRepoTags {
		return fmt.Errorf("more than %d layers or tags", maxLayers)
	}
	for i, l := range e.Layers {
		if _, err := archivePath(l); err != nil {
			return fmt.Errorf("Layers[%d]: %w", i, err)
		}
	}
	for k, d := range e.LayerSources {
		if err := k.Validate(); err != nil {
			return fmt.Errorf("LayerSources: %w", err)
		}
		if err := d.Validate(); err != nil {
			return fmt.Errorf("LayerSources[%s]: %w", k, err)
		}
	}
	return nil
}

// readFile returns the content of the file name leads to, at most limit
// bytes.
func (r *Reader) readFile(name string, limit int64) ([]byte, *tarEntry, error) {
	e, err := r.resolve(name)
	if err != nil {
		return nil, nil, err
	}
	if e.size > limit {
		return nil, nil, &manifest.LimitError{What: quoteTrim(name, 200), Limit: limit}
	}
	b := make([]byte, e.size)
	if _, err := io.ReadFull(e.section(r.ra), b); err != nil {
		return nil, nil, fmt.Errorf("tarball: reading %q: %w", quoteTrim(name, 200), err)
	}
	return b, e, nil
}

// loadManifestJSON adds the images of manifest.json: the RepoTags of an
// image index.json already listed (same config) are added to it; any
// other image gets a manifest synthesized from its config and layers.
func (r *Reader) loadManifestJSON() error {
	raw, _, err := r.readFile("manifest.json", MaxManifestJSONSize)
	if err != nil {
		return err
	}
	entries, err := ParseManifestJSON(raw)
	if err != nil {
		return err
	}
	for i := range entries {
		if err := r.addDockerImage(&entries[i]); err != nil {
			return fmt.Errorf("%w (manifest.json entry %d)", err, i)
		}
	}
	return nil
}

func (r *Reader) addDockerImage(me *ManifestEntry) error {
	cfgRaw, cfgEntry, err := r.readFile(me.Config, manifest.MaxConfigSize)
	if err != nil {
		return err
	}
	cfg, err := manifest.ParseConfig(cfgRaw)
	if err != nil {
		return err
	}
	cfgDigest := manifest.FromBytes(cfgRaw)
	if i, ok := r.byConfig[cfgDigest]; ok {
		r.images[i].Tags = mergeTags(r.images[i].Tags, me.RepoTags)
		return nil
	}
	if len(cfg.RootFS.DiffIDs) != len(me.Layers) {
		return fmt.Errorf("tarball: config %q has %d diff_ids for %d layers", quoteTrim(me.Config, 200), len(cfg.RootFS.DiffIDs), len(me.Layers))
	}
	r.blobs[cfgDigest] = blobSource{entry: cfgEntry}
	layers := make([]manifest.Descriptor, len(me.Layers))
	for i, p := range me.Layers {
		if layers[i], err = r.dockerLayer(p, cfg.RootFS.DiffIDs[i], me.LayerSources); err != nil {
			return err
		}
	}
	cfgDesc := manifest.Descriptor{Digest: cfgDigest, Size: int64(len(cfgRaw))}
	doc, err := synthesize(cfgDesc, layers)
	if err != nil {
		return err
	}
	r.blobs[doc.Digest] = blobSource{data: doc.Raw, synth: true}
	r.images = append(r.images, ImageInfo{Tags: mergeTags(nil, me.RepoTags), Descriptor: doc.Descriptor()})
	return nil
}

// dockerLayer returns the descriptor of the layer at p, whose diffID the
// config gives, and registers where its bytes are. See the package
// documentation for how digest and media type are chosen.
func (r *Reader) dockerLayer(p string, diffID manifest.Digest, sources map[manifest.Digest]manifest.Descriptor) (manifest.Descriptor, error) {
	foreign, isForeign := sources[diffID]
	e, err := r.resolve(p)
	if err != nil {
		if isForeign && errors.Is(err, manifest.ErrNotFound) {
			return foreign, nil // only at its URLs
		}
		return manifest.Descriptor{}, err
	}
	desc, err := r.describeLayer(e, diffID)
	if isForeign {
		desc, err = foreign, nil
	}
	if err != nil {
		return manifest.Descriptor{}, err
	}
	if desc.Size != e.size {
		return manifest.Descriptor{}, fmt.Errorf("tarball: layer %q: %w: %d bytes, descriptor says %d", quoteTrim(p, 200), manifest.ErrSizeMismatch, e.size, desc.Size)
	}
	r.blobs[desc.Digest] = blobSource{entry: e}
	return desc, nil
}

// describeLayer sniffs a layer entry's compression and finds its digest.
func (r *Reader) describeLayer(e *tarEntry, diffID manifest.Digest) (manifest.Descriptor, error) {
	comp, err := compressionOf(r.ra, e)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	desc := manifest.Descriptor{MediaType: mediaTypeDockerLayerTar, Digest: diffID, Size: e.size}
	if comp == "" {
		return desc, nil // an uncompressed layer's digest is its diffID
	}
	desc.MediaType = manifest.MediaTypeDockerLayer
	if comp == "zstd" {
		desc.MediaType = manifest.MediaTypeOCILayerZstd
	}
	if desc.Digest = digestFromName(e.name); desc.Digest == "" {
		desc.Digest, err = digestOf(r.ra, e)
	}
	return desc, err
}

// mediaTypeDockerLayerTar is Docker's type for an uncompressed layer.
const mediaTypeDockerLayerTar = "application/vnd.docker.image.rootfs.diff.tar"

// digestFromName returns the digest that writers put in a blob's file
// name: "blobs/sha256/<hex>" (OCI layouts, Docker 25), "<hex>.tar.gz"
// (go-containerregistry), "<hex>.tar" (containers/image). It returns ""
// when the name holds none. The digest is checked when the blob is read.
func digestFromName(name string) manifest.Digest {
	dir, base := path.Split(name)
	if alg, ok := strings.CutPrefix(dir, "blobs/"); ok && strings.Count(alg, "/") == 1 {
		d := manifest.Digest(strings.TrimSuffix(alg, "/") + ":" + base)
		if d.Validate() == nil {
			return d
		}
	}
	for _, ext := range []string{".tar.gz", ".tar.zst", ".tar", ".gz"} {
		if hex, ok := strings.CutSuffix(base, ext); ok {
			if d := manifest.Digest("sha256:" + hex); d.Validate() == nil {
				return d
			}
		}
	}
	return ""
}

// synthesize builds the manifest of an image known only from manifest.json,
// byte for byte as go-containerregistry builds it (crane push, ggcr's
// tarball.Entry): compact JSON whose descriptors hold mediaType, size and
// digest in that order, the order of Docker's own descriptors
// (distribution.Descriptor). Docker media types, or OCI ones when a layer
// is zstd-compressed, which Docker's schema cannot say.
func synthesize(cfg manifest.Descriptor, layers []manifest.Descriptor) (*manifest.Document, error) {
	m := manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeDockerManifest, Config: cfg, Layers: layers}
	m.Config.MediaType = manifest.MediaTypeDockerConfig
	for _, l := range layers {
		if l.MediaType == manifest.MediaTypeOCILayerZstd {
			m = ociManifest(m)
			break
		}
	}
	sm := synthManifest{SchemaVersion: 2, MediaType: m.MediaType, Config: synthDesc(m.Config), Layers: make([]synthDescriptor, len(m.Layers))}
	for i, l := range m.Layers {
		sm.Layers[i] = synthDesc(l)
	}
	raw, err := json.Marshal(&sm)
	if err != nil {
		return nil, err
	}
	return manifest.Parse(raw, m.MediaType)
}

// synthManifest and synthDescriptor give a synthesized manifest the field
// order go-containerregistry's v1.Manifest and v1.Descriptor have.
type synthManifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType,omitempty"`
	Config        synthDescriptor   `json:"config"`
	Layers        []synthDescriptor `json:"layers"`
}

type synthDescriptor struct {
	MediaType   string            `json:"mediaType"`
	Size        int64             `json:"size"`
	Digest      manifest.Digest   `json:"digest"`
	URLs        []string          `json:"urls,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

func synthDesc(d manifest.Descriptor) synthDescriptor {
	return synthDescriptor{MediaType: d.MediaType, Size: d.Size, Digest: d.Digest, URLs: d.URLs, Annotations: d.Annotations}
}

// ociManifest returns m with OCI media types.
func ociManifest(m manifest.Manifest) manifest.Manifest {
	m.MediaType = manifest.MediaTypeOCIManifest
	m.Config.MediaType = manifest.MediaTypeOCIConfig
	layers := make([]manifest.Descriptor, len(m.Layers))
	for i, l := range m.Layers {
		switch l.MediaType {
		case manifest.MediaTypeDockerLayer:
			l.MediaType = manifest.MediaTypeOCILayerGzip
		case mediaTypeDockerLayerTar:
			l.MediaType = manifest.MediaTypeOCILayer
		case manifest.MediaTypeDockerForeignLayer:
			l.MediaType = manifest.MediaTypeOCIForeignLayer
		}
		layers[i] = l
	}
	m.Layers = layers
	return m
}
