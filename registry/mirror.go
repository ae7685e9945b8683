package registry

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
)

// Mirror is a place a repository's content is pulled from: a mirror, a
// remapped location, or the repository itself.
type Mirror struct {
	// Ref names the registry and repository; its tag and digest are
	// ignored.
	Ref reference.Reference
	// DigestOnly uses the mirror only for content named by digest, never
	// to resolve a tag (registries.conf's pull-from-mirror = "digest-only").
	DigestOnly bool
}

// sources are where a Repository pulls from when Client.Mirrors has a say.
type sources struct {
	list []source
	err  error // every pull fails with err (a blocked repository)
}

type source struct {
	repo       *Repository // has no sources of its own
	digestOnly bool
}

// addMirrors asks c.Mirrors where r (named by ref) pulls from.
func (c *Client) addMirrors(r *Repository, ref reference.Reference) {
	if c.Mirrors == nil {
		return
	}
	list, err := c.Mirrors(ref)
	if err != nil {
		r.sources = &sources{err: err}
		return
	}
	if len(list) == 0 {
		return
	}
	s := &sources{}
	for _, m := range list {
		host := apiHost(m.Ref.Registry)
		c.authT.AddHost(host)
		repo := &Repository{client: c, host: host, name: m.Ref.Repository}
		s.list = append(s.list, source{repo: repo, digestOnly: m.DigestOnly})
	}
	r.sources = s
}

// try calls f with each source in turn until one succeeds, skipping
// digest-only mirrors for requests by tag. The error is the last
// source's, naming the mirrors that failed before it.
func (s *sources) try(ctx context.Context, byDigest bool, f func(*Repository) error) error {
	if s.err != nil {
		return s.err
	}
	var err error
	var failed []string
	for _, src := range s.list {
		if src.digestOnly && !byDigest {
			continue
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s/%s (%v)", src.repo.host, src.repo.name, err))
		}
		if err = f(src.repo); err == nil || ctx.Err() != nil {
			return err
		}
	}
	if err == nil {
		return fmt.Errorf("registry: no source to pull from by tag (all mirrors are digest-only)")
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w (after %s)", err, strings.Join(failed, ", "))
	}
	return err
}

func (s *sources) fetch(ctx context.Context, desc manifest.Descriptor) (rc io.ReadCloser, err error) {
	err = s.try(ctx, true, func(r *Repository) error {
		rc, err = r.Fetch(ctx, desc)
		return err
	})
	return rc, err
}

func (s *sources) fetchFrom(ctx context.Context, desc manifest.Descriptor, offset int64) (rc io.ReadCloser, err error) {
	err = s.try(ctx, true, func(r *Repository) error {
		rc, err = r.FetchFrom(ctx, desc, offset)
		return err
	})
	return rc, err
}

func (s *sources) fetchManifest(ctx context.Context, ref string) (doc *manifest.Document, err error) {
	err = s.try(ctx, strings.Contains(ref, ":"), func(r *Repository) error {
		doc, err = r.FetchManifest(ctx, ref)
		return err
	})
	return doc, err
}

func (s *sources) resolve(ctx context.Context, ref string) (desc manifest.Descriptor, err error) {
	err = s.try(ctx, strings.Contains(ref, ":"), func(r *Repository) error {
		desc, err = r.Resolve(ctx, ref)
		return err
	})
	return desc, err
}

// Origin returns r without the mirrors Client.Mirrors gave it: the
// repository pushes go to, for reads that must see what it holds, such
// as comparing a mirror's tags with their source's.
func (r *Repository) Origin() *Repository { return r.origin() }

// origin returns r without its sources, for reads that belong to a push
// (Tag re-reads the manifest it just pushed).
func (r *Repository) origin() *Repository {
	if r.sources == nil {
		return r
	}
	return &Repository{client: r.client, host: r.host, name: r.name}
}
