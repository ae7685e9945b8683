package images

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/skiffoci/skiff/manifest"
)

// record is a single-platform image being edited: its manifest and its
// config. The edit functions return a new record and never change the one
// they are given, so the original stays valid for comparison or retry.
type record struct {
	Manifest manifest.Manifest
	Config   manifest.Config
	// ConfigRaw is the config as it was fetched. encodeConfig keeps the
	// fields of it that Config does not know.
	ConfigRaw []byte
}

// newLayer is a layer to append: its descriptor, its diffID (the digest
// of its uncompressed tar) and how it was made.
type newLayer struct {
	Desc    manifest.Descriptor
	DiffID  manifest.Digest
	History manifest.History
}

// clone deep-copies im: edits change the copy in place.
func (im record) clone() record {
	im.Manifest.Layers = cloneDescriptors(im.Manifest.Layers)
	im.Manifest.Annotations = maps.Clone(im.Manifest.Annotations)
	im.Config = im.Config.Clone()
	return im
}

// cloneDescriptors deep-copies ds.
func cloneDescriptors(ds []manifest.Descriptor) []manifest.Descriptor {
	if ds == nil {
		return nil
	}
	out := make([]manifest.Descriptor, len(ds))
	for i, d := range ds {
		out[i] = d.Clone()
	}
	return out
}

// LayerMediaType returns the gzip layer media type that fits im: Docker's
// for a Docker manifest, OCI's otherwise, so an edited image keeps
// consistent media types.
func (im record) layerMediaType() string {
	if im.Manifest.MediaType == manifest.MediaTypeDockerManifest {
		return manifest.MediaTypeDockerLayer
	}
	return manifest.MediaTypeOCILayerGzip
}

// appendLayers returns im with layers added on top, their diffIDs in the
// config and a history entry each.
func appendLayers(im record, layers ...newLayer) (record, error) {
	im = im.clone()
	if len(im.Manifest.Layers) != len(im.Config.RootFS.DiffIDs) {
		return im, fmt.Errorf("images: image has %d layers but %d diff_ids", len(im.Manifest.Layers), len(im.Config.RootFS.DiffIDs))
	}
	for _, l := range layers {
		if err := l.Desc.Validate(); err != nil {
			return im, fmt.Errorf("images: layer: %w", err)
		}
		if err := l.DiffID.Validate(); err != nil {
			return im, fmt.Errorf("images: diffID: %w", err)
		}
		im.Manifest.Layers = append(im.Manifest.Layers, l.Desc)
		im.Config.RootFS.DiffIDs = append(im.Config.RootFS.DiffIDs, l.DiffID)
		h := l.History
		h.EmptyLayer = false
		im.Config.History = append(im.Config.History, h)
	}
	im.Config.RootFS.Type = "layers"
	return im, nil
}

// removeLayer returns im without layer i, with its diffID and history
// entry removed too. 0 is the bottom layer; a negative i counts from the
// top (-1 is the top layer), the one rule for layer indexes.
func removeLayer(im record, i int) (record, error) {
	im = im.clone()
	n := len(im.Manifest.Layers)
	at := i
	if at < 0 {
		at += n
	}
	if at < 0 || at >= n {
		return im, fmt.Errorf("images: no layer %d in an image of %d layers", i, n)
	}
	i = at
	if len(im.Config.RootFS.DiffIDs) != n {
		return im, fmt.Errorf("images: image has %d layers but %d diff_ids", n, len(im.Config.RootFS.DiffIDs))
	}
	im.Manifest.Layers = slices.Delete(im.Manifest.Layers, i, i+1)
	im.Config.RootFS.DiffIDs = slices.Delete(im.Config.RootFS.DiffIDs, i, i+1)
	if h := layerHistory(im.Config.History, i); h >= 0 {
		im.Config.History = slices.Delete(im.Config.History, h, h+1)
	}
	return im, nil
}

// layerHistory finds the history entry of the i-th non-empty layer, or -1.
func layerHistory(hs []manifest.History, i int) int {
	for j, h := range hs {
		if h.EmptyLayer {
			continue
		}
		if i == 0 {
			return j
		}
		i--
	}
	return -1
}

// ConfigChanges are edits to an image's runtime config. Nil fields are
// left as they are; an empty, non-nil slice clears.
type ConfigChanges struct {
	Env          []string          // KEY=VALUE: set or replace KEY; "KEY" alone removes it
	Entrypoint   []string          // replaces
	Cmd          []string          // replaces
	User         *string           // replaces
	WorkingDir   *string           // replaces
	Labels       map[string]string // set; an empty value removes the label
	ExposedPorts []string          // add, as "80/tcp" or "53/udp" ("80" means tcp)
	StopSignal   *string           // replaces
	Created      *time.Time        // replaces; callers honour SOURCE_DATE_EPOCH
	History      *manifest.History // appended as an empty-layer step, if set
}

// editConfig returns im with ch applied to its config.
func editConfig(im record, ch ConfigChanges) record {
	im = im.clone()
	rc := &im.Config.Config
	for _, kv := range ch.Env {
		rc.Env = setEnv(rc.Env, kv)
	}
	if ch.Entrypoint != nil {
		rc.Entrypoint = slices.Clone(ch.Entrypoint)
	}
	if ch.Cmd != nil {
		rc.Cmd = slices.Clone(ch.Cmd)
	}
	setString(&rc.User, ch.User)
	setString(&rc.WorkingDir, ch.WorkingDir)
	setString(&rc.StopSignal, ch.StopSignal)
	for k, v := range ch.Labels {
		rc.Labels = setKey(rc.Labels, k, v, v == "")
	}
	for _, p := range ch.ExposedPorts {
		if !strings.Contains(p, "/") {
			p += "/tcp"
		}
		rc.ExposedPorts = setKey(rc.ExposedPorts, p, struct{}{}, false)
	}
	if ch.Created != nil {
		t := ch.Created.UTC()
		im.Config.Created = &t
	}
	if ch.History != nil {
		h := *ch.History
		h.EmptyLayer = true
		im.Config.History = append(im.Config.History, h)
	}
	return im
}

func setString(dst *string, v *string) {
	if v != nil {
		*dst = *v
	}
}

func setKey[V any](m map[string]V, k string, v V, remove bool) map[string]V {
	if remove {
		delete(m, k)
		return m
	}
	if m == nil {
		m = map[string]V{}
	}
	m[k] = v
	return m
}

// setEnv sets "K=V" in env, replacing K's entry, or removes K for "K".
func setEnv(env []string, kv string) []string {
	k, _, hasValue := strings.Cut(kv, "=")
	i := slices.IndexFunc(env, func(e string) bool { return strings.SplitN(e, "=", 2)[0] == k })
	switch {
	case !hasValue && i >= 0:
		return slices.Delete(env, i, i+1)
	case !hasValue:
		return env
	case i >= 0:
		env[i] = kv
		return env
	}
	return append(env, kv)
}

// Encode returns im's config and manifest as bytes, with the manifest's
// config descriptor updated to the new config. The config keeps every
// field of ConfigRaw that Config does not know.
func (im record) Encode() (config []byte, doc *manifest.Document, err error) {
	if config, err = encodeConfig(im.ConfigRaw, &im.Config); err != nil {
		return nil, nil, err
	}
	m := im.Manifest
	mt := m.Config.MediaType
	if mt == "" {
		mt = manifest.MediaTypeOCIConfig
	}
	m.Config = manifest.DescriptorFor(mt, config)
	if m.MediaType == "" {
		m.MediaType = manifest.MediaTypeOCIManifest
	}
	doc, err = manifest.Marshal(m.MediaType, &m)
	return config, doc, err
}

// encodeConfig encodes c, keeping the top-level fields and "config"
// fields of base (a config as fetched) that Config does not know, so an
// edit loses nothing another tool wrote.
func encodeConfig(base []byte, c *manifest.Config) ([]byte, error) {
	raw, err := json.Marshal(c)
	if err != nil || len(base) == 0 {
		return raw, err
	}
	var orig, out map[string]json.RawMessage
	if json.Unmarshal(base, &orig) != nil || json.Unmarshal(raw, &out) != nil {
		return raw, nil // base was not an object: nothing to keep
	}
	keepUnknown(out, orig, jsonKeys(reflect.TypeFor[manifest.Config]()))
	if inner, ok := orig["config"]; ok {
		var oi, ni map[string]json.RawMessage
		if json.Unmarshal(inner, &oi) == nil && json.Unmarshal(out["config"], &ni) == nil {
			keepUnknown(ni, oi, jsonKeys(reflect.TypeFor[manifest.RuntimeConfig]()))
			if out["config"], err = json.Marshal(ni); err != nil {
				return nil, err
			}
		}
	}
	return json.Marshal(out)
}

func keepUnknown(dst, src map[string]json.RawMessage, known map[string]bool) {
	for k, v := range src {
		if !known[k] {
			dst[k] = v
		}
	}
}

// jsonKeys lists the JSON names of t's fields.
func jsonKeys(t reflect.Type) map[string]bool {
	keys := map[string]bool{}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys[name] = true
	}
	return keys
}
