//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/mirror"
)

// syncTags is how many tags the mirrored repository holds.
const syncTags = 20

// syncShape is the repository the sync operations mirror: every tag is
// the same base layers and one layer of its own, as releases of one
// application are.
type syncShape struct {
	base []layerSpec
	own  layerSpec
}

// syncShapeFor sizes the repository for the scale: at full scale a
// 64 MiB base (48 MiB random) and 1 MiB per tag.
func syncShapeFor(sc scale) syncShape {
	if sc.big[0].size >= 16*mib {
		return syncShape{base: []layerSpec{random(40 * mib), repetitive(16 * mib), random(8 * mib)}, own: random(1 * mib)}
	}
	return syncShape{base: []layerSpec{random(1 * mib), repetitive(512 * kib)}, own: random(64 * kib)}
}

// syncState seeds the source repository, and the target the second run
// meets, once, the first time an operation needs them.
var syncState struct {
	seedOnce, warmOnce sync.Once
	seedErr, warmErr   error
}

// syncOps time mirroring a repository of syncTags tags between the two
// registries: into an empty repository (every blob moves, the base once
// if the tool notices that tags share it), and again into one that has
// every tag already (nothing needs to move). skiff maps SRC under DST at
// its full path, skopeo at its last component; crane and regctl take the
// target repository itself.
func (f *fixture) syncOps() []op {
	src := f.a + "/bench/sync"
	shape := syncShapeFor(f.sc)
	name := fmt.Sprintf("%d tags on a shared %s base", syncTags, bytesIEC(shape.size()))
	first := func(id string) string { return f.b + "/sync1/" + id }
	return []op{
		{key: "sync", name: "sync " + name + ", registry → empty registry",
			group:   groupSync,
			prepare: func(string, uint64) error { return f.seedSync(src, shape) },
			cmd:     syncCommands(f, src, first)},
		{key: "sync-again", name: "sync again, nothing changed",
			group:   groupSync,
			prepare: func(string, uint64) error { return f.warmSync(src, shape, f.b+"/syncwarm/bench/sync") },
			cmd:     syncCommands(f, src, func(string) string { return f.b + "/syncwarm" })},
	}
}

// syncCommands mirrors src into the namespace dst(id) names, so that
// every tool's copy lands in dst(id)/bench/sync.
func syncCommands(f *fixture, src string, dst func(id string) string) map[string]argv {
	return map[string]argv{
		"skiff": func(_, id string) []string { return []string{"sync", src, dst(id)} },
		"crane": func(_, id string) []string {
			return []string{"copy", "--all-tags", "--insecure", src, dst(id) + "/bench/sync"}
		},
		"regctl": func(_, id string) []string { return f.regctl("repo", "copy", src, dst(id)+"/bench/sync") },
		"skopeo": func(_, id string) []string {
			return []string{"--insecure-policy", "sync", "--src", "docker", "--dest", "docker",
				"--src-tls-verify=false", "--dest-tls-verify=false", src, dst(id) + "/bench"}
		},
	}
}

// size is the compressed-or-not size of the base, as generated.
func (s syncShape) size() int64 {
	var n int64
	for _, l := range s.base {
		n += int64(l.size)
	}
	return n
}

// seedSync pushes the repository to src once: the base layers, then for
// every tag a layer of its own, a config and a manifest.
func (f *fixture) seedSync(src string, shape syncShape) error {
	syncState.seedOnce.Do(func() { syncState.seedErr = pushSyncRepo(context.Background(), src, shape) })
	return syncState.seedErr
}

// warmSync seeds the source and mirrors it into dst once, with skiff's
// library: the target every tool's second run meets.
func (f *fixture) warmSync(src string, shape syncShape, dst string) error {
	if err := f.seedSync(src, shape); err != nil {
		return err
	}
	syncState.warmOnce.Do(func() {
		ctx := context.Background()
		c := &registry.Client{}
		sref, _ := reference.ParseName(src)
		dref, err := reference.ParseName(dst)
		if err != nil {
			syncState.warmErr = err
			return
		}
		_, syncState.warmErr = mirror.Sync(ctx, c.Repository(dref), c.Repository(sref), nil)
	})
	return syncState.warmErr
}

func pushSyncRepo(ctx context.Context, src string, shape syncShape) error {
	ref, err := reference.ParseName(src)
	if err != nil {
		return err
	}
	repo := (&registry.Client{}).Repository(ref)
	var layers []manifest.Descriptor
	var diffIDs []manifest.Digest
	for i, l := range shape.base {
		d, diffID, err := pushLayer(ctx, repo, l, 700+uint64(i))
		if err != nil {
			return err
		}
		layers, diffIDs = append(layers, d), append(diffIDs, diffID)
	}
	p, _ := manifest.ParsePlatform("linux/amd64")
	for t := range syncTags {
		d, diffID, err := pushLayer(ctx, repo, shape.own, 800+uint64(t))
		if err != nil {
			return err
		}
		doc, cfg, err := compose(append(diffIDs[:len(diffIDs):len(diffIDs)], diffID), append(layers[:len(layers):len(layers)], d), p)
		if err == nil {
			err = repo.Push(ctx, doc.Manifest.Config, bytes.NewReader(cfg))
		}
		if err == nil {
			err = testimage.PushDocument(ctx, repo, doc, fmt.Sprintf("1.%d.0", t))
		}
		if err != nil {
			return fmt.Errorf("seeding %s: %w", src, err)
		}
	}
	return nil
}

// pushLayer generates one layer and pushes it to repo.
func pushLayer(ctx context.Context, repo *registry.Repository, l layerSpec, seed uint64) (manifest.Descriptor, manifest.Digest, error) {
	one, err := testimage.New(testimage.Options{LayerSizes: []int{l.size}, Compressible: l.compressible, Seed: seed, Docker: true})
	if err != nil {
		return manifest.Descriptor{}, "", err
	}
	d := one.Manifest.Manifest.Layers[0]
	return d, one.DiffIDs[0], repo.Push(ctx, d, bytes.NewReader(one.Layers[0]))
}
