package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/tarball"
)

func init() {
	commands["blob"] = blobCommand
	commands["export"] = exportCommand
}

var blobCommand = &command{
	summary: "download one blob (a layer or a config) by digest, verified",
	usage:   "[flags] REPO@DIGEST [FILE|-]",
	help: `REPO@DIGEST names the blob in a registry repository; oci:DIR@DIGEST names it in
an OCI layout. The bytes are checked against the digest as they arrive. To FILE they
go to a temporary file beside it, renamed to FILE only once verified: on a mismatch
nothing is left. Without FILE, or with "-", they go to stdout (where a mismatch is
reported after the bytes, with exit status 1).

examples:
  skiff blob alpine@sha256:… layer.tar.gz
  skiff blob localhost:5000/app@sha256:… - | tar tz
  skiff blob oci:app-layout@sha256:… config.json`,
	run: runBlob,
}

var exportCommand = &command{
	summary: "write an image's flattened filesystem as one tar",
	usage:   "[flags] REF [FILE|-]",
	help: `REF is a registry reference or oci:DIR[:TAG], docker-archive:FILE[:REF],
oci-archive:FILE[:TAG]. The layers (plain, gzip or zstd) are applied in order,
whiteouts removed, and the result written as a plain tar, layers streaming in one at
a time (nothing is extracted). From an index, --platform chooses (this machine's by default). To FILE
the tar goes to a temporary file, renamed once complete; without FILE, or with "-",
to stdout.

examples:
  skiff export alpine:3.20 rootfs.tar
  skiff export --platform linux/arm64 ghcr.io/o/app:1.0 - | tar t
  skiff export oci:app-layout:1.0 app-rootfs.tar`,
	run: runExport,
}

func runBlob(ctx context.Context, e *env, args []string) error {
	var o options
	fs := newFlagSet(e, "blob")
	o.register(fs)
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return usagef("want REPO@DIGEST [FILE|-], got %d arguments", fs.NArg())
	}
	out, err := inspectOutput(e, fs.Args())
	if err != nil {
		return err
	}
	src, desc, err := blobSource(fs.Arg(0))
	if err != nil {
		return err
	}
	c, err := o.client(e, hostsOf(src))
	if err != nil {
		return err
	}
	var fetcher manifest.Fetcher
	if src.Kind == images.KindOCI {
		if fetcher, err = layout.Open(src.Path); err != nil {
			return err
		}
	} else {
		fetcher = c.Repository(src.Ref)
	}
	return inspectWrite(e, out, func(w io.Writer) error {
		rc, err := fetcher.Fetch(ctx, desc)
		if err != nil {
			return err
		}
		defer rc.Close()
		_, err = io.Copy(w, rc)
		return err
	})
}

// blobSource reads REPO@DIGEST or oci:DIR@DIGEST.
func blobSource(arg string) (images.Location, manifest.Descriptor, error) {
	if rest, ok := strings.CutPrefix(arg, string(images.KindOCI)+":"); ok {
		i := strings.LastIndexByte(rest, '@')
		if i <= 0 {
			return images.Location{}, manifest.Descriptor{}, usagef("%q: want oci:DIR@DIGEST", arg)
		}
		d, err := manifest.ParseDigest(rest[i+1:])
		return images.Location{Kind: images.KindOCI, Path: rest[:i]}, blobDesc(d), err
	}
	ref, err := reference.Parse(arg)
	if err != nil {
		return images.Location{}, manifest.Descriptor{}, err
	}
	if ref.Digest == "" {
		return images.Location{}, manifest.Descriptor{}, usagef("%q names no digest: want REPO@DIGEST", arg)
	}
	return registryLocation(ref), blobDesc(manifest.Digest(ref.Digest)), nil
}

// blobDesc describes a blob known only by digest: its size is learned
// from the response and its bytes checked against the digest.
func blobDesc(d manifest.Digest) manifest.Descriptor {
	return manifest.Descriptor{MediaType: "application/octet-stream", Digest: d, Size: manifest.SizeUnknown}
}

// inspectOutput returns the optional FILE after the first argument, "-" when
// absent; binary data is not written to a terminal.
func inspectOutput(e *env, args []string) (string, error) {
	out := "-"
	if len(args) == 2 {
		out = args[1]
	}
	if out == "-" && isTerminal(e.stdout) {
		return "", usagef("stdout is a terminal: name a FILE, or redirect stdout")
	}
	return out, nil
}

func runExport(ctx context.Context, e *env, args []string) error {
	var o options
	fs := newFlagSet(e, "export")
	o.register(fs)
	o.registerZstd(fs)
	fs.StringVar(&o.platform, "platform", "", "`OS/ARCH[/VARIANT]` to export from a multi-platform index (default: this machine's)")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return usagef("want REF [FILE|-], got %d arguments", fs.NArg())
	}
	out, err := inspectOutput(e, fs.Args())
	if err != nil {
		return err
	}
	p, err := inspectPlatform(&o)
	if err != nil {
		return err
	}
	src, err := openInspected(ctx, e, &o, fs.Arg(0))
	if err != nil {
		return err
	}
	defer src.Close()
	doc, err := src.Manifest(ctx, p)
	if err != nil {
		return err
	}
	layers := inspectLayers(ctx, src.Store, doc.Manifest.Layers)
	return inspectWrite(e, out, func(w io.Writer) error {
		if err := tarball.Flatten(ctx, w, layers, &tarball.ExportOptions{MaxZstdWindow: o.maxZstdWindow()}); err != nil {
			return fmt.Errorf("%s: %w", src.Location, err)
		}
		return nil
	})
}

// inspectLayers fetches each layer only when Flatten opens it.
func inspectLayers(ctx context.Context, f manifest.Fetcher, layers []manifest.Descriptor) []tarball.Opener {
	out := make([]tarball.Opener, len(layers))
	for i, d := range layers {
		out[i] = func() (io.ReadCloser, error) { return f.Fetch(ctx, d) }
	}
	return out
}
