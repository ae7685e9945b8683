package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/skiffoci/skiff/internal/progress"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/registry/mirror"
)

func init() { commands["sync"] = syncCommand }

var syncCommand = &command{
	summary: "mirror repositories into a registry or a directory of OCI layouts, incrementally",
	usage:   "[flags] SRC DST  |  --from-file FILE DST",
	help: `SRC is a repository (ghcr.io/o/app: every tag; ghcr.io/o/app:1.0: that tag) or
oci:DIR, a directory of OCI layouts as sync writes them. DST is a registry, with
an optional namespace (localhost:5000, registry.example.com/mirror), or oci:DIR.
Each repository lands under DST at its full path, without the registry host:
  ghcr.io/o/app → localhost:5000/mirror/o/app, or DIR/o/app for oci:DIR
  alpine        → localhost:5000/library/alpine
so oci:DIR is exactly the directory "skiff registry serve --root DIR" serves, and
a mirror carried across an air gap is served, or synced on, with the same names.
Archives are not a sync destination: sync to oci:DIR and carry the directory.

--tag selects tags (repeatable; a tag matching any is synced). A pattern starting
with = < > ~ ^ is a range of semantic versions: comparators separated by spaces or
commas that must all hold (">=1.2 <2", "~1.4", "^2.0.1"); tags are read as
versions with an optional "v", missing numbers zero (v1.2 is 1.2.0), and a tag
with a pre-release suffix (2.0.0-rc1, 1.2.3-alpine) matches only a range naming a
pre-release of that version. Any other pattern is a glob (path.Match: * ? [a-z]):
"1.*", "*-alpine", "latest". Tags cosign names after digests (sha256-….sig) move
only with their image, under --referrers.

--from-file FILE lists sources, one per line: SRC [PATTERN...]; "#" starts a
comment. A line's patterns replace --tag's for that source; write ranges there
with commas (>=1.2,<2), since spaces separate patterns.

A tag DST already has with the same digest costs one request on each side (none
on DST for oci:DIR, whose index.json is read) and moves nothing; a changed tag
moves only the blobs DST lacks, mounted within one registry. 4×-j images are
copied at a time, with -j blob transfers in all. An interrupted sync continues when
run again. --prune removes DST's tags (among those --tag selects) that SRC no
longer has, and prints each; without it nothing is ever deleted. A SRC that lists
no tags at all is refused with --prune, since it would empty DST: add
--allow-empty-source when that is meant. --dry-run says
what would move and be removed, and changes nothing. One line per image and a
total go to stderr; --json prints the report on stdout.

examples:
  skiff sync ghcr.io/o/app localhost:5000/mirror
  skiff sync --tag '>=1.2 <2' --tag latest ghcr.io/o/app oci:/media/usb
  skiff registry serve --root /media/usb        # on the other side of the air gap
  skiff sync --prune --referrers --from-file repos.txt registry.internal/mirror
  skiff sync --dry-run --json alpine localhost:5000`,
	run: runSync,
}

// syncFlags are the flags of sync that other commands lack.
type syncFlags struct {
	tags         listFlag
	fromFile     string
	dryRun       bool
	jsonOut      bool
	prune        bool
	allowEmpty   bool
	allPlatforms bool
}

func runSync(ctx context.Context, e *env, args []string) error {
	var o options
	var f syncFlags
	fs := newFlagSet(e, "sync")
	o.register(fs)
	o.registerWrite(fs)
	fs.StringVar(&o.platform, "platform", "", "copy only `OS/ARCH[/VARIANT]` from indexes (comma-separated list; default: every platform)")
	fs.BoolVar(&f.allPlatforms, "all-platforms", false, "copy every platform of an index (the default)")
	fs.BoolVar(&o.referrers, "referrers", false, "carry signatures, attestations and SBOMs along with each image (referrers API and cosign's sha256-DIGEST.sig/.att/.sbom tags)")
	fs.Var(&f.tags, "tag", "sync the tags matching `PATTERN`: a glob, or a semver range such as '>=1.2 <2' (repeatable)")
	fs.StringVar(&f.fromFile, "from-file", "", "read the sources from `FILE`: one \"SRC [PATTERN...]\" per line, # for comments")
	fs.BoolVar(&f.dryRun, "dry-run", false, "say what would be copied and removed; change nothing")
	fs.BoolVar(&f.jsonOut, "json", false, "print the report as JSON on stdout")
	fs.BoolVar(&f.prune, "prune", false, "remove DST's tags that SRC no longer has (among those --tag selects), printing each")
	o.registerOCIMediaTypes(fs)
	fs.BoolVar(&f.allowEmpty, "allow-empty-source", false, "with --prune, prune even when SRC lists no tags (every selected tag of DST goes)")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if o.ociMediaTypes && o.referrers {
		return usagef("--oci-media-types changes digests, which signatures name: it does not go with --referrers")
	}
	if f.allPlatforms && o.platform != "" {
		return usagef("--all-platforms and --platform disagree")
	}
	plan, err := planSync(fs.Args(), &f)
	if err != nil {
		return err
	}
	return executeSync(ctx, e, &o, &f, plan)
}

// executeSync mirrors every pair of the plan, one repository after
// another, with one pool of blob transfers for them all.
func executeSync(ctx context.Context, e *env, o *options, f *syncFlags, plan []*syncPair) error {
	c, err := o.client(e, syncHosts(plan))
	if err != nil {
		return err
	}
	if o.platform == "" {
		o.platform = "all"
	}
	platforms, err := o.platforms()
	if err != nil {
		return err
	}
	display, err := o.display(e)
	if err != nil {
		return err
	}
	r := &syncRun{e: e, o: o, f: f, c: c, display: display, platforms: platforms, pool: images.NewPool(o.jobs)}
	for _, p := range plan {
		if ctx.Err() != nil {
			break
		}
		r.pair(ctx, p)
	}
	display.Close()
	return r.finish(ctx, plan)
}

// syncRun is the state of one run of sync.
type syncRun struct {
	e         *env
	o         *options
	f         *syncFlags
	c         *registry.Client
	display   *progress.Display
	platforms []manifest.Platform
	pool      *images.Pool
	errs      []error
	total     mirror.Totals
	out       syncJSON
}

// closeLayouts closes the layouts among stores.
func closeLayouts(stores ...any) {
	for _, s := range stores {
		if l, ok := s.(*layout.Layout); ok {
			l.Close()
		}
	}
}

// pair mirrors one repository and records its report.
func (r *syncRun) pair(ctx context.Context, p *syncPair) {
	r.log("%s → %s", p.src, p.dst)
	src, dst, done, err := r.open(ctx, p)
	if err != nil {
		r.fail(p, err)
		return
	}
	defer closeLayouts(src, dst)
	opts := &mirror.Options{Tags: p.tags, Platforms: r.platforms, Referrers: r.o.referrers, OCIMediaTypes: r.o.ociMediaTypes, Jobs: r.o.jobs, Pool: r.pool,
		DryRun: r.f.dryRun, Prune: r.f.prune, AllowEmptySource: r.f.allowEmpty, Progress: r.display.Event,
		Done: func(im mirror.Image) { r.log("  %s", imageLine(p, im)) }}
	rep, err := mirror.Sync(ctx, dst, src, opts)
	if errors.Is(err, mirror.ErrEmptySource) {
		err = fmt.Errorf("%w (--allow-empty-source prunes anyway)", err)
	}
	if err == nil {
		err = done()
	}
	repJSON := syncRepoJSON{Source: p.src.String(), Target: p.dst.String(), Images: []mirror.Image{}}
	if rep != nil {
		repJSON.Images = rep.Images
		r.total = r.total.Add(rep.Totals())
	}
	if err != nil {
		repJSON.Error = err.Error()
		r.errs = append(r.errs, fmt.Errorf("%s: %w", p.src, err))
	}
	r.out.Repositories = append(r.out.Repositories, repJSON)
}

// fail records a repository that could not be opened.
func (r *syncRun) fail(p *syncPair, err error) {
	r.log("  failed: %v", err)
	r.errs = append(r.errs, fmt.Errorf("%s: %w", p.src, err))
	r.out.Repositories = append(r.out.Repositories, syncRepoJSON{Source: p.src.String(), Target: p.dst.String(), Images: []mirror.Image{}, Error: err.Error()})
}

// log writes a line on stderr, above the progress display, unless
// --quiet.
func (r *syncRun) log(format string, args ...any) {
	if !r.o.quiet {
		r.display.Log("skiff: " + fmt.Sprintf(format, args...))
	}
}

// finish prints the total and the JSON report, and returns the error
// the run ends with.
func (r *syncRun) finish(ctx context.Context, plan []*syncPair) error {
	r.log("%s", totalLine(len(r.out.Repositories), r.total, r.f.dryRun))
	if r.f.jsonOut {
		r.out.DryRun, r.out.Total = r.f.dryRun, r.total
		b, err := json.MarshalIndent(r.out, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(r.e.stdout, "%s\n", b)
	}
	if len(r.errs) == 0 && ctx.Err() == nil {
		return nil
	}
	err := errors.Join(r.errs...)
	if len(r.errs) > 1 {
		err = fmt.Errorf("%d repositories failed: %w", len(r.errs), err)
	}
	if ctx.Err() != nil {
		return resumeHint(ctx, err, plan[0].dst.location())
	}
	return err
}

// syncJSON is the report --json prints.
type syncJSON struct {
	DryRun       bool           `json:"dryRun"`
	Repositories []syncRepoJSON `json:"repositories"`
	Total        mirror.Totals  `json:"total"`
}

// syncRepoJSON is one repository's part of the report.
type syncRepoJSON struct {
	Source string         `json:"source"`
	Target string         `json:"target"`
	Images []mirror.Image `json:"images"`
	Error  string         `json:"error,omitempty"`
}

// imageLine says what happened to one tag.
func imageLine(p *syncPair, im mirror.Image) string {
	moved := fmt.Sprintf("%d blobs, %s moved; %d blobs, %s skipped", im.Blobs, progress.Bytes(im.Bytes), im.Mounted+im.Skipped, progress.Bytes(im.SkippedBytes))
	switch im.Action {
	case mirror.Copied:
		return fmt.Sprintf("%s copied %s (%s)", im.Tag, im.Digest.Short(), moved)
	case mirror.WouldCopy:
		return fmt.Sprintf("%s would copy %s (%d blobs, %s to move)", im.Tag, im.Digest.Short(), im.Blobs, progress.Bytes(im.Bytes))
	case mirror.Pruned:
		return fmt.Sprintf("removed %s:%s (%s), gone from %s", p.dst, im.Tag, im.Digest.Short(), p.src)
	case mirror.WouldPrune:
		return fmt.Sprintf("would remove %s:%s (%s), gone from %s", p.dst, im.Tag, im.Digest.Short(), p.src)
	case mirror.Failed:
		return fmt.Sprintf("%s failed: %s", im.Tag, oneLine(im.Error))
	}
	return fmt.Sprintf("%s %s %s", im.Tag, im.Action, im.Digest.Short())
}

// totalLine sums up the run.
func totalLine(repos int, t mirror.Totals, dryRun bool) string {
	head := fmt.Sprintf("%d %s, %d %s (%d %s)", repos, plural(repos, "repository", "repositories"),
		t.Tags, plural(t.Tags, "tag", "tags"), t.Images, plural(t.Images, "image", "images"))
	if dryRun {
		return fmt.Sprintf("dry run, nothing changed: %s: %d to copy (%s to move), %d unchanged, %d to remove, %d failed",
			head, t.Copied, progress.Bytes(t.Bytes), t.Unchanged, t.Pruned, t.Failed)
	}
	return fmt.Sprintf("synced %s: %d copied, %d unchanged, %d removed, %d failed; %s moved, %s skipped (%d blobs mounted)",
		head, t.Copied, t.Unchanged, t.Pruned, t.Failed, progress.Bytes(t.Bytes), progress.Bytes(t.SkippedBytes), t.Mounted)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
