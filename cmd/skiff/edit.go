package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/tarball"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// base is an image about to be edited: where it lives and what it is.
type base struct {
	repo *registry.Repository
	ref  reference.Reference
	im   manifest.Image
}

// startEdit parses an edit's source and destination (dstName "" means
// the source's tag), builds the client and loads the base.
func startEdit(ctx context.Context, e *env, o *options, srcName, dstName string) (*registry.Client, *base, reference.Reference, error) {
	if srcName == "scratch" {
		return startScratch(e, o, dstName)
	}
	src, err := reference.Parse(srcName)
	if err != nil {
		return nil, nil, src, err
	}
	dst, err := editTarget(src, dstName)
	if err != nil {
		return nil, nil, dst, err
	}
	c, err := o.client(e, []string{src.Registry, dst.Registry})
	if err != nil {
		return nil, nil, dst, err
	}
	b, err := loadBase(ctx, e, c, src, o)
	return c, b, dst, err
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
	p := platforms[0]
	c, err := o.client(e, []string{dst.Registry})
	if err != nil {
		return nil, nil, dst, err
	}
	im := manifest.Image{
		Manifest: manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIManifest,
			Config: manifest.Descriptor{MediaType: manifest.MediaTypeOCIConfig}, Layers: []manifest.Descriptor{}},
		Config: manifest.Config{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant,
			RootFS: manifest.RootFS{Type: "layers", DiffIDs: []manifest.Digest{}}},
	}
	return c, &base{im: im}, dst, nil
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
	cfg, raw, err := manifest.FetchConfig(ctx, repo, doc.Manifest.Config)
	if err != nil {
		return nil, err
	}
	return &base{repo: repo, ref: ref, im: manifest.Image{Manifest: *doc.Manifest, Config: *cfg, ConfigRaw: raw}}, nil
}

// pushEdited pushes an edited image to dst: the base's layers (mounted or
// streamed when dst is another repository), the new layers, the config
// and the manifest. It returns the manifest's digest.
func pushEdited(ctx context.Context, c *registry.Client, b *base, im manifest.Image, dst reference.Reference, layers []*tarball.Layer, o *options) (manifest.Digest, error) {
	repo := c.Repository(dst)
	repo.WillPush()
	if b.repo != nil && (repo.Host() != b.repo.Host() || repo.Name() != b.repo.Name()) {
		if err := manifest.CopyBlobs(ctx, repo, b.repo, b.im.Manifest.Layers, &manifest.CopyOptions{Jobs: o.jobs}); err != nil {
			return "", err
		}
	}
	cfg, doc, err := im.Encode()
	if err != nil {
		return "", err
	}
	// The new layers and the config go up side by side: none depends on
	// another, and the manifest waits for all of them.
	errs := make([]error, len(layers)+1)
	var wg sync.WaitGroup
	wg.Add(len(layers) + 1)
	for i, l := range layers {
		go func() { defer wg.Done(); errs[i] = pushLayer(ctx, repo, l) }()
	}
	go func() { defer wg.Done(); errs[len(layers)] = repo.Push(ctx, doc.Manifest.Config, bytes.NewReader(cfg)) }()
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	target := dst.Tag
	if dst.Digest != "" {
		target = dst.Digest
	}
	if _, err := repo.PushManifest(ctx, doc.Raw, doc.MediaType, target); err != nil {
		return "", err
	}
	return doc.Digest, nil
}

func pushLayer(ctx context.Context, repo *registry.Repository, l *tarball.Layer) error {
	rc, err := l.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	return repo.Push(ctx, l.Desc, rc)
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
