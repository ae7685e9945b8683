//go:build linux

package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/skiffoci/skiff/registry"
)

// seedScale pushes the scale images to registry a: a huge image, one of
// many small layers, and many images sharing a base layer.
func seedScale(ctx context.Context, c *registry.Client, f *fixture) error {
	var err error
	if f.huge, err = seedImage(ctx, c, f.a+"/bench/huge:1", sources(f.sc.huge, 7), "linux/amd64"); err != nil {
		return err
	}
	wide := make([]layerSpec, f.sc.wideLayers)
	for i := range wide {
		wide[i] = random(f.sc.wideSize)
	}
	if f.wide, err = seedImage(ctx, c, f.a+"/bench/wide:1", sources(wide, 50), "linux/amd64"); err != nil {
		return err
	}
	f.many = nil
	for i := range f.sc.many {
		layers := []layerSource{{spec: f.sc.manyBase, seed: 9000}, {spec: f.sc.manyOwn, seed: 9001 + uint64(i)}}
		im, err := seedImage(ctx, c, fmt.Sprintf("%s/bench/many%d:1", f.a, i), layers, "linux/amd64")
		if err != nil {
			return err
		}
		f.many = append(f.many, im)
	}
	return nil
}

// scaleOps pull the scale images, when seeded, each in at most scaleRuns
// runs.
func (f *fixture) scaleOps() []op {
	if f.huge == nil || f.wide == nil || len(f.many) == 0 {
		return nil
	}
	ops := []op{
		f.pullTar("scale-huge", "pull "+bytesSI(f.huge.size)+" image → docker tarball", f.huge.ref, f.huge.least(), ""),
		f.pullTar("scale-layers", fmt.Sprintf("pull %d-layer image → docker tarball", f.sc.wideLayers), f.wide.ref, f.wide.least(), ""),
		f.pullMany(),
	}
	for i := range ops {
		ops[i].group, ops[i].maxRuns = groupScale, f.scaleRuns
	}
	return ops
}

// pullMany pulls the many images into one tarball: skiff pull -o FILE and
// crane pull take several images; regctl's export and skopeo's copy take
// one, so they run once per image, in sequence, into a file each.
func (f *fixture) pullMany() op {
	file := func(out string) string { return filepath.Join(out, "images.tar") }
	var refs []string
	var size int64
	for _, im := range f.many {
		refs = append(refs, im.ref)
		size += im.least()
	}
	size -= int64(len(f.many)-1) * f.many[0].blobs[1].Size // the base layer, stored once
	each := func(args func(i int, ref, out string) []string) argv {
		return func(out, _ string) []string {
			var lists [][]string
			for i, ref := range refs {
				lists = append(lists, args(i, ref, out))
			}
			return []string{loopScript(lists)}
		}
	}
	one := func(i int, out string) string { return filepath.Join(out, fmt.Sprintf("image%d.tar", i)) }
	return op{key: "scale-images", name: fmt.Sprintf("pull %d images → one docker tarball", len(refs)), minOut: size,
		loop: map[string]bool{"regctl": true, "skopeo": true},
		cmd: map[string]argv{
			"skiff": func(out, _ string) []string { return join([]string{"pull", "-o", file(out)}, refs) },
			"crane": func(out, _ string) []string { return join([]string{"pull", "--insecure"}, refs, []string{file(out)}) },
			"regctl": each(func(i int, ref, out string) []string {
				return f.regctl("image", "export", ref, one(i, out))
			}),
			"skopeo": each(func(i int, ref, out string) []string {
				return skopeoCopy("docker://"+ref, "docker-archive:"+one(i, out)+":"+ref)
			}),
		}}
}

// loopScript is an sh script running the tool ($0) once with each list of
// arguments, in sequence, stopping at the first failure.
func loopScript(lists [][]string) string {
	var cmds []string
	for _, args := range lists {
		words := []string{`"$0"`}
		for _, a := range args {
			words = append(words, shellQuote(a))
		}
		cmds = append(cmds, strings.Join(words, " "))
	}
	return strings.Join(cmds, " && ")
}

// firstOfLoop is the first command of a loop script, for the report.
func firstOfLoop(script, tool string) string {
	first, _, _ := strings.Cut(script, " && ")
	return strings.Replace(first, `"$0"`, tool, 1)
}
