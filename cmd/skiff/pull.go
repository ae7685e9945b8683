package main

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry/images"
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

An interrupted pull (Ctrl-C, a lost link, a power cut) keeps what arrived in
.FILE.skiff-partial beside FILE, with checkpoints in .FILE.skiff-state; running
the same command again continues from there after hashing the kept bytes again
(damaged ones are fetched again). The partial file is as large as the tarball,
sparse where nothing arrived yet. A layout keeps partial blobs in its blobs/
directory the same way. A pull that succeeds removes them; --no-resume starts
over; partial files older than --partial-max-age are removed by later runs.

A blob of --range-min (32MiB) or more goes into the tarball or layout as
several bounded Range requests at once, each written where it belongs, so that
a long round trip or a CDN that caps each connection does not cap the pull: -j
bounds the connections of the whole pull, each blob holds one, and a large blob
borrows the free ones, range by range, adding connections while the throughput
grows (a one-layer image gets all of them; blobs waiting to start take them back
as ranges end). A registry that ignores Range gets one stream. An interrupted
ranged pull keeps every range.

examples:
  skiff pull debian
  skiff pull --platform linux/arm64 ghcr.io/o/app:1.0 app.tar
  skiff pull --format oci alpine:3.20 alpine-layout                    # every platform
  skiff pull --format oci --oci-media-types alpine:3.20 alpine-layout  # OCI types: every tool reads it
  skiff pull -o both.tar alpine:3.20 busybox:1.36
  skiff pull --no-tar --working-dir /srv/images debian:12`,
	run: runPull,
}

// pullFlags are pull's own flags.
type pullFlags struct {
	out, format, tarname, workDir string
	noTar                         bool
}

func runPull(ctx context.Context, e *env, args []string) error {
	var o options
	var f pullFlags
	fs := newFlagSet(e, "pull")
	o.register(fs)
	fs.StringVar(&f.tarname, "tarname", "", "name the tarball `NAME` (dockersave's flag; the same as FILE)")
	fs.StringVar(&f.workDir, "working-dir", "", "write the output in `DIR` (dockersave's flag)")
	o.registerWrite(fs)
	o.registerRanges(fs)
	fs.BoolVar(&f.noTar, "no-tar", false, "write the tarball's contents as a directory instead of a tar (dockersave's flag)")
	fs.StringVar(&o.platform, "platform", "", "`OS/ARCH[/VARIANT]` to save from an index, a comma-separated list, or \"all\" (default: this machine's; every platform for --format oci)")
	fs.StringVar(&f.out, "o", "", "write to `FILE` (\"-\" for stdout); every argument is then an image")
	fs.StringVar(&f.format, "format", "docker", "`docker` tarball, oci layout directory, or oci-archive tarball")
	o.registerOCIMediaTypes(fs)
	o.registerVerifyKey(fs)
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if f.format == "oci" && o.platform == "" {
		o.platform = "all" // a layout holds an index whole, as crane pull --format oci keeps it
	}
	if o.ociMediaTypes && f.format != "oci" {
		return usagef("--oci-media-types goes with --format oci")
	}
	srcs, err := f.sources(fs.Args())
	if err != nil {
		return err
	}
	if f.noTar {
		if f.format != "docker" || f.out == "-" {
			return usagef("--no-tar writes a directory: it does not go with --format %s or stdout", f.format)
		}
		o.noTar = true
		return transfer(ctx, e, &o, srcs, images.Location{Kind: images.KindDockerArchive, Path: strings.TrimSuffix(f.out, ".tar")})
	}
	dst, err := f.destination(len(srcs))
	if err != nil {
		return err
	}
	return transfer(ctx, e, &o, srcs, dst)
}

// sources reads "REF [FILE]" or "-o FILE REF...", and settles f.out.
func (f *pullFlags) sources(args []string) ([]images.Location, error) {
	if f.out == "" && len(args) == 2 {
		args, f.out = args[:1], args[1]
	}
	if len(args) == 0 || len(args) > 2 && f.out == "" {
		return nil, usagef("want REF [FILE], or -o FILE REF...")
	}
	if f.tarname != "" {
		if f.out != "" {
			return nil, usagef("--tarname and FILE both name the output")
		}
		f.out = f.tarname
	}
	var srcs []images.Location
	for _, a := range args {
		ref, err := reference.Parse(a)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, registryLocation(ref))
	}
	if f.out == "" {
		f.out = defaultFileName(srcs[0].Ref, f.format)
	}
	if f.workDir != "" && f.out != "-" && !filepath.IsAbs(f.out) {
		f.out = filepath.Join(f.workDir, f.out)
	}
	return srcs, nil
}

// destination is where --format puts n images.
func (f *pullFlags) destination(n int) (images.Location, error) {
	dst := images.Location{Kind: images.KindDockerArchive, Path: f.out}
	switch f.format {
	case "docker":
	case "oci-archive":
		dst.Kind = images.KindOCIArchive
	case "oci":
		if n != 1 {
			return dst, usagef("--format oci takes one image")
		}
		dst.Kind = images.KindOCI
	default:
		return dst, usagef("--format must be docker, oci or oci-archive")
	}
	return dst, nil
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
