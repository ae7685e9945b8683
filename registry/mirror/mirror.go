package mirror

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
)

// TagLister lists the tags of a repository. registry.Repository and
// layout.Layout implement it.
type TagLister interface {
	Tags(ctx context.Context) ([]string, error)
}

// ErrEmptySource is wrapped by the error of a Sync with Prune whose
// source lists no tags: a repository emptied by mistake, or a registry
// answering an empty list, would otherwise empty the target too.
// Options.AllowEmptySource allows it.
var ErrEmptySource = errors.New("the source lists no tags")

// Source is a repository Sync reads from.
type Source interface {
	manifest.Fetcher
	manifest.Resolver
	TagLister
}

// Target is a repository Sync writes to. Resolve must wrap
// manifest.ErrNotFound for a tag it does not have. With Prune, the
// target must also be a TagLister and an Untagger.
type Target interface {
	manifest.Store
	manifest.Resolver
}

// Untagger removes a tag and keeps the manifest it named.
// layout.Layout and registry.Repository implement it.
type Untagger interface {
	Untag(ctx context.Context, tag string) error
}

// Deleter deletes a manifest by digest. When a target's Untag fails
// with errors.ErrUnsupported (a registry that deletes only by digest),
// Prune deletes the manifest instead, but only when no other tag of the
// target names it.
type Deleter interface {
	Delete(ctx context.Context, ref string) error
}

// Options tune Sync. The zero value mirrors every tag, every platform,
// no referrers, 16 images and four blob transfers at a time, and
// deletes nothing.
type Options struct {
	// Tags selects the tags to mirror: those that match any pattern.
	// None means every tag.
	Tags []*Pattern
	// Platforms narrows indexes as images.CopyOptions.Platforms does;
	// none keeps every platform.
	Platforms []manifest.Platform
	// Referrers mirrors signatures, attestations and SBOMs with each
	// image, found as images.Walk finds them.
	Referrers bool
	// OCIMediaTypes stores Docker-typed images with OCI media types
	// (images.Graph.ToOCI), under new digests: a target every OCI tool
	// reads. An unchanged Docker-typed tag then costs a walk of its
	// manifests at the source, not one request. It does not go with
	// Referrers.
	OCIMediaTypes bool
	// Jobs is the size of the pool of blob transfers when Pool is nil;
	// 0 means 4. Images are handled 4×Jobs at a time: most of an image's
	// time goes to round trips, and its blob transfers wait for the pool.
	Jobs int
	// Pool, if set, bounds the blob transfers of this Sync together with
	// those of any other copy sharing it: one limit for several
	// repositories mirrored at once.
	Pool *images.Pool
	// DryRun moves and deletes nothing: it reports what would be copied
	// (asking the target which blobs it lacks) and pruned.
	DryRun bool
	// Prune removes the target's tags that match Tags but no longer
	// exist at the source. Tags cosign names after digests and the
	// referrers tag schema's are never pruned. A source that lists no
	// tags at all fails with ErrEmptySource instead, unless
	// AllowEmptySource is set.
	Prune bool
	// AllowEmptySource lets Prune remove every selected tag of the
	// target when the source lists none.
	AllowEmptySource bool
	// Progress, if set, receives the events of every transfer, possibly
	// concurrently.
	Progress func(manifest.Event)
	// Done, if set, is called with each image's outcome as soon as it is
	// known, one call at a time.
	Done func(Image)
}

// Action is what Sync did with a tag.
type Action string

// The actions of a Report.
const (
	Copied     Action = "copied"      // the target's tag now names the source's image
	Unchanged  Action = "unchanged"   // the target had it; nothing moved
	WouldCopy  Action = "would-copy"  // DryRun: it would have been copied
	Pruned     Action = "pruned"      // the tag was removed from the target
	WouldPrune Action = "would-prune" // DryRun: it would have been removed
	Failed     Action = "failed"      // see Image.Error
)

// Image is the outcome of one tag.
type Image struct {
	Tag string `json:"tag"`
	// Digest is the image's root at the target (for a pruned tag, the
	// one it named).
	Digest manifest.Digest `json:"digest,omitempty"`
	Action Action          `json:"action"`
	// Blobs and Bytes count the blobs that moved (or would move) and
	// their bytes; a blob resumed from an earlier run counts only the
	// bytes this run moved.
	Blobs int   `json:"blobs"`
	Bytes int64 `json:"bytes"`
	// Mounted counts the blobs the target took from the source's
	// repository on the same registry without moving them; Skipped
	// those it already had. SkippedBytes is the size of both.
	Mounted      int    `json:"mounted"`
	Skipped      int    `json:"skipped"`
	SkippedBytes int64  `json:"skippedBytes"`
	Error        string `json:"error,omitempty"`
}

// Report is what Sync did, one Image per tag, sorted by tag.
type Report struct {
	Images []Image `json:"images"`
}

// Sync mirrors the tags of src that opts selects into dst under the
// same names. A tag whose image dst already has under that name costs a
// resolve on each side and moves nothing; a changed or new tag moves
// only the blobs dst lacks (mounted when both are on one registry).
// Images are handled several at a time, their blob transfers bounded
// together by one pool. A failed image does not stop the others: the
// error joins every failure, and the report says which tags failed. An
// interrupted Sync, run again, moves only what is still missing.
func Sync(ctx context.Context, dst Target, src Source, opts *Options) (*Report, error) {
	if opts == nil {
		opts = &Options{}
	}
	all, err := src.Tags(ctx)
	if err != nil {
		return nil, fmt.Errorf("mirror: listing the source's tags: %w", err)
	}
	if opts.Prune && len(all) == 0 && !opts.AllowEmptySource {
		return nil, fmt.Errorf("mirror: %w: pruning would remove every tag of the target; refused", ErrEmptySource)
	}
	s := newSyncer(dst, src, opts)
	s.images(ctx, s.selected(all))
	if opts.Prune && ctx.Err() == nil {
		s.prune(ctx, all)
	}
	sort.Slice(s.report.Images, func(i, j int) bool { return s.report.Images[i].Tag < s.report.Images[j].Tag })
	err = s.err()
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("mirror: %w", context.Cause(ctx))
	}
	return &s.report, err
}

// syncer is the state of one Sync.
type syncer struct {
	dst  Target
	src  Source
	opts *Options
	pool *images.Pool

	mu     sync.Mutex // guards report and errs, and serializes Done
	report Report
	errs   []error
}

func newSyncer(dst Target, src Source, opts *Options) *syncer {
	s := &syncer{dst: dst, src: src, opts: opts, pool: opts.Pool}
	if s.pool == nil {
		s.pool = images.NewPool(opts.Jobs)
	}
	return s
}

// selected keeps the tags that opts.Tags selects, leaving out those
// that name what is attached to an image rather than an image.
func (s *syncer) selected(tags []string) []string {
	var out []string
	for _, t := range tags {
		if !attachedTag(t) && s.matches(t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (s *syncer) matches(tag string) bool {
	if len(s.opts.Tags) == 0 {
		return true
	}
	return slices.ContainsFunc(s.opts.Tags, func(p *Pattern) bool { return p.Match(tag) })
}

// images handles tags, 4×Jobs at a time, until they are done or ctx
// ends.
func (s *syncer) images(ctx context.Context, tags []string) {
	jobs := s.opts.Jobs
	if jobs < 1 {
		jobs = 4
	}
	jobs *= 4
	next := make(chan string)
	var wg sync.WaitGroup
	for range min(jobs, len(tags)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for tag := range next {
				im, err := s.image(ctx, tag)
				s.record(im, err)
			}
		}()
	}
	for _, tag := range tags {
		select {
		case next <- tag:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
}

// record adds an outcome to the report and tells opts.Done.
func (s *syncer) record(im Image, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		im.Action, im.Error = Failed, err.Error()
		s.errs = append(s.errs, fmt.Errorf("%s: %w", im.Tag, err))
	}
	s.report.Images = append(s.report.Images, im)
	if s.opts.Done != nil {
		s.opts.Done(im)
	}
}

// fail records a failure that concerns no one tag.
func (s *syncer) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err)
}

// err joins the failures, if any.
func (s *syncer) err() error {
	if len(s.errs) == 0 {
		return nil
	}
	if len(s.errs) == 1 {
		return fmt.Errorf("mirror: %w", s.errs[0])
	}
	return fmt.Errorf("mirror: %d failures: %w", len(s.errs), errors.Join(s.errs...))
}

// attachedTag reports whether tag names something attached to an image
// rather than an image: one of cosign's tags (manifest.IsCosignTag), or
// the referrers tag schema's "sha256-HEX". Sync moves these only with
// their image (Options.Referrers) and never prunes them.
func attachedTag(tag string) bool {
	if manifest.IsCosignTag(tag) {
		return true
	}
	alg, hex, ok := strings.Cut(tag, "-")
	return ok && manifest.Digest(alg+":"+hex).Validate() == nil
}

// Totals sum a Report, or several.
type Totals struct {
	Tags      int `json:"tags"`   // tags handled, pruned ones included
	Images    int `json:"images"` // distinct images the mirrored tags name
	Copied    int `json:"copied"` // or would be, with DryRun
	Unchanged int `json:"unchanged"`
	Pruned    int `json:"pruned"` // or would be, with DryRun
	Failed    int `json:"failed"`

	Blobs        int   `json:"blobs"`
	Bytes        int64 `json:"bytes"`
	Mounted      int   `json:"mounted"`
	Skipped      int   `json:"skipped"`
	SkippedBytes int64 `json:"skippedBytes"`
}

// Totals sums the report.
func (r *Report) Totals() Totals {
	t := Totals{Tags: len(r.Images)}
	images := map[manifest.Digest]bool{}
	for _, im := range r.Images {
		switch im.Action {
		case Copied, WouldCopy:
			t.Copied++
		case Unchanged:
			t.Unchanged++
		case Pruned, WouldPrune:
			t.Pruned++
		case Failed:
			t.Failed++
		}
		if im.Digest != "" && im.Action != Pruned && im.Action != WouldPrune {
			images[im.Digest] = true
		}
		t.Blobs, t.Bytes, t.Mounted = t.Blobs+im.Blobs, t.Bytes+im.Bytes, t.Mounted+im.Mounted
		t.Skipped, t.SkippedBytes = t.Skipped+im.Skipped, t.SkippedBytes+im.SkippedBytes
	}
	t.Images = len(images)
	return t
}

// Add returns the sum of t and u.
func (t Totals) Add(u Totals) Totals {
	return Totals{Tags: t.Tags + u.Tags, Images: t.Images + u.Images, Copied: t.Copied + u.Copied,
		Unchanged: t.Unchanged + u.Unchanged, Pruned: t.Pruned + u.Pruned, Failed: t.Failed + u.Failed,
		Blobs: t.Blobs + u.Blobs, Bytes: t.Bytes + u.Bytes, Mounted: t.Mounted + u.Mounted,
		Skipped: t.Skipped + u.Skipped, SkippedBytes: t.SkippedBytes + u.SkippedBytes}
}
