package mirror

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/skiffoci/skiff/manifest"
)

// prune removes the target's selected tags that the source, whose tags
// are srcTags, no longer has.
func (s *syncer) prune(ctx context.Context, srcTags []string) {
	doomed, others, err := s.doomed(ctx, srcTags)
	if err != nil {
		s.fail(err)
		return
	}
	p := &pruner{s: s, others: others, digests: map[string]manifest.Digest{}}
	for _, tag := range doomed {
		if ctx.Err() != nil {
			return
		}
		im, err := p.prune(ctx, tag)
		s.record(im, err)
	}
}

// doomed lists the target's tags to prune, and the tags it keeps.
func (s *syncer) doomed(ctx context.Context, srcTags []string) (doomed, kept []string, err error) {
	lister, ok := s.dst.(TagLister)
	if !ok {
		return nil, nil, errors.New("prune: the target cannot list its tags")
	}
	have, err := lister.Tags(ctx)
	if errors.Is(err, manifest.ErrNotFound) {
		return nil, nil, nil // a repository not made yet
	}
	if err != nil {
		return nil, nil, fmt.Errorf("prune: listing the target's tags: %w", err)
	}
	at := make(map[string]bool, len(srcTags))
	for _, t := range srcTags {
		at[t] = true
	}
	for _, t := range have {
		switch {
		case attachedTag(t):
		case s.matches(t) && !at[t]:
			doomed = append(doomed, t)
		default:
			kept = append(kept, t)
		}
	}
	slices.Sort(doomed)
	return slices.Compact(doomed), kept, nil
}

// pruner removes tags one at a time.
type pruner struct {
	s       *syncer
	others  []string                   // the target's tags that stay
	digests map[string]manifest.Digest // what others name, once asked
}

// prune removes one tag, or says it would.
func (p *pruner) prune(ctx context.Context, tag string) (Image, error) {
	im := Image{Tag: tag, Action: Pruned}
	d, err := p.s.dst.Resolve(ctx, tag)
	switch {
	case errors.Is(err, manifest.ErrNotFound):
		return im, nil // gone with a manifest an earlier tag's removal deleted
	case err != nil:
		return im, fmt.Errorf("prune: %w", err)
	}
	im.Digest = d.Digest
	if p.s.opts.DryRun {
		im.Action = WouldPrune
		return im, nil
	}
	return im, p.untag(ctx, tag, d.Digest)
}

// untag removes tag; where the target removes manifests only by digest,
// it deletes the manifest, provided no tag that stays names it.
func (p *pruner) untag(ctx context.Context, tag string, d manifest.Digest) error {
	u, ok := p.s.dst.(Untagger)
	if !ok {
		return errors.New("prune: the target cannot remove tags")
	}
	err := u.Untag(ctx, tag)
	if err == nil || !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	del, ok := p.s.dst.(Deleter)
	if !ok {
		return fmt.Errorf("prune: %w", err)
	}
	for _, o := range p.others {
		od, err := p.digest(ctx, o)
		if err != nil {
			return fmt.Errorf("prune: %w", err)
		}
		if od == d {
			return fmt.Errorf("prune: the target removes tags only by deleting their manifest, and tag %s names it too", o)
		}
	}
	if err := del.Delete(ctx, string(d)); err != nil {
		return fmt.Errorf("prune: deleting %s: %w", d, err)
	}
	return nil
}

// digest is what the kept tag names at the target.
func (p *pruner) digest(ctx context.Context, tag string) (manifest.Digest, error) {
	if d, ok := p.digests[tag]; ok {
		return d, nil
	}
	d, err := p.s.targetDigest(ctx, tag)
	p.digests[tag] = d
	return d, err
}
