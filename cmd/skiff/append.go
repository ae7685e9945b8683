package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/tarball"
)

func init() { commands["append"] = appendCommand }

var appendCommand = &command{
	summary: "append a tar of files as a new layer, without pulling the base image",
	usage:   "[flags] [-f FILE|-] [--base SRC] DST   or   skiff append [flags] SRC DST",
	help: `The layer is a tar stream, read from stdin unless -f names a file. A gzip'd or
zstd'd tar is sent as it is (its diffID computed while it streams); a plain tar is
gzip'd. A zstd layer makes the new image OCI, as Docker's schema 2 has no zstd layer.
Only the base's manifest and config are read. When DST is in the same repository, base
layers are already there; in another repository on the same registry they are mounted;
on another registry they stream from one to the other and never touch the disk.
The new image's digest is printed on stdout. SOURCE_DATE_EPOCH fixes the timestamps.

examples:
  tar -C rootfs -c . | skiff append ghcr.io/o/base:1 ghcr.io/o/app:1
  skiff append -f extra.tar.gz registry.example.com/app:dev
  skiff append -f extra.tar.zst registry.example.com/app:dev
  skiff append --base alpine:3.20 -f app.tar localhost:5000/app:1
  tar -C rootfs -c . | skiff append --base scratch localhost:5000/hello:1`,
	run: runAppend,
}

func runAppend(ctx context.Context, e *env, args []string) error {
	var o options
	var file, baseName string
	fs := newFlagSet(e, "append")
	o.register(fs)
	o.registerZstd(fs)
	fs.StringVar(&o.platform, "platform", "", "`OS/ARCH[/VARIANT]` to take from a multi-platform base (default: this machine's)")
	fs.StringVar(&file, "f", "-", "the layer's tar, tar.gz or tar.zst `FILE` (\"-\" for stdin)")
	fs.StringVar(&baseName, "base", "", "the base image `SRC` (default: DST itself; \"scratch\" for none)")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	srcName, dstName, err := appendArgs(fs.Args(), baseName)
	if err != nil {
		return err
	}
	b, dst, layer, ahead, err := startAppend(ctx, e, &o, srcName, dstName, file)
	if err != nil {
		return err
	}
	defer layer.Remove()
	when, err := sourceDate(e)
	if err != nil {
		return err
	}
	if when == nil {
		now := time.Now().UTC()
		when = &now
	}
	img, err := b.img.AppendLayer(layer, manifest.History{Created: when, CreatedBy: "skiff append", Comment: "appended by skiff"})
	if err != nil {
		return err
	}
	// The layer went up (or is going up) while the base was read: the
	// config goes up meanwhile, and the manifest waits for both.
	digest, err := pushEditedWith(ctx, b, img, dst, &images.WriteOptions{Jobs: o.jobs,
		Stored: []manifest.Digest{layer.Desc.Digest},
		Wait: func() error {
			if err := <-ahead; err != nil {
				return pushLayer(ctx, b.dst, layer) // once more, as Write would have
			}
			return nil
		}})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, digest)
	return nil
}

// startAppend loads the base and builds the new layer at the same time,
// and pushes the layer as soon as it is built, while the base is still
// being read: the layer's bytes do not depend on the base, only its media
// type's name does (Docker's or OCI's for the same gzip; a zstd layer
// makes the image OCI: AppendLayer sees to it). The returned channel gives
// the early push's result (nil: the destination has the layer). When
// stdin carries the password, the layer is read after it.
func startAppend(ctx context.Context, e *env, o *options, srcName, dstName, file string) (*base, reference.Reference, *tarball.Layer, <-chan error, error) {
	if o.passwordStdin && file == "-" {
		return nil, reference.Reference{}, nil, nil, usagef("stdin cannot carry both the password and the layer: give the layer with -f FILE")
	}
	buildCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var layer *tarball.Layer
	var buildErr error
	built := make(chan struct{})
	go func() {
		defer close(built)
		layer, buildErr = buildLayer(buildCtx, e, file, &tarball.LayerOptions{MediaType: manifest.MediaTypeOCILayerGzip, MaxZstdWindow: o.maxZstdWindow()})
	}()
	pushed := make(chan error, 1)
	pushCtx, stopPush := context.WithCancel(ctx)
	started := false
	ahead := func(dst *registry.Repository) {
		started = true
		go func() {
			defer stopPush()
			<-built
			if buildErr != nil {
				pushed <- buildErr
				return
			}
			pushed <- pushLayer(pushCtx, dst, layer)
		}()
	}
	b, dst, err := startEditWith(ctx, e, o, srcName, dstName, 2, ahead)
	if err != nil {
		cancel()
	}
	<-built
	if err == nil {
		err = buildErr
	}
	if err != nil {
		stopPush()
		if started {
			<-pushed // the early push has let go of the layer
		}
		if b != nil {
			b.dst.DiscardUploads(ctx)
		}
		if layer != nil {
			layer.Remove()
		}
		return nil, dst, nil, nil, err
	}
	return b, dst, layer, pushed, nil
}

// pushLayer puts the built layer in dst.
func pushLayer(ctx context.Context, dst *registry.Repository, l *tarball.Layer) error {
	rc, err := l.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	return dst.Push(ctx, l.Desc, rc)
}

// appendArgs reads "DST", "SRC DST" or "--base SRC DST".
func appendArgs(args []string, baseName string) (src, dst string, err error) {
	switch {
	case len(args) == 1 && baseName == "":
		return args[0], args[0], nil
	case len(args) == 1:
		return baseName, args[0], nil
	case len(args) == 2 && baseName == "":
		return args[0], args[1], nil
	}
	return "", "", usagef("want DST, or SRC DST, or --base SRC DST")
}

// buildLayer reads the layer's tar stream from file (or stdin) into a
// temporary layer file with its digests; a regular file is used where it
// lies, not copied.
func buildLayer(ctx context.Context, e *env, file string, opts *tarball.LayerOptions) (*tarball.Layer, error) {
	var r io.Reader = e.stdin
	if fi, err := os.Stat(file); file != "-" && err == nil && fi.Mode().IsRegular() {
		l, err := tarball.LayerFromFile(ctx, file, opts)
		if err != nil {
			return nil, fmt.Errorf("reading the layer: %w", err)
		}
		return l, nil
	}
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	l, err := tarball.LayerFromTar(ctx, r, opts)
	if err != nil {
		return nil, fmt.Errorf("reading the layer: %w", err)
	}
	return l, nil
}
