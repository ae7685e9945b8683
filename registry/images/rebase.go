package images

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/skiffoci/skiff/manifest"
)

// The OCI image spec's annotations that name the image an image was built
// on, which Rebase sets and reads.
const (
	BaseNameAnnotation   = "org.opencontainers.image.base.name"
	BaseDigestAnnotation = "org.opencontainers.image.base.digest"
)

// ErrNotOnBase is wrapped by the error of a Rebase whose image does not
// start with the old base's layers.
var ErrNotOnBase = errors.New("not built on that base")

// RebaseOptions name the new base in a rebased image's annotations.
type RebaseOptions struct {
	// BaseName goes into the annotation org.opencontainers.image.base.name
	// ("ghcr.io/o/base:1.1"); "" leaves the image's as it is.
	BaseName string
	// BaseDigest goes into org.opencontainers.image.base.digest; "" means
	// the new base's manifest digest. A base named by a tag of an index
	// is best recorded with the index's digest, as BaseName names it.
	BaseDigest manifest.Digest
}

// Rebase returns the image moved off oldBase and onto newBase, as crane
// rebase and regctl image mod --rebase do: the image's bottom layers must
// be oldBase's, compared by diffID (else the error wraps ErrNotOnBase);
// they are replaced by newBase's, and the image's own layers above them
// are kept. The config's diffIDs and history are rewritten the same way:
// newBase's history, then the image's own entries (those after oldBase's
// history when the image's history starts with it, else those after the
// entry of oldBase's last layer).
//
// The rest of the config is the image's, but where the image left a
// field as oldBase had it, newBase's value is taken, so that a fix the
// new base makes reaches the image and the image's own settings stay:
// OS, architecture, variant, OS version and OS features; Entrypoint, Cmd,
// User, WorkingDir, StopSignal, Healthcheck, Shell and ArgsEscaped as
// whole values; Env (by variable), Labels, ExposedPorts and Volumes (by
// key). Created, Author, OnBuild and everything else stay the image's.
//
// The manifest's annotations org.opencontainers.image.base.name and
// .base.digest name newBase as opts says. Nothing is read: the layers stay
// where they are, and Write copies newBase's from newBase's store (mounted
// within one registry) and the image's own from its own. A zstd layer of
// newBase makes a Docker image OCI, as AppendLayer does.
func (im *Image) Rebase(oldBase, newBase *Image, opts *RebaseOptions) (*Image, error) {
	if opts == nil {
		opts = &RebaseOptions{}
	}
	r, o, n := im.edit, oldBase.edit, newBase.edit
	for _, x := range []record{r, o, n} {
		if len(x.Manifest.Layers) != len(x.Config.RootFS.DiffIDs) {
			return nil, fmt.Errorf("images: an image has %d layers but %d diff_ids", len(x.Manifest.Layers), len(x.Config.RootFS.DiffIDs))
		}
	}
	if err := onBase(r, o); err != nil {
		return nil, err
	}
	layers, r, err := baseLayers(n, r)
	if err != nil {
		return nil, err
	}
	out := r.clone()
	keep := len(o.Manifest.Layers)
	out.Manifest.Layers = append(layers, r.Manifest.Layers[keep:]...)
	out.Config.RootFS.DiffIDs = append(slices.Clone(n.Config.RootFS.DiffIDs), r.Config.RootFS.DiffIDs[keep:]...)
	out.Config.History = append(slices.Clone(n.Config.History), r.Config.History[ownHistory(r, o):]...)
	mergeConfig(&out.Config, &o.Config, &n.Config)
	out.Manifest.Annotations = baseAnnotations(r.Manifest.Annotations, newBase, opts)
	return im.rebased(out, newBase), nil
}

// onBase checks that r's bottom layers are o's, by diffID.
func onBase(r, o record) error {
	have, want := r.Config.RootFS.DiffIDs, o.Config.RootFS.DiffIDs
	if len(want) > len(have) {
		return fmt.Errorf("images: the image has %d layers, the old base %d: %w", len(have), len(want), ErrNotOnBase)
	}
	for i, d := range want {
		if have[i] != d {
			return fmt.Errorf("images: the image's layer %d has diffID %s, the old base's %s: %w", i, have[i], d, ErrNotOnBase)
		}
	}
	return nil
}

// baseLayers returns n's layers with the media types of r's kind, and r,
// made OCI when a Docker image cannot carry one of them.
func baseLayers(n, r record) ([]manifest.Descriptor, record, error) {
	docker := r.Manifest.MediaType == manifest.MediaTypeDockerManifest
	if docker && slices.ContainsFunc(n.Manifest.Layers, func(d manifest.Descriptor) bool { return d.MediaType == manifest.MediaTypeOCILayerZstd }) {
		var err error
		if r, err = toOCI(r); err != nil {
			return nil, r, err
		}
		docker = false
	}
	layers := make([]manifest.Descriptor, len(n.Manifest.Layers))
	for i, d := range n.Manifest.Layers {
		var err error
		if layers[i], err = fitMediaType(d, docker); err != nil {
			return nil, r, err
		}
	}
	return layers, r, nil
}

// ownHistory is where r's own history starts, after o's.
func ownHistory(r, o record) int {
	rh, oh := r.Config.History, o.Config.History
	if len(oh) > 0 && len(oh) <= len(rh) && slices.EqualFunc(rh[:len(oh)], oh, sameStep) {
		return len(oh)
	}
	if len(o.Manifest.Layers) == 0 {
		return 0
	}
	if i := layerHistory(rh, len(o.Manifest.Layers)-1); i >= 0 {
		return i + 1
	}
	return len(rh)
}

// sameStep reports whether two history entries describe one step.
func sameStep(a, b manifest.History) bool {
	return a.CreatedBy == b.CreatedBy && a.EmptyLayer == b.EmptyLayer && a.Comment == b.Comment
}

// mergeConfig sets in c (the image's config) the fields of n (the new
// base's) that c has as o (the old base's) has them; see Rebase.
func mergeConfig(c, o, n *manifest.Config) {
	pick(&c.OS, o.OS, n.OS)
	pick(&c.Architecture, o.Architecture, n.Architecture)
	pick(&c.Variant, o.Variant, n.Variant)
	pick(&c.OSVersion, o.OSVersion, n.OSVersion)
	pickDeep(&c.OSFeatures, o.OSFeatures, n.OSFeatures)
	rc, ro, rn := &c.Config, &o.Config, &n.Config
	pickDeep(&rc.Entrypoint, ro.Entrypoint, rn.Entrypoint)
	pickDeep(&rc.Cmd, ro.Cmd, rn.Cmd)
	pick(&rc.User, ro.User, rn.User)
	pick(&rc.WorkingDir, ro.WorkingDir, rn.WorkingDir)
	pick(&rc.StopSignal, ro.StopSignal, rn.StopSignal)
	pickDeep(&rc.Healthcheck, ro.Healthcheck, rn.Healthcheck)
	pickDeep(&rc.Shell, ro.Shell, rn.Shell)
	pick(&rc.ArgsEscaped, ro.ArgsEscaped, rn.ArgsEscaped)
	rc.Env = mergeEnv(rc.Env, ro.Env, rn.Env)
	rc.Labels = mergeKeys(rc.Labels, ro.Labels, rn.Labels)
	rc.ExposedPorts = mergeKeys(rc.ExposedPorts, ro.ExposedPorts, rn.ExposedPorts)
	rc.Volumes = mergeKeys(rc.Volumes, ro.Volumes, rn.Volumes)
}

// scalar is what pick and mergeKeys compare with == (the package's
// comparable function hides the built-in constraint).
type scalar interface{ ~string | ~bool | struct{} }

// pick sets *c to n when *c is o.
func pick[T scalar](c *T, o, n T) {
	if *c == o {
		*c = n
	}
}

// pickDeep is pick for values compared in depth (slices, pointers).
func pickDeep[T any](c *T, o, n T) {
	if reflect.DeepEqual(*c, o) || isEmpty(*c) && isEmpty(o) {
		*c = n
	}
}

// isEmpty reports whether v is nil or of length 0: JSON does not tell
// them apart.
func isEmpty(v any) bool {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Map:
		return rv.Len() == 0
	case reflect.Pointer:
		return rv.IsNil()
	}
	return false
}

// mergeEnv applies, variable by variable, what changed from o to n to
// c's variables that c has as o has them; c's order is kept, new
// variables come last.
func mergeEnv(c, o, n []string) []string {
	out := slices.Clone(c)
	keys := slices.Concat(envKeys(o), envKeys(n))
	for i, k := range keys {
		if slices.Contains(keys[:i], k) {
			continue
		}
		cv, cok := lookupEnv(c, k)
		ov, ook := lookupEnv(o, k)
		if cv != ov || cok != ook {
			continue // the image set it
		}
		nv, nok := lookupEnv(n, k)
		if nok {
			out = setEnv(out, k+"="+nv)
		} else {
			out = setEnv(out, k)
		}
	}
	return out
}

func envKeys(env []string) []string {
	keys := make([]string, len(env))
	for i, kv := range env {
		keys[i], _, _ = strings.Cut(kv, "=")
	}
	return keys
}

func lookupEnv(env []string, k string) (string, bool) {
	for _, kv := range env {
		if key, v, _ := strings.Cut(kv, "="); key == k {
			return v, true
		}
	}
	return "", false
}

// mergeKeys is mergeEnv for maps.
func mergeKeys[V scalar](c, o, n map[string]V) map[string]V {
	out := maps.Clone(c)
	for k := range joinKeys(o, n) {
		cv, cok := c[k]
		ov, ook := o[k]
		if cv != ov || cok != ook {
			continue
		}
		nv, nok := n[k]
		out = setKey(out, k, nv, !nok)
	}
	if len(out) == 0 && c == nil {
		return nil
	}
	return out
}

func joinKeys[V any](a, b map[string]V) map[string]bool {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

// baseAnnotations returns a copy of m naming the new base as opts says.
func baseAnnotations(m map[string]string, newBase *Image, opts *RebaseOptions) map[string]string {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]string{}
	}
	digest := opts.BaseDigest
	if digest == "" {
		if d, err := newBase.Descriptor(); err == nil {
			digest = d.Digest
		}
	}
	if opts.BaseName != "" {
		out[BaseNameAnnotation] = opts.BaseName
	}
	out[BaseDigestAnnotation] = string(digest)
	return out
}

// rebased is im holding edit, with newBase's blobs read from where
// newBase reads them.
func (im *Image) rebased(edit record, newBase *Image) *Image {
	out := im.with(edit)
	out.added = maps.Clone(im.added)
	out.from = maps.Clone(im.from)
	for _, l := range newBase.edit.Manifest.Layers {
		if a, ok := newBase.added[l.Digest]; ok {
			if out.added == nil {
				out.added = map[manifest.Digest]Layer{}
			}
			out.added[l.Digest] = a
			continue
		}
		if out.from == nil {
			out.from = map[manifest.Digest]manifest.Fetcher{}
		}
		out.from[l.Digest] = newBase.source(l.Digest)
	}
	return out
}
