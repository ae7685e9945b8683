package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/skiffoci/skiff/internal/progress"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
)

func init() { commands["copy"] = copyCommand }

var copyCommand = &command{
	summary: "copy an image between registries, OCI layouts and tarballs",
	usage:   "[flags] SRC DST",
	help: `SRC and DST are registry references or oci:DIR[:TAG], docker-archive:FILE[:REF],
oci-archive:FILE[:TAG]. Between registries, layers stream from one to the other and
never touch the disk; within one registry they are mounted, not copied.
A multi-platform index is copied whole unless --platform is given (naming every
platform copies it whole too, digest kept); a docker tarball holds one platform
(the host's unless --platform says otherwise). From a tarball, plain-tar layers
are gzip-compressed into a registry or a layout (--keep-uncompressed: as they are),
and an index whose platforms the tarball lacks gives the platforms it holds.
--oci-media-types stores Docker-typed images with OCI media types (new digests),
for tools that read only those from a layout (umoci, and skopeo up to at least
1.9).
Between registries, a blob of --range-min (32 MiB) or more starts as one stream
and is timed: when the upload waited for it at least half of each of two tenths of
a second running, for bytes that came at less than 100 MB/s (one connection to
the source held back by a long link or a CDN's cap), the rest is read as bounded
ranges over 4 connections into at most 6.5 MiB of memory, and uploaded in order,
as one stream: a 128 MiB layer through a link that caps each connection at 25 MB/s is
copied in 2.6 s instead of 6.2 s. From a source faster than the upload nothing
changes. --range-min 0 keeps every blob in one stream. Into a tarball or a
layout it goes as "skiff pull --help" says.
An interrupted copy continues when run again: blobs the destination has are
skipped, and a layout or archive destination resumes a blob cut short from
its last checkpoint (see "skiff pull --help").
--referrers carries what refers to the image (signatures, attestations, SBOMs,
through the referrers API and cosign's tags) into a registry, an OCI layout or
an oci-archive FILE, and out of any of them. An oci-archive written with it is a
tar of an OCI layout holding every platform asked for and the referrers, as
skopeo and umoci read it; it is assembled in ".FILE.layout.skiff-partial" beside
FILE (the image's size again, removed when the archive is named; an interrupted
run continues from it). A docker-archive holds images only.

examples:
  skiff copy ghcr.io/o/app:1.0 registry.example.com/app:1.0
  skiff copy --platform linux/arm64 alpine:3.20 oci:alpine-arm:3.20
  skiff copy docker-archive:app.tar localhost:5000/app:dev
  skiff copy --referrers ghcr.io/o/app:1.0 oci:mirror:1.0    # with its signatures and SBOMs
  skiff copy --referrers ghcr.io/o/app:1.0 oci-archive:app-signed.tar`,
	run: runCopy,
}

func runCopy(ctx context.Context, e *env, args []string) error {
	var o options
	fs := newFlagSet(e, "copy")
	o.register(fs)
	o.registerZstd(fs)
	o.registerKeepUncompressed(fs)
	fs.StringVar(&o.platform, "platform", "", "`OS/ARCH[/VARIANT]` to copy from an index (comma-separated list, or all)")
	o.registerWrite(fs)
	o.registerRanges(fs)
	allPlatforms := fs.Bool("all-platforms", false, "copy every platform of an index (the default unless DST is a tarball)")
	fs.BoolVar(&o.referrers, "referrers", false, "copy signatures, attestations and SBOMs too: what the referrers API lists and cosign's sha256-DIGEST.sig/.att/.sbom tags, recursively")
	o.registerOCIMediaTypes(fs)
	o.registerVerifyKey(fs)
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if *allPlatforms {
		if o.platform != "" {
			return usagef("--all-platforms and --platform disagree")
		}
		o.platform = "all"
	}
	if fs.NArg() != 2 {
		return usagef("want SRC and DST, got %d arguments", fs.NArg())
	}
	src, err := parseLocation(fs.Arg(0))
	if err != nil {
		return err
	}
	dst, err := parseLocation(fs.Arg(1))
	if err != nil {
		return err
	}
	if o.referrers && dst.Kind == images.KindDockerArchive {
		return usagef("--referrers copies to a registry, an OCI layout or an oci-archive; a docker tarball holds images only")
	}
	if o.ociMediaTypes && (o.referrers || dst.Kind != images.KindRegistry && dst.Kind != images.KindOCI) {
		return usagef("--oci-media-types converts what goes into a registry or an OCI layout, without --referrers (signatures name the digests it changes)")
	}
	if o.referrers && dst.Kind == images.KindOCIArchive && dst.Path == "-" {
		return usagef("--referrers writes an oci-archive to a file, not to standard output")
	}
	if o.platform == "" && !oneImageEach(dst, &o) {
		o.platform = "all"
	}
	return transfer(ctx, e, &o, []images.Location{src}, dst)
}

// oneImageEach reports whether dst holds one platform of each image: a
// docker tarball, and an oci-archive but with --referrers.
func oneImageEach(dst images.Location, o *options) bool {
	return dst.Kind == images.KindDockerArchive || dst.Kind == images.KindOCIArchive && !o.referrers
}

// errNeedsPlatform is returned when an index must be narrowed to one
// manifest and no platform was given.
var errNeedsPlatform = errors.New("a docker tarball holds single-platform images; choose one with --platform")

// transfer copies the images at srcs to dst and reports what it did.
func transfer(ctx context.Context, e *env, o *options, srcs []images.Location, dst images.Location) error {
	platforms, err := o.platforms()
	if err != nil {
		return err
	}
	if oneImageEach(dst, o) && len(platforms) != 1 {
		return errNeedsPlatform
	}
	opts, display, err := o.transferSetup(e, &dst, append([]images.Location{dst}, srcs...)...)
	if err != nil {
		return err
	}
	defer display.Close()
	var opened []*images.Source
	defer func() {
		for _, s := range opened {
			s.Close()
		}
	}()
	// Stopped before the transfer began (SIGINT while a manifest was on
	// its way), a run says so as one stopped during it does, not with
	// the error the cancelled request got.
	stopped := func(err error) error {
		if ctx.Err() != nil {
			return resumeHint(ctx, err, dst)
		}
		return err
	}
	images.Preconnect(ctx, srcs, dst, opts)
	for _, l := range srcs {
		s, err := images.OpenSource(ctx, l, opts)
		if err != nil {
			return stopped(err)
		}
		opened = append(opened, s)
	}
	if err := verifySources(ctx, e, o, opened, platforms); err != nil {
		return stopped(err)
	}
	root, err := images.Transfer(ctx, opened, dst, opts)
	if err != nil {
		return resumeHint(ctx, err, dst)
	}
	if !o.quiet {
		for _, s := range opened {
			fmt.Fprintf(e.stderr, "skiff: copied %s to %s\n", s.Location, dst)
		}
		if !oneImageEach(dst, o) {
			fmt.Fprintln(e.stdout, root.Digest)
		}
	}
	return nil
}

// transferOptions are the options of images.Transfer the flags set.
// transferSetup makes what every command that moves images needs: a
// client for the hosts of locs, the upload states of resumed pushes when
// dst is a registry (dst is one of locs, or nil when nothing is pushed),
// the progress display, and the transfer options over them. The caller
// closes the display.
func (o *options) transferSetup(e *env, dst *images.Location, locs ...images.Location) (*images.Options, *progress.Display, error) {
	c, err := o.client(e, hostsOf(locs...))
	if err != nil {
		return nil, nil, err
	}
	if dst != nil && dst.Kind == images.KindRegistry {
		if err := o.uploadStates(e, c); err != nil {
			return nil, nil, err
		}
	}
	display, err := o.display(e)
	if err != nil {
		return nil, nil, err
	}
	return o.transferOptions(e, c, display), display, nil
}

func (o *options) transferOptions(e *env, c *registry.Client, display *progress.Display) *images.Options {
	opts := &images.Options{Client: c, Jobs: o.jobs, Referrers: o.referrers, OCIMediaTypes: o.ociMediaTypes,
		KeepUncompressed: o.keepUncompressed, MaxZstdWindow: o.maxZstdWindow(), Sync: o.fsync, Fresh: o.noResume,
		PartialMaxAge: o.partialMaxAge, Stdout: e.stdout, AsDirectory: o.noTar, RangeMin: o.rangeMinBytes}
	if o.partialMaxAge == 0 {
		opts.PartialMaxAge = time.Nanosecond // --partial-max-age 0: every one; images' zero is its default
	}
	if o.platform != "" && o.platform != "all" {
		opts.Platforms, _ = o.platforms()
	}
	if display.Mode() != progress.Off {
		opts.Progress = display.Event
	}
	opts.Notes = func(line string) { e.note(o, "skiff: %s\n", line) }
	return opts
}

// note prints a diagnostic on stderr unless --quiet.
func (e *env) note(o *options, format string, args ...any) {
	if !o.quiet {
		fmt.Fprintf(e.stderr, format, args...)
	}
}

// resumeHint turns the error of a transfer to dst into one that says how
// to continue: a stopped run (SIGINT, SIGTERM) is reported as such, and
// one that kept what arrived says so.
func resumeHint(ctx context.Context, err error, dst images.Location) error {
	kept := dst.Resumable()
	switch {
	case ctx.Err() != nil && kept:
		return errors.New("interrupted; run the same command again to continue from what arrived")
	case ctx.Err() != nil:
		return errors.New("interrupted")
	case kept && dst.Kind != images.KindRegistry:
		return fmt.Errorf("%w (what arrived is kept: run the same command again to continue)", err)
	}
	return err
}
