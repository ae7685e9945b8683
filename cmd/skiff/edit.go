package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// base is an image about to be edited: where it lives and what it is,
// and the repository the result goes to.
type base struct {
	repo *registry.Repository // nil for scratch
	ref  reference.Reference
	img  *images.Image
	dst  *registry.Repository
}

// startEdit parses an edit's source and destination (dstName "" means
// the source's tag), builds the client and loads the base. The
// destination opens uploads upload sessions meanwhile, one per blob the
// edit will push, so that pushing them waits for no session.
func startEdit(ctx context.Context, e *env, o *options, srcName, dstName string, uploads int) (*base, reference.Reference, error) {
	return startEditWith(ctx, e, o, srcName, dstName, uploads, nil)
}

// startEditWith is startEdit that hands the destination to ahead, when
// it is not nil, before the base is read: what can go up without the
// base goes up meanwhile.
func startEditWith(ctx context.Context, e *env, o *options, srcName, dstName string, uploads int, ahead func(*registry.Repository)) (*base, reference.Reference, error) {
	if srcName == "scratch" {
		c, b, dst, err := startScratch(e, o, dstName)
		if err == nil {
			b.dst = prepareDst(ctx, c, dst, uploads)
			if ahead != nil {
				ahead(b.dst)
			}
		}
		return b, dst, err
	}
	src, err := reference.Parse(srcName)
	if err != nil {
		return nil, src, err
	}
	dst, err := editTarget(src, dstName)
	if err != nil {
		return nil, dst, err
	}
	c, err := o.client(e, []string{src.Registry, dst.Registry})
	if err != nil {
		return nil, dst, err
	}
	dstRepo := prepareDst(ctx, c, dst, uploads)
	if ahead != nil {
		ahead(dstRepo)
	}
	b, err := loadBase(ctx, e, c, src, o)
	if err != nil {
		dstRepo.DiscardUploads(ctx)
		return nil, dst, err
	}
	b.dst = dstRepo
	return b, dst, nil
}

// prepareDst returns the repository an edit pushes to, ready to push and
// opening uploads sessions in the background; pushEditedWith closes
// those the edit did not use.
func prepareDst(ctx context.Context, c *registry.Client, dst reference.Reference, uploads int) *registry.Repository {
	repo := c.Repository(dst)
	repo.WillPush()
	repo.PrepareUploads(ctx, uploads)
	return repo
}

// startScratch starts an edit from an empty image of the platform asked
// for (the host's by default), so a first layer needs no base image.
func startScratch(e *env, o *options, dstName string) (*registry.Client, *base, reference.Reference, error) {
	if dstName == "" || dstName == "scratch" {
		return nil, nil, reference.Reference{}, usagef("scratch is empty: name the new image")
	}
	dst, err := reference.Parse(dstName)
	if err != nil {
		return nil, nil, dst, err
	}
	platforms, err := o.platforms()
	if err != nil || len(platforms) != 1 {
		return nil, nil, dst, usagef("choose one --platform for an image built from scratch")
	}
	c, err := o.client(e, []string{dst.Registry})
	if err != nil {
		return nil, nil, dst, err
	}
	return c, &base{img: images.Scratch(platforms[0])}, dst, nil
}

// loadBase reads only the manifest and the config of ref, choosing from
// an index the platform asked for (the host's by default).
func loadBase(ctx context.Context, e *env, c *registry.Client, ref reference.Reference, o *options) (*base, error) {
	repo := c.Repository(ref)
	doc, err := repo.FetchManifest(ctx, ref.Identifier())
	if err != nil {
		return nil, err
	}
	if doc.Index != nil {
		platforms, err := o.platforms()
		if err != nil || len(platforms) != 1 {
			return nil, usagef("%s is a multi-platform index; choose one platform with --platform", ref.Familiar())
		}
		d, err := manifest.SelectPlatform(doc.Index, platforms[0])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref.Familiar(), err)
		}
		if !o.quiet {
			fmt.Fprintf(e.stderr, "skiff: %s is a multi-platform index; editing its %s image\n", ref.Familiar(), platforms[0])
		}
		if doc, err = manifest.FetchDocument(ctx, repo, d); err != nil {
			return nil, err
		}
	}
	img, err := images.OpenDocument(ctx, repo, doc)
	if err != nil {
		return nil, err
	}
	return &base{repo: repo, ref: ref, img: img}, nil
}

// pushEdited writes an edited image to dst (images.Image.Write: the base's
// layers mounted or streamed when dst is another repository, the new
// layers and the config side by side, the manifest last) and returns its
// digest.
func pushEdited(ctx context.Context, b *base, img *images.Image, dst reference.Reference, o *options) (manifest.Digest, error) {
	return pushEditedWith(ctx, b, img, dst, &images.WriteOptions{Jobs: o.jobs})
}

// pushEditedWith is pushEdited with the write's options given.
func pushEditedWith(ctx context.Context, b *base, img *images.Image, dst reference.Reference, opts *images.WriteOptions) (manifest.Digest, error) {
	target := dst.Tag
	if dst.Digest != "" {
		target = dst.Digest
	}
	d, err := img.Write(ctx, b.dst, target, opts)
	b.dst.DiscardUploads(ctx) // those the blobs already there did not need
	return d.Digest, err
}

// sourceDate reads SOURCE_DATE_EPOCH, for reproducible timestamps.
func sourceDate(e *env) (*time.Time, error) {
	v := e.getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return nil, nil
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", v)
	}
	t := time.Unix(secs, 0).UTC()
	return &t, nil
}

// editTarget parses the destination of an edit: -t, or else the source.
func editTarget(src reference.Reference, to string) (reference.Reference, error) {
	if to == "" {
		if src.Tag == "" {
			return src, usagef("%s is named by digest; name the result with -t", src.Familiar())
		}
		src.Digest = ""
		return src, nil
	}
	return reference.Parse(to)
}
