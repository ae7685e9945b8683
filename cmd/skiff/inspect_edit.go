package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/tarball"
)

func init() {
	commands["tag"] = tagCommand
	commands["delete"] = deleteCommand
	commands["flatten"] = flattenCommand
}

var tagCommand = &command{
	summary: "give an image another tag in its repository, moving no data",
	usage:   "[flags] REF NEWTAG",
	help: `The manifest (or index) REF names is fetched and put again under NEWTAG in the
same repository; no blob moves. The digest is printed on stdout.

examples:
  skiff tag ghcr.io/o/app:1.0.3 1.0
  skiff tag localhost:5000/app@sha256:… stable`,
	run: runTag,
}

var deleteCommand = &command{
	summary: "delete an image's manifest from a registry",
	usage:   "[flags] REF",
	help: `A tag is resolved to its digest first and the manifest is deleted by digest,
which removes every tag that names it (most registries delete only by digest).
A registry that keeps the tag afterwards (go-containerregistry's does) is asked
again, and the tag is deleted too; other tags naming the digest may then remain
there, and skiff says so. Many registries have deletion turned off. The deleted
digest is printed on stdout.

examples:
  skiff delete localhost:5000/app:old
  skiff delete registry.example.com/app@sha256:…`,
	run: runDelete,
}

var flattenCommand = &command{
	summary: "squash an image's layers into one and push the result",
	usage:   "[flags] REF [-t NEWREF]",
	help: `The layers (plain, gzip or zstd) are read one after another, their flattened
filesystem is gzip'd into a single new layer as it streams, and an image of that layer with REF's config
(history and diffIDs replaced) is pushed to NEWREF, or over REF's tag without -t.
Media types follow REF's (Docker or OCI). The new digest is printed on stdout.
SOURCE_DATE_EPOCH fixes the history timestamp.

examples:
  skiff flatten ghcr.io/o/app:1.0 -t ghcr.io/o/app:1.0-flat
  skiff flatten --platform linux/arm64 localhost:5000/app:dev -t localhost:5000/app:flat`,
	run: runFlatten,
}

// inspectRepo parses the one REF of a command that works on registries
// only and builds its client.
func inspectRepo(e *env, o *options, arg string) (*registry.Repository, reference.Reference, error) {
	ref, err := reference.Parse(arg)
	if err != nil {
		return nil, ref, err
	}
	c, err := o.client(e, hostsOf(registryLocation(ref)))
	if err != nil {
		return nil, ref, err
	}
	return c.Repository(ref), ref, nil
}

func runTag(ctx context.Context, e *env, args []string) error {
	var o options
	fs := newFlagSet(e, "tag")
	o.register(fs)
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("want REF and NEWTAG, got %d arguments", fs.NArg())
	}
	if !reference.ValidTag(fs.Arg(1)) {
		return usagef("%q is not a tag (a tag is up to 128 letters, digits, _ . -)", fs.Arg(1))
	}
	repo, ref, err := inspectRepo(e, &o, fs.Arg(0))
	if err != nil {
		return err
	}
	doc, err := repo.FetchManifest(ctx, ref.Identifier())
	if err != nil {
		return err
	}
	repo.WillPush()
	desc, err := repo.PushManifest(ctx, doc.Raw, doc.MediaType, fs.Arg(1))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, desc.Digest)
	return err
}

func runDelete(ctx context.Context, e *env, args []string) error {
	var o options
	fs := newFlagSet(e, "delete")
	o.register(fs)
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one REF, got %d arguments", fs.NArg())
	}
	repo, ref, err := inspectRepo(e, &o, fs.Arg(0))
	if err != nil {
		return err
	}
	repo.WillPush()
	digest := ref.Digest
	if digest == "" {
		root, err := repo.Resolve(ctx, ref.Tag)
		if err != nil {
			return err
		}
		digest = string(root.Digest)
	}
	if err := repo.Delete(ctx, digest); err != nil {
		return err
	}
	if err := deleteKeptTag(ctx, e, &o, repo, ref, digest); err != nil {
		return err
	}
	if !o.quiet {
		fmt.Fprintf(e.stderr, "skiff: deleted %s from %s\n", digest, ref.Name())
	}
	_, err = fmt.Fprintln(e.stdout, digest)
	return err
}

func runFlatten(ctx context.Context, e *env, args []string) error {
	var o options
	var to string
	fs := newFlagSet(e, "flatten")
	o.register(fs)
	o.registerZstd(fs)
	fs.StringVar(&o.platform, "platform", "", "`OS/ARCH[/VARIANT]` to take from a multi-platform image (default: this machine's)")
	fs.StringVar(&to, "t", "", "push the result as `NEWREF` instead of replacing REF")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one REF, got %d arguments", fs.NArg())
	}
	when, err := sourceDate(e)
	if err != nil {
		return err
	}
	b, dst, err := startEdit(ctx, e, &o, fs.Arg(0), to, 2)
	if err != nil {
		return err
	}
	if b.repo == nil {
		return usagef("scratch has no layers to flatten")
	}
	layer, err := flattenLayer(ctx, b, &o)
	if err != nil {
		return err
	}
	defer layer.Remove()
	if when == nil {
		now := time.Now().UTC()
		when = &now
	}
	img, err := b.img.WithoutLayers().AppendLayer(layer, manifest.History{Created: when, CreatedBy: "skiff flatten", Comment: "flattened by skiff"})
	if err != nil {
		return err
	}
	digest, err := pushEdited(ctx, b, img, dst, &o)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, digest)
	return err
}

// flattenLayer builds one layer of b's flattened filesystem: Flatten
// writes into a pipe that LayerFromTar compresses and hashes as it reads.
func flattenLayer(ctx context.Context, b *base, o *options) (*tarball.Layer, error) {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(tarball.Flatten(ctx, pw, inspectLayers(ctx, b.repo, b.img.Layers()), &tarball.ExportOptions{MaxZstdWindow: o.maxZstdWindow()}))
	}()
	layer, err := tarball.LayerFromTar(ctx, pr, nil)
	pr.CloseWithError(io.ErrClosedPipe) // stops Flatten if LayerFromTar gave up
	if err != nil {
		return nil, fmt.Errorf("flattening %s: %w", b.ref.Familiar(), err)
	}
	return layer, nil
}
