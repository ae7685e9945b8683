package main

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/skiffoci/skiff/reference"
)

func init() { commands["pull"] = pullCommand }

var pullCommand = &command{
	summary: "save images from a registry as a docker-load tarball or an OCI layout",
	usage:   "[flags] REF [FILE]   or   skiff pull [flags] -o FILE REF...",
	help: `With no FILE, the tarball is named after the image, as dockersave does:
library-debian-latest.tar for debian. FILE "-" writes the tarball to stdout.
The tarball is what "docker load", "podman load" and skopeo's docker-archive: read;
it is also an OCI image layout in a tar (the shape Docker 25 writes).
Nothing is left under FILE unless the whole image arrived and was verified.

examples:
  skiff pull debian
  skiff pull --platform linux/arm64 ghcr.io/o/app:1.0 app.tar
  skiff pull --format oci alpine:3.20 alpine-layout
  skiff pull -o both.tar alpine:3.20 busybox:1.36
  skiff pull --no-tar --working-dir /srv/images debian:12`,
	run: runPull,
}

func runPull(ctx context.Context, e *env, args []string) error {
	var o options
	var out, format, tarname, workDir string
	var noTar bool
	fs := newFlagSet(e, "pull")
	o.register(fs)
	fs.StringVar(&tarname, "tarname", "", "name the tarball `NAME` (dockersave's flag; the same as FILE)")
	fs.StringVar(&workDir, "working-dir", "", "write the output in `DIR` (dockersave's flag)")
	fs.BoolVar(&o.fsync, "fsync", false, "flush the tarball to stable storage before naming it (slower; survives a power loss)")
	fs.BoolVar(&noTar, "no-tar", false, "write the tarball's contents as a directory instead of a tar (dockersave's flag)")
	fs.StringVar(&o.platform, "platform", "", "`OS/ARCH[/VARIANT]` to save from an index (default: this machine's; \"all\" for --format oci)")
	fs.StringVar(&out, "o", "", "write to `FILE` (\"-\" for stdout); every argument is then an image")
	fs.StringVar(&format, "format", "docker", "`docker` tarball, oci layout directory, or oci-archive tarball")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	refs := fs.Args()
	if out == "" && len(refs) == 2 {
		refs, out = refs[:1], refs[1]
	}
	if len(refs) == 0 || len(refs) > 2 && out == "" {
		return usagef("want REF [FILE], or -o FILE REF...")
	}
	if tarname != "" {
		if out != "" {
			return usagef("--tarname and FILE both name the output")
		}
		out = tarname
	}
	var srcs []location
	for _, r := range refs {
		ref, err := reference.Parse(r)
		if err != nil {
			return err
		}
		srcs = append(srcs, location{kind: kindRegistry, ref: ref})
	}
	if out == "" {
		out = defaultFileName(srcs[0].ref, format)
	}
	if workDir != "" && out != "-" && !filepath.IsAbs(out) {
		out = filepath.Join(workDir, out)
	}
	if noTar {
		if format != "docker" || out == "-" {
			return usagef("--no-tar writes a directory: it does not go with --format %s or stdout", format)
		}
		return pullToDirectory(ctx, e, &o, srcs, strings.TrimSuffix(out, ".tar"))
	}
	dst := location{kind: kindDockerArchive, path: out}
	switch format {
	case "docker":
	case "oci-archive":
		dst.kind = kindOCIArchive
	case "oci":
		if len(srcs) != 1 {
			return usagef("--format oci takes one image")
		}
		dst.kind = kindOCI
	default:
		return usagef("--format must be docker, oci or oci-archive")
	}
	return transfer(ctx, e, &o, srcs, dst)
}

// defaultFileName names the output after the image, as dockersave does:
// "library-debian-latest.tar" for debian.
func defaultFileName(ref reference.Reference, format string) string {
	id := ref.Tag
	if ref.Digest != "" {
		id = strings.ReplaceAll(ref.Digest, ":", "-")[:min(len(ref.Digest), 19)]
	}
	name := strings.ReplaceAll(ref.Repository, "/", "-") + "-" + id
	if format == "oci" {
		return name
	}
	return name + ".tar"
}
