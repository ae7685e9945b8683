package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/skiffoci/skiff/internal/progress"
	"github.com/skiffoci/skiff/internal/resume"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/tarball"
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
	if o.referrers && (dst.kind == kindDockerArchive || dst.kind == kindDirectory) {
		return usagef("--referrers copies to a registry, an OCI layout or an oci-archive; a docker tarball holds images only")
	}
	if o.ociMediaTypes && (o.referrers || dst.kind != kindRegistry && dst.kind != kindOCI) {
		return usagef("--oci-media-types converts what goes into a registry or an OCI layout, without --referrers (signatures name the digests it changes)")
	}
	if o.referrers && dst.kind == kindOCIArchive && dst.path == "-" {
		return usagef("--referrers writes an oci-archive to a file, not to standard output")
	}
	if o.platform == "" && dst.kind != kindDockerArchive && (dst.kind != kindOCIArchive || o.referrers) {
		o.platform = "all"
	}
	return transfer(ctx, e, &o, []location{src}, dst)
}

// transfer copies the images at srcs to dst and reports what it did.
func transfer(ctx context.Context, e *env, o *options, srcs []location, dst location) error {
	c, err := o.client(e, hostsOf(append([]location{dst}, srcs...)))
	if err != nil {
		return err
	}
	if dst.kind == kindRegistry {
		if err := o.uploadStates(e, c); err != nil {
			return err
		}
	}
	platforms, err := o.platforms()
	if err != nil {
		return err
	}
	display, err := o.display(e)
	if err != nil {
		return err
	}
	defer display.Close()
	var opened []*source
	defer func() {
		for _, s := range opened {
			s.close()
		}
	}()
	for _, l := range srcs {
		s, err := openSource(ctx, c, l, o)
		if err != nil {
			return err
		}
		opened = append(opened, s)
	}
	if err := verifySources(ctx, e, o, opened, platforms); err != nil {
		return err
	}
	for _, s := range opened {
		if err := fromArchive(ctx, e, o, s, dst, platforms); err != nil {
			return err
		}
	}
	var root manifest.Descriptor
	switch {
	case dst.kind == kindOCIArchive && o.referrers:
		if len(opened) != 1 {
			return usagef("--referrers writes one image to an oci-archive")
		}
		root, err = writeLayoutArchive(ctx, c, opened[0], dst, platforms, o, display)
	case dst.kind == kindDockerArchive, dst.kind == kindOCIArchive, dst.kind == kindDirectory:
		err = writeArchive(ctx, e, o, opened, dst, platforms, display)
	default:
		if len(opened) != 1 {
			return usagef("only a tarball takes several images")
		}
		root, err = copyTo(ctx, c, opened[0], dst, platforms, o, display)
	}
	if err != nil {
		return resumeHint(ctx, err, dst)
	}
	if !o.quiet {
		for _, s := range opened {
			if s.converted != "" && s.converted != root.Digest {
				fmt.Fprintf(e.stderr, "skiff: converted %s to OCI media types (--oci-media-types): its digest is now %s (was %s)\n", s.loc, root.Digest, s.converted)
			}
			fmt.Fprintf(e.stderr, "skiff: copied %s to %s\n", s.loc, dst)
		}
		if root.Digest != "" {
			fmt.Fprintln(e.stdout, root.Digest)
		}
	}
	return nil
}

// copyTo copies one image to a registry or an OCI layout.
func copyTo(ctx context.Context, c *registry.Client, src *source, dst location, platforms []manifest.Platform, o *options, display *progress.Display) (manifest.Descriptor, error) {
	if dst.kind != kindRegistry {
		lay, err := openLayout(dst, o)
		if err != nil {
			return manifest.Descriptor{}, err
		}
		defer lay.Close()
		return copyToLayout(ctx, lay, dst.name, src, platforms, o, display)
	}
	repo := c.Repository(dst.ref)
	repo.WillPush()
	root, err := copyGraph(ctx, repo, dst.ref.Tag, src, platforms, o, display)
	if err == nil && dst.ref.Digest != "" && string(root.Digest) != dst.ref.Digest {
		err = fmt.Errorf("copied %s, but the destination names digest %s", root.Digest, dst.ref.Digest)
	}
	return root, err
}

// copyToLayout copies one image into lay, named tag (the source's tag
// when tag is ""), and then removes what interrupted copies into lay left.
func copyToLayout(ctx context.Context, lay *layout.Layout, tag string, src *source, platforms []manifest.Platform, o *options, display *progress.Display) (manifest.Descriptor, error) {
	if tag == "" {
		tag = defaultTag(src.loc)
	}
	root, err := copyGraph(ctx, lay, tag, src, platforms, o, display)
	if err == nil {
		lay.RemovePartials(0)
	}
	return root, err
}

// copyGraph copies the graph of src's image to store, named tag.
func copyGraph(ctx context.Context, store manifest.Store, tag string, src *source, platforms []manifest.Platform, o *options, display *progress.Display) (manifest.Descriptor, error) {
	g, err := walkFor(ctx, src, platforms, o)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	opts := &images.CopyOptions{Platforms: platforms, Jobs: o.jobs, Progress: display.Event, Referrers: o.referrers, Tag: tag}
	return g.Root.Descriptor(), images.CopyGraph(ctx, store, src.fetcher, g, opts)
}

// openLayout opens or creates the layout dst names, ready to copy into.
func openLayout(dst location, o *options) (*layout.Layout, error) {
	l, err := layout.Create(dst.path)
	if err != nil {
		return nil, err
	}
	if err := readyLayout(l, o); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// readyLayout sets l up to be copied into: its blobs flushed with
// --fsync, and the partial blobs in it that are too old to resume removed,
// or all of them with --no-resume.
func readyLayout(l *layout.Layout, o *options) error {
	l.SyncBlobs = o.fsync
	age := o.partialMaxAge
	if o.noResume {
		age = 0
	}
	_, err := l.RemovePartials(age)
	return err
}

// resumeHint turns the error of a transfer to dst into one that says how
// to continue: a stopped run (SIGINT, SIGTERM) is reported as such, and
// one that kept what arrived says so.
func resumeHint(ctx context.Context, err error, dst location) error {
	kept := dst.kind == kindRegistry || dst.kind == kindOCI
	if dst.kind != kindRegistry && dst.path != "-" {
		for _, name := range []string{dst.path, dst.path + layoutArchiveSuffix} {
			_, state := resume.Names(name)
			_, serr := os.Stat(state)
			kept = kept || serr == nil
		}
	}
	switch {
	case ctx.Err() != nil && kept:
		return errors.New("interrupted; run the same command again to continue from what arrived")
	case ctx.Err() != nil:
		return errors.New("interrupted")
	case kept && dst.kind != kindRegistry:
		return fmt.Errorf("%w (what arrived is kept: run the same command again to continue)", err)
	}
	return err
}

// defaultTag names an image copied into a layout without a tag: the
// source's tag, if it has one.
func defaultTag(l location) string {
	switch {
	case l.kind == kindRegistry:
		return l.ref.Tag
	case l.kind == kindOCI || l.kind == kindOCIArchive:
		return l.name
	}
	return ""
}

// writeArchive writes the images at srcs, one platform each, as one
// docker-load tarball (which is also an OCI archive).
func writeArchive(ctx context.Context, e *env, o *options, srcs []*source, dst location, platforms []manifest.Platform, display *progress.Display) error {
	if len(platforms) > 1 || platforms == nil {
		return errNeedsPlatform
	}
	var images []tarball.Image
	for _, s := range srcs {
		doc, err := singleManifest(ctx, s, platforms[0])
		if err != nil {
			return err
		}
		images = append(images, tarball.Image{Tags: archiveTags(s.loc, dst, len(srcs)), Manifest: doc, Fetcher: s.fetcher})
	}
	opts := &tarball.WriteOptions{Jobs: o.jobs, Sync: o.fsync, Fresh: o.noResume, PartialMaxAge: o.partialMaxAge}
	if display.Mode() != progress.Off {
		opts.Progress = display.Event
	}
	switch {
	case dst.path == "-":
		return tarball.Write(ctx, e.stdout, images, opts)
	case dst.kind == kindDirectory:
		return tarball.WriteDir(ctx, dst.path, images, opts)
	}
	return tarball.WriteFile(ctx, dst.path, images, opts)
}

// singleManifest fetches src's root and, if it is an index, the manifest
// in it for platform.
func singleManifest(ctx context.Context, s *source, platform manifest.Platform) (*manifest.Document, error) {
	doc, err := manifest.FetchDocument(ctx, s.fetcher, s.root)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.loc, err)
	}
	for depth := 0; doc.Index != nil; depth++ {
		if depth >= manifest.MaxDepth {
			return nil, fmt.Errorf("%s: index nesting deeper than %d", s.loc, manifest.MaxDepth)
		}
		d, err := manifest.SelectPlatform(doc.Index, platform)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.loc, err)
		}
		if doc, err = manifest.FetchDocument(ctx, s.fetcher, d); err != nil {
			return nil, fmt.Errorf("%s: %w", s.loc, err)
		}
	}
	return doc, nil
}

// archiveTags names an image in a tarball: the destination's reference
// when it gives one for a single image, else the source's name.
func archiveTags(src, dst location, n int) []string {
	if dst.name != "" && n == 1 {
		return []string{dst.name}
	}
	switch src.kind {
	case kindRegistry:
		return []string{src.ref.String()}
	case kindDockerArchive:
		if src.name != "" {
			return []string{src.name}
		}
	}
	return nil
}

// hostsOf lists the registry hosts among locs.
func hostsOf(locs []location) []string {
	var hosts []string
	for _, l := range locs {
		if l.kind == kindRegistry {
			hosts = append(hosts, l.ref.Registry)
			if l.ref.Registry == reference.DefaultRegistry {
				hosts = append(hosts, "registry-1.docker.io")
			}
		}
	}
	return hosts
}
