//go:build linux

package main

import (
	"context"
	"fmt"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

// indexOps assemble a multi-platform tag over the link from the index
// fixture's single-platform images (tags p0, p1, … of its repository, as
// CI jobs push them): index create of all of them, and index add of the
// last to an index of the others. skopeo has neither.
func (f *fixture) indexOps() []op {
	n := len(f.sc.platforms)
	if n < 2 || f.aw == "" {
		return nil
	}
	var srcs []string
	for i := range n {
		srcs = append(srcs, fmt.Sprintf("%s:p%d", f.viaLink(f.index.name), i))
	}
	dst := func(prefix, id string) string { return f.viaLink(f.index.name) + ":" + prefix + id }
	create := op{key: "wan-index-create", name: fmt.Sprintf("index create of %d single-platform images, same repository", n), cmd: map[string]argv{
		"skiff": func(_, id string) []string { return join([]string{"index", "create", dst("c-", id)}, srcs) },
		"crane": func(_, id string) []string {
			return join([]string{"index", "append", "--insecure", "-t", dst("c-", id)}, flagEach("-m", srcs))
		},
		"regctl": func(_, id string) []string {
			return f.regctl(join([]string{"index", "create", dst("c-", id)}, flagEach("--ref", srcs))...)
		},
	}}
	last := srcs[n-1]
	add := op{key: "wan-index-add", name: fmt.Sprintf("index add of 1 image to a %d-platform index", n-1),
		setup: func(ctx context.Context, id string) error { return f.pushPartialIndex(ctx, "a-"+id) },
		cmd: map[string]argv{
			"skiff": func(_, id string) []string { return []string{"index", "add", dst("a-", id), last} },
			"crane": func(_, id string) []string {
				return []string{"index", "append", "--insecure", dst("a-", id), "-m", last}
			},
			"regctl": func(_, id string) []string { return f.regctl("index", "add", dst("a-", id), "--ref", last) },
		}}
	return []op{create, add}
}

func flagEach(flag string, values []string) []string {
	var out []string
	for _, v := range values {
		out = append(out, flag, v)
	}
	return out
}

// pushPartialIndex tags, in registry a directly, an index of every image
// of the index fixture but the last, for index add to add it.
func (f *fixture) pushPartialIndex(ctx context.Context, tag string) error {
	ref, err := reference.Parse(f.index.name + ":" + tag)
	if err != nil {
		return err
	}
	repo := (&registry.Client{}).Repository(ref)
	full, err := repo.FetchManifest(ctx, "1")
	if err != nil || full.Index == nil {
		return fmt.Errorf("reading the index fixture: %v", err)
	}
	idx := *full.Index
	idx.Manifests = idx.Manifests[:len(idx.Manifests)-1]
	doc, err := manifest.Marshal(manifest.MediaTypeOCIIndex, &idx)
	if err != nil {
		return err
	}
	_, err = repo.PushManifest(ctx, doc.Raw, doc.MediaType, tag)
	return err
}
