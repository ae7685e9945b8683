package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"strings"

	"github.com/skiffoci/skiff/internal/resume"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
)

func init() {
	commands["index"] = indexCommand
	subcommands["index create"] = indexCreateCommand
	subcommands["index add"] = indexAddCommand
	subcommands["index remove"] = indexRemoveCommand
	subcommands["index annotate"] = indexAnnotateCommand
}

var indexCommand = &command{
	summary: "assemble and edit multi-platform images (create, add, remove, annotate)",
	usage:   "create|add|remove|annotate [flags] DST ...",
	help: `"skiff index create DST SRC..." makes DST a multi-platform image of the SRC images;
"skiff index add DST SRC..." adds them to DST (made when absent); "skiff index remove"
and "skiff index annotate" edit one. Run "skiff index create --help" (or add, remove,
annotate) for their flags.

examples:
  skiff index create ghcr.io/o/app:1 ghcr.io/o/app:1-amd64 ghcr.io/o/app:1-arm64
  skiff index add ghcr.io/o/app:1 ghcr.io/o/app:1-riscv64
  skiff index remove ghcr.io/o/app:1 --platform linux/arm/v6
  skiff index annotate ghcr.io/o/app:1 --annotation org.opencontainers.image.version=1.0`,
	run: runIndex,
}

const indexSources = `SRC is any image skiff reads: a registry reference, oci:DIR[:TAG], docker-archive:FILE[:REF]
or oci-archive:FILE[:TAG]. Each image's platform comes from its config (os, architecture,
variant, os.version, os.features); a SRC that is itself an index brings its entries
(those of --platform, when given). Only manifests and configs are read. The images are
stored in DST's repository first -- mounted within one registry, streamed across
registries, skipped when there -- and the index last. DST is a registry reference or
oci:DIR:TAG. The index's digest is printed on stdout; --dry-run prints the index
itself and stores nothing.`

var indexCreateCommand = &command{
	summary: "make a multi-platform image of images built anywhere",
	usage:   "[flags] DST SRC...",
	help: indexSources + `

The index is OCI unless every image is Docker-typed (then a Docker manifest list, if
it has no --annotation or --artifact-type); --media-type chooses. Two images of one
platform are refused unless --allow-duplicate-platforms. An index already at DST is
replaced (see "skiff index add" to add to it).

examples:
  skiff index create ghcr.io/o/app:1 ghcr.io/o/app:1-amd64 ghcr.io/o/app:1-arm64
  skiff index create --platform linux/amd64,linux/arm64 localhost:5000/alpine:3.20 alpine:3.20
  skiff index create oci:out:1 docker-archive:amd64.tar oci-archive:arm64.tar`,
	run: runIndexCreate,
}

var indexAddCommand = &command{
	summary: "add images to a multi-platform image, replacing their platforms' entries",
	usage:   "[flags] DST SRC...",
	help: indexSources + `

DST is made when it does not exist. An image replaces the entry of its platform (and
that entry's attestations); --keep keeps both. Several jobs may add to one tag at
once: after pushing, skiff reads the tag back and, if another job's push replaced its
own, adds again to what is there, with random waits, up to 8 times. Jobs that use
other tools, which do not read back, can still undo an add.

examples:
  skiff index add ghcr.io/o/app:1 ghcr.io/o/app:1-riscv64
  skiff index add --platform linux/s390x ghcr.io/o/app:1 ghcr.io/o/app:nightly`,
	run: runIndexAdd,
}

var indexRemoveCommand = &command{
	summary: "remove a platform, or an entry by digest, from a multi-platform image",
	usage:   "[flags] DST --platform P | --digest D",
	help: `Removes the entries of --platform (linux/arm64 is every variant of it), or the entry
of --digest, and their attestations, then pushes the index as "skiff index add" does,
converging with other jobs editing the tag. The new digest is printed on stdout.

examples:
  skiff index remove ghcr.io/o/app:1 --platform linux/arm/v6
  skiff index remove oci:out:1 --digest sha256:…`,
	run: runIndexRemove,
}

var indexAnnotateCommand = &command{
	summary: "set annotations on a multi-platform image or one of its platforms",
	usage:   "[flags] DST [--platform P] --annotation K=V...",
	help: `Sets the annotations on the index itself, or with --platform on that platform's entry;
K= removes an annotation. A Docker manifest list has no annotations of its own: make
it an OCI index first ("skiff index create --media-type oci DST DST"). The index is
pushed as "skiff index add" does; the new digest is printed on stdout.

examples:
  skiff index annotate ghcr.io/o/app:1 --annotation org.opencontainers.image.version=1.0
  skiff index annotate ghcr.io/o/app:1 --platform linux/arm64 --annotation com.example.runner=arm-3`,
	run: runIndexAnnotate,
}

func runIndex(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		if cmd := subcommands["index "+args[0]]; cmd != nil {
			return cmd.run(ctx, e, args[1:])
		}
	}
	if err := parse(e, newFlagSet(e, "index"), args); err != nil {
		return err // --help lands here
	}
	return usagef("the subcommands are create, add, remove and annotate")
}

// indexFlags are the flags the index subcommands share.
type indexFlags struct {
	o           options
	platforms   string
	annotations listFlag
	dryRun      bool
	display     interface{ Close() }
}

// close stops the progress display setup started.
func (f *indexFlags) close() {
	if f.display != nil {
		f.display.Close()
	}
}

// register adds the shared flags; sources adds those of commands that
// read SRC images.
func (f *indexFlags) register(fs *flag.FlagSet, sources bool) {
	f.o.register(fs)
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the index and store nothing")
	if sources {
		f.o.registerZstd(fs)
		f.o.registerKeepUncompressed(fs)
		fs.StringVar(&f.platforms, "platform", "", "take only these `OS/ARCH[/VARIANT]`s (comma-separated) from SRCs that are indexes")
	}
}

// setup builds the options of images' calls for DST and the SRCs.
func (f *indexFlags) setup(e *env, dst string, srcs []string) (images.Location, *images.Options, error) {
	d, err := parseLocation(dst)
	if err != nil {
		return d, nil, err
	}
	if d.Kind != images.KindRegistry && d.Kind != images.KindOCI {
		return d, nil, usagef("DST %s: an index goes to a registry or an oci: layout", dst)
	}
	locs := []images.Location{d}
	for _, s := range srcs {
		l, err := parseLocation(s)
		if err != nil {
			return d, nil, err
		}
		locs = append(locs, l)
	}
	pushed := &d
	if f.dryRun {
		pushed = nil
	}
	f.o.partialMaxAge = resume.DefaultMaxAge // a layout's partial blobs of other copies stay
	opts, display, err := f.o.transferSetup(e, pushed, locs...)
	if err != nil {
		return d, nil, err
	}
	f.display = display
	opts.Platforms = nil
	return d, opts, nil
}

// filter parses --platform: the platforms to take from indexes.
func (f *indexFlags) filter() ([]manifest.Platform, error) {
	if f.platforms == "" {
		return nil, nil
	}
	var out []manifest.Platform
	for _, s := range strings.Split(f.platforms, ",") {
		p, err := manifest.ParsePlatform(strings.TrimSpace(s))
		if err != nil {
			return nil, usagef("--platform: %v", err)
		}
		out = append(out, p)
	}
	return out, nil
}

// parseAnnotations reads K=V pairs; K= removes K.
func parseAnnotations(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("--annotation %q: want KEY=VALUE", kv)
		}
		m[k] = v
	}
	return m, nil
}

// openSources opens the SRC images as one index; keepFlag names the
// flag that keeps both of two images of one platform.
func (f *indexFlags) openSources(ctx context.Context, srcs []string, dup images.Duplicates, keepFlag string, opts *images.Options) (*images.Index, error) {
	platforms, err := f.filter()
	if err != nil {
		return nil, err
	}
	ix, err := images.NewIndexFrom(ctx, srcs, &images.AddOptions{Duplicates: dup, Platforms: platforms}, opts)
	if errors.Is(err, images.ErrDuplicatePlatform) {
		return nil, fmt.Errorf("%w (%s keeps both)", err, keepFlag)
	}
	return ix, err
}

// printed writes what an index command did: the index itself for a dry
// run, else its digest.
func (f *indexFlags) printed(e *env, doc *manifest.Document, desc manifest.Descriptor) {
	if f.dryRun {
		fmt.Fprintf(e.stdout, "%s\n", doc.Raw)
		return
	}
	fmt.Fprintln(e.stdout, desc.Digest)
}

// mediaTypes are the names --media-type takes.
var mediaTypes = map[string]string{
	"oci": manifest.MediaTypeOCIIndex, manifest.MediaTypeOCIIndex: manifest.MediaTypeOCIIndex,
	"docker": manifest.MediaTypeDockerManifestList, manifest.MediaTypeDockerManifestList: manifest.MediaTypeDockerManifestList,
}

func runIndexCreate(ctx context.Context, e *env, args []string) error {
	var f indexFlags
	var mediaType, artifactType string
	var allowDup bool
	fs := newFlagSet(e, "index create")
	f.register(fs, true)
	fs.StringVar(&mediaType, "media-type", "", "write the index as `TYPE`: oci (an OCI index) or docker (a Docker manifest list); default: docker when every image is Docker-typed")
	fs.StringVar(&artifactType, "artifact-type", "", "set the index's artifactType to `TYPE` (OCI only)")
	fs.Var(&f.annotations, "annotation", "set the index's annotation `KEY=VALUE` (repeatable; OCI only)")
	fs.BoolVar(&allowDup, "allow-duplicate-platforms", false, "keep two images of one platform instead of refusing them")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return usagef("want DST and at least one SRC, got %d arguments", fs.NArg())
	}
	mt, ok := mediaTypes[mediaType]
	if mediaType != "" && !ok {
		return usagef("--media-type %q: want oci or docker", mediaType)
	}
	annotations, err := parseAnnotations(f.annotations)
	if err != nil {
		return err
	}
	dst, opts, err := f.setup(e, fs.Arg(0), fs.Args()[1:])
	if err != nil {
		return err
	}
	defer f.close()
	dup := images.RefuseDuplicates
	if allowDup {
		dup = images.KeepDuplicates
	}
	ix, err := f.openSources(ctx, fs.Args()[1:], dup, "--allow-duplicate-platforms", opts)
	if err != nil {
		return err
	}
	defer ix.Close()
	if len(annotations) > 0 {
		ix = ix.Annotate(annotations)
	}
	if artifactType != "" {
		ix = ix.WithArtifactType(artifactType)
	}
	if mt != "" {
		if ix, err = ix.WithMediaType(mt); err != nil {
			return err
		}
	}
	doc, err := ix.Document()
	if err != nil || f.dryRun {
		if err == nil {
			f.printed(e, doc, doc.Descriptor())
		}
		return err
	}
	desc, err := images.WriteIndex(ctx, ix, dst.String(), opts)
	if err != nil {
		return err
	}
	f.printed(e, doc, desc)
	return nil
}

func runIndexAdd(ctx context.Context, e *env, args []string) error {
	var f indexFlags
	var keep bool
	fs := newFlagSet(e, "index add")
	f.register(fs, true)
	fs.BoolVar(&keep, "keep", false, "keep the entry of an image's platform instead of replacing it")
	fs.Var(&f.annotations, "annotation", "also set the index's annotation `KEY=VALUE` (repeatable; KEY= removes it)")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return usagef("want DST and at least one SRC, got %d arguments", fs.NArg())
	}
	annotations, err := parseAnnotations(f.annotations)
	if err != nil {
		return err
	}
	dst, opts, err := f.setup(e, fs.Arg(0), fs.Args()[1:])
	if err != nil {
		return err
	}
	defer f.close()
	dup, within := images.ReplaceDuplicates, images.RefuseDuplicates
	if keep {
		dup, within = images.KeepDuplicates, images.KeepDuplicates
	}
	src, err := f.openSources(ctx, fs.Args()[1:], within, "--keep", opts)
	if err != nil {
		return err
	}
	defer src.Close()
	return f.update(ctx, e, dst, opts, func(ix *images.Index) (*images.Index, error) {
		out, err := ix.AddIndex(src, &images.AddOptions{Duplicates: dup})
		if err == nil && len(annotations) > 0 {
			out = out.Annotate(annotations)
		}
		return out, err
	})
}

func runIndexRemove(ctx context.Context, e *env, args []string) error {
	var f indexFlags
	var platform, digest string
	fs := newFlagSet(e, "index remove")
	f.register(fs, false)
	fs.StringVar(&platform, "platform", "", "remove the entries of `OS/ARCH[/VARIANT]`")
	fs.StringVar(&digest, "digest", "", "remove the entry of `DIGEST`")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want DST, got %d arguments", fs.NArg())
	}
	if (platform == "") == (digest == "") {
		return usagef("name what to remove with one of --platform and --digest")
	}
	edit, err := removeEdit(platform, digest)
	if err != nil {
		return err
	}
	dst, opts, err := f.setup(e, fs.Arg(0), nil)
	if err != nil {
		return err
	}
	defer f.close()
	return f.update(ctx, e, dst, opts, edit)
}

// removeEdit is the edit of --platform or --digest.
func removeEdit(platform, digest string) (func(*images.Index) (*images.Index, error), error) {
	if digest != "" {
		d, err := manifest.ParseDigest(digest)
		if err != nil {
			return nil, usagef("--digest: %v", err)
		}
		return func(ix *images.Index) (*images.Index, error) { return ix.RemoveDigest(d) }, nil
	}
	p, err := manifest.ParsePlatform(platform)
	if err != nil {
		return nil, usagef("--platform: %v", err)
	}
	return func(ix *images.Index) (*images.Index, error) { return ix.Remove(p) }, nil
}

func runIndexAnnotate(ctx context.Context, e *env, args []string) error {
	var f indexFlags
	var platform string
	fs := newFlagSet(e, "index annotate")
	f.register(fs, false)
	fs.StringVar(&platform, "platform", "", "annotate the entries of `OS/ARCH[/VARIANT]` instead of the index")
	fs.Var(&f.annotations, "annotation", "set the annotation `KEY=VALUE` (repeatable; KEY= removes it)")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want DST, got %d arguments", fs.NArg())
	}
	annotations, err := parseAnnotations(f.annotations)
	if err != nil {
		return err
	}
	if len(annotations) == 0 {
		return usagef("name at least one --annotation KEY=VALUE")
	}
	edit := func(ix *images.Index) (*images.Index, error) { return ix.Annotate(annotations), nil }
	if platform != "" {
		p, err := manifest.ParsePlatform(platform)
		if err != nil {
			return usagef("--platform: %v", err)
		}
		edit = func(ix *images.Index) (*images.Index, error) { return ix.AnnotateEntry(p, annotations) }
	}
	dst, opts, err := f.setup(e, fs.Arg(0), nil)
	if err != nil {
		return err
	}
	defer f.close()
	return f.update(ctx, e, dst, opts, edit)
}

// update applies edit to the index at dst and prints the result: with
// --dry-run, to what is there now, storing nothing.
func (f *indexFlags) update(ctx context.Context, e *env, dst images.Location, opts *images.Options, edit func(*images.Index) (*images.Index, error)) error {
	if !f.dryRun {
		desc, err := images.UpdateIndex(ctx, dst.String(), edit, opts)
		if err == nil {
			fmt.Fprintln(e.stdout, desc.Digest)
		}
		return err
	}
	cur, err := images.OpenIndex(ctx, dst.String(), opts)
	if errors.Is(err, manifest.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		cur, _ = images.NewIndex()
	} else if err != nil {
		return err
	}
	defer cur.Close()
	next, err := edit(cur)
	if err != nil {
		return err
	}
	doc, err := next.Document()
	if err == nil {
		f.printed(e, doc, doc.Descriptor())
	}
	return err
}
