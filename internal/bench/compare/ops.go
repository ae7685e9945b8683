//go:build linux

package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/skiffoci/skiff/manifest"
)

// argv builds a tool's arguments for one invocation. out is an empty
// directory for the output, id names the invocation ("crane-3") so that
// nothing a tool pushes was pushed before.
type argv func(out, id string) []string

// op is one operation timed for every tool that has it.
type op struct {
	key, name string
	group     string          // which table shows it: groupMain, groupStderr, groupWAN or groupScale
	cmd       map[string]argv // a tool without the operation is absent
	// prepare, if set, makes the invocation's input in out, untimed.
	prepare func(out string, seq uint64) error
	// setup, if set, readies the registry for the invocation named id,
	// untimed (index add needs an index to add to).
	setup func(ctx context.Context, id string) error
	// minOut, if positive, is the least number of bytes the output in out
	// must hold: a check that the tool did the work.
	minOut int64
	stderr stderrMode // where stderr goes; "" is -stderr
	// maxRuns, if positive, is how many of the runs time the operation.
	maxRuns int
	// loop marks the tools that cannot do the operation in one
	// invocation: their argv is one sh script, run with $0 the tool.
	loop map[string]bool
	// image, if positive, is the size of the image pulled, which the
	// bytes fetched are compared with.
	image int64
}

// The groups of operations, each shown in its own table.
const (
	groupMain   = "main"
	groupStderr = "stderr"
	groupWAN    = "wan"
	groupScale  = "scale"
	groupSync   = "sync"
)

// fixture is what the operations work on: two registries, each also
// behind a simulated wide-area link, the images seeded into the first, and
// the big image as a tarball on disk.
type fixture struct {
	a, b       string // registry hosts
	aw, bw     string // the same registries through their links
	ac         string // registry a through the capped link, if its pulls run
	big        *seeded
	tiny       *seeded
	index      *seeded
	huge, wide *seeded   // the scale images, when seeded
	many       []*seeded // images pulled together, when seeded
	one        *seeded   // one-layer images through the capped link, when seeded
	oneHuge    *seeded
	tarball    string
	sc         scale
	scaleRuns  int
}

// skopeo copies between transports; the registries are plain HTTP, and
// the private HOME has no policy.json.
func skopeoCopy(args ...string) []string {
	return append([]string{"--insecure-policy", "copy", "--src-tls-verify=false", "--dest-tls-verify=false"}, args...)
}

// regctl reaches plain-HTTP registries only when told per host.
func (f *fixture) regctl(args ...string) []string {
	var hosts []string
	for _, h := range []string{f.a, f.b, f.aw, f.bw, f.ac} {
		if h != "" {
			hosts = append(hosts, "--host", "reg="+h+",tls=disabled")
		}
	}
	return append(hosts, args...)
}

// viaLink is ref on registry a or b reached through its link.
func (f *fixture) viaLink(ref string) string {
	if rest, ok := strings.CutPrefix(ref, f.a+"/"); ok {
		return f.aw + "/" + rest
	}
	if rest, ok := strings.CutPrefix(ref, f.b+"/"); ok {
		return f.bw + "/" + rest
	}
	return ref
}

// ops are every operation the fixture allows, in the order of the report.
func (f *fixture) ops() []op {
	ops := []op{
		f.pullTar("pull-tar", "pull big → docker tarball", f.big.ref, f.big.least(), ""),
		f.pullOCI(),
		f.pullTar("pull-tiny", fmt.Sprintf("pull %d tiny layers → docker tarball", f.sc.tinyLayers), f.tiny.ref, f.tiny.least(), ""),
		f.push(),
		f.copy("copy", "copy big, registry → registry", f.big.ref, f.b+"/copy"),
		f.copyOneStream(),
		f.copy("copy-index", fmt.Sprintf("copy %d-platform index, registry → registry", len(f.sc.platforms)), f.index.ref, f.b+"/copyidx"),
		f.appendLayer("append", fmt.Sprintf("append %s to big, same repository", bytesIEC(int64(f.sc.appendSize))), f.big),
	}
	for i := range ops {
		ops[i].group = groupMain
	}
	ops = append(ops, f.stderrOps()...)
	ops = append(ops, f.wanOps()...)
	ops = append(ops, f.cappedOps()...)
	ops = append(ops, f.scaleOps()...)
	return append(ops, f.syncOps()...)
}

// pullTar pulls ref to a docker tarball; platform, if set, picks one image
// of an index.
func (f *fixture) pullTar(key, name, ref string, size int64, platform string) op {
	file := func(out string) string { return filepath.Join(out, "image.tar") }
	plat, skopeo := platformFlags(platform)
	return op{key: key, name: name, minOut: size, cmd: map[string]argv{
		"skiff": func(out, _ string) []string { return join([]string{"pull"}, plat, []string{ref, file(out)}) },
		"crane": func(out, _ string) []string {
			return join([]string{"pull", "--insecure"}, plat, []string{ref, file(out)})
		},
		"regctl": func(out, _ string) []string {
			return f.regctl(join([]string{"image", "export"}, plat, []string{ref, file(out)})...)
		},
		"skopeo": func(out, _ string) []string {
			return skopeoCopy(join(skopeo, []string{"docker://" + ref, "docker-archive:" + file(out) + ":" + ref})...)
		},
	}}
}

// platformFlags are the flags that pick platform out of an index: skiff's,
// crane's and regctl's --platform, and skopeo's overrides.
func platformFlags(platform string) (plat, skopeo []string) {
	if platform == "" {
		return nil, nil
	}
	p, _ := manifest.ParsePlatform(platform)
	skopeo = []string{"--override-os", p.OS, "--override-arch", p.Architecture}
	if p.Variant != "" {
		skopeo = append(skopeo, "--override-variant", p.Variant)
	}
	return []string{"--platform", platform}, skopeo
}

func join(parts ...[]string) []string { return slices.Concat(parts...) }

func (f *fixture) pullOCI() op {
	dir := func(out string) string { return filepath.Join(out, "layout") }
	return op{key: "pull-oci", name: "pull big → OCI layout", minOut: f.big.least(), cmd: map[string]argv{
		"skiff": func(out, _ string) []string { return []string{"pull", "--format", "oci", f.big.ref, dir(out)} },
		"crane": func(out, _ string) []string {
			return []string{"pull", "--insecure", "--format", "oci", f.big.ref, dir(out)}
		},
		"regctl": func(out, _ string) []string { return f.regctl("image", "copy", f.big.ref, "ocidir://"+dir(out)+":1") },
		"skopeo": func(out, _ string) []string { return skopeoCopy("docker://"+f.big.ref, "oci:"+dir(out)+":1") },
	}}
}

func (f *fixture) push() op {
	dst := func(id string) string { return f.b + "/push/" + id + ":1" }
	return op{key: "push", name: "push big docker tarball → registry", cmd: map[string]argv{
		"skiff":  func(_, id string) []string { return []string{"push", f.tarball, dst(id)} },
		"crane":  func(_, id string) []string { return []string{"push", "--insecure", f.tarball, dst(id)} },
		"regctl": func(_, id string) []string { return f.regctl("image", "import", dst(id), f.tarball) },
		"skopeo": func(_, id string) []string { return skopeoCopy("docker-archive:"+f.tarball, "docker://"+dst(id)) },
	}}
}

// copy copies src to a new repository under dstPrefix (HOST/REPO) each time.
func (f *fixture) copy(key, name, src, dstPrefix string) op {
	dst := func(id string) string { return dstPrefix + "/" + id + ":1" }
	return op{key: key, name: name, cmd: map[string]argv{
		"skiff":  func(_, id string) []string { return []string{"copy", src, dst(id)} },
		"crane":  func(_, id string) []string { return []string{"copy", "--insecure", src, dst(id)} },
		"regctl": func(_, id string) []string { return f.regctl("image", "copy", src, dst(id)) },
		"skopeo": func(_, id string) []string {
			return skopeoCopy("--multi-arch", "all", "docker://"+src, "docker://"+dst(id))
		},
	}}
}

// copyOneStream is skiff's copy of the big image with --range-min 0: every
// blob in one stream, as skiff copied before it chose ranges by itself;
// the copy row's default is measured against it.
func (f *fixture) copyOneStream() op {
	dst := func(id string) string { return f.b + "/copy1s/" + id + ":1" }
	return op{key: "copy-one-stream", name: "copy big, registry → registry, skiff --range-min 0 (one stream)", cmd: map[string]argv{
		"skiff": func(_, id string) []string { return []string{"copy", "--range-min", "0", f.big.ref, dst(id)} },
	}}
}

// appendLayer adds a fresh layer to base, tagged in the same repository;
// regctl and skopeo have no append.
func (f *fixture) appendLayer(key, name string, base *seeded) op {
	layer := func(out string) string { return filepath.Join(out, "layer.tar") }
	dst := func(id string) string { return base.name + ":" + id }
	return op{key: key, name: name,
		prepare: func(out string, seq uint64) error { return writeLayerTar(layer(out), f.sc.appendSize, seq) },
		cmd: map[string]argv{
			"skiff": func(out, id string) []string { return []string{"append", "-f", layer(out), base.ref, dst(id)} },
			"crane": func(out, id string) []string {
				return []string{"append", "--insecure", "-b", base.ref, "-f", layer(out), "-t", dst(id)}
			},
		}}
}

// stderrOps pull the big image with stderr on a terminal, /dev/null and a
// pipe, and skiff's pull with each kind of progress, on a terminal.
func (f *fixture) stderrOps() []op {
	var ops []op
	for _, m := range stderrModes {
		o := f.pullTar("stderr-"+string(m), "pull big → docker tarball, stderr on "+m.describe(), f.big.ref, f.big.least(), "")
		o.group, o.stderr = groupStderr, m
		ops = append(ops, o)
	}
	file := func(out string) string { return filepath.Join(out, "image.tar") }
	for _, p := range progressKinds {
		ops = append(ops, op{key: "progress-" + p, name: "skiff pull --progress " + p, group: groupStderr,
			stderr: stderrTTY, minOut: f.big.least(), cmd: map[string]argv{
				"skiff": func(out, _ string) []string { return []string{"pull", "--progress", p, f.big.ref, file(out)} },
			}})
	}
	return ops
}

var progressKinds = []string{"none", "plain", "tty"}

// duSize is the number of bytes in the regular files under dir.
func duSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	return n, err
}

// emptyDir removes everything in dir.
func emptyDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.MkdirAll(dir, 0o755)
}
