//go:build linux

package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// argv builds a tool's arguments for one invocation. out is an empty
// directory for the output, id names the invocation ("crane-3") so that
// nothing a tool pushes was pushed before.
type argv func(out, id string) []string

// op is one operation timed for every tool that has it.
type op struct {
	key, name string
	cmd       map[string]argv // a tool without the operation is absent
	// prepare, if set, makes the invocation's input in out, untimed.
	prepare func(out string, seq uint64) error
	// minOut, if positive, is the least number of bytes the output in out
	// must hold: a check that the tool did the work.
	minOut int64
}

// fixture is what the operations work on: two registries, the images
// seeded into the first, and the big image as a tarball on disk.
type fixture struct {
	a, b    string // registry hosts
	big     *seeded
	tiny    *seeded
	index   *seeded
	tarball string
	sc      scale
}

// skopeo copies between transports; the registries are plain HTTP, and
// the private HOME has no policy.json.
func skopeoCopy(args ...string) []string {
	return append([]string{"--insecure-policy", "copy", "--src-tls-verify=false", "--dest-tls-verify=false"}, args...)
}

// regctl reaches plain-HTTP registries only when told per host.
func (f *fixture) regctl(args ...string) []string {
	return append([]string{"--host", "reg=" + f.a + ",tls=disabled", "--host", "reg=" + f.b + ",tls=disabled"}, args...)
}

func (f *fixture) ops() []op {
	return append([]op{
		f.pullTar("pull-tar", "pull big → docker tarball", f.big),
		f.pullOCI(),
		f.pullTar("pull-tiny", fmt.Sprintf("pull %d tiny layers → docker tarball", f.sc.tinyLayers), f.tiny),
		f.push(),
		f.copy("copy", "copy big, registry → registry", f.big.ref, "copy"),
		f.copy("copy-index", fmt.Sprintf("copy %d-platform index, registry → registry", len(f.sc.platforms)), f.index.ref, "copyidx"),
		f.appendLayer(),
	}, f.syncOps()...)
}

func (f *fixture) pullTar(key, name string, im *seeded) op {
	file := func(out string) string { return filepath.Join(out, "image.tar") }
	return op{key: key, name: name, minOut: im.size, cmd: map[string]argv{
		"skiff":  func(out, _ string) []string { return []string{"pull", im.ref, file(out)} },
		"crane":  func(out, _ string) []string { return []string{"pull", "--insecure", im.ref, file(out)} },
		"regctl": func(out, _ string) []string { return f.regctl("image", "export", im.ref, file(out)) },
		"skopeo": func(out, _ string) []string {
			return skopeoCopy("docker://"+im.ref, "docker-archive:"+file(out)+":"+im.ref)
		},
	}}
}

func (f *fixture) pullOCI() op {
	dir := func(out string) string { return filepath.Join(out, "layout") }
	return op{key: "pull-oci", name: "pull big → OCI layout", minOut: f.big.size, cmd: map[string]argv{
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

func (f *fixture) copy(key, name, src, repo string) op {
	dst := func(id string) string { return f.b + "/" + repo + "/" + id + ":1" }
	return op{key: key, name: name, cmd: map[string]argv{
		"skiff":  func(_, id string) []string { return []string{"copy", src, dst(id)} },
		"crane":  func(_, id string) []string { return []string{"copy", "--insecure", src, dst(id)} },
		"regctl": func(_, id string) []string { return f.regctl("image", "copy", src, dst(id)) },
		"skopeo": func(_, id string) []string {
			return skopeoCopy("--multi-arch", "all", "docker://"+src, "docker://"+dst(id))
		},
	}}
}

// appendLayer adds a fresh 1 MiB layer to the big image, tagged in the same
// repository; regctl and skopeo have no append.
func (f *fixture) appendLayer() op {
	layer := func(out string) string { return filepath.Join(out, "layer.tar") }
	dst := func(id string) string { return f.big.name + ":" + id }
	return op{key: "append", name: fmt.Sprintf("append %s to big, same repository", bytesIEC(int64(f.sc.appendSize))),
		prepare: func(out string, seq uint64) error { return writeLayerTar(layer(out), f.sc.appendSize, seq) },
		cmd: map[string]argv{
			"skiff": func(out, id string) []string { return []string{"append", "-f", layer(out), f.big.ref, dst(id)} },
			"crane": func(out, id string) []string {
				return []string{"append", "--insecure", "-b", f.big.ref, "-f", layer(out), "-t", dst(id)}
			},
		}}
}

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
