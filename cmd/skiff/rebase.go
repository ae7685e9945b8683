package main

import (
	"context"
	"fmt"

	"github.com/skiffoci/skiff/internal/resume"
	"github.com/skiffoci/skiff/registry/images"
)

func init() { commands["rebase"] = rebaseCommand }

var rebaseCommand = &command{
	summary: "move an image (or every platform of an index) onto a new base image, without pulling it",
	usage:   "[flags] IMG [--old-base OLD] --new-base NEW [-t DST]",
	help: `IMG's bottom layers must be OLD's (compared by diffID); they are replaced by NEW's,
and IMG's own layers are kept, with the config's diffIDs and history rewritten to
match. The config stays IMG's, but where IMG kept a value of OLD's, NEW's is taken:
os, architecture, variant, os.version, os.features, Entrypoint, Cmd, User,
WorkingDir, StopSignal, Healthcheck, Shell, ArgsEscaped, and Env, Labels,
ExposedPorts and Volumes key by key. The annotations
org.opencontainers.image.base.name and .base.digest are set to NEW (its full name,
and the digest it resolved to); without --old-base, OLD is the image those
annotations name on IMG (left by an earlier rebase, or by buildkit). Of an index,
every platform is rebased onto NEW's image of that platform.

Only manifests and configs are read: IMG's layers are already in its repository,
NEW's are mounted within one registry and streamed across registries, never to
disk. The result replaces IMG's tag unless -t names another place; its digest is
printed on stdout. IMG, OLD, NEW and DST may also be oci:DIR:TAG,
docker-archive:FILE or oci-archive:FILE.

examples:
  skiff rebase ghcr.io/o/app:1 --old-base debian:12.5 --new-base debian:12.6
  skiff rebase ghcr.io/o/app:1 --new-base debian:12 -t ghcr.io/o/app:1-rebased`,
	run: runRebase,
}

func runRebase(ctx context.Context, e *env, args []string) error {
	var o options
	var oldBase, newBase, tag string
	fs := newFlagSet(e, "rebase")
	o.register(fs)
	o.registerZstd(fs)
	fs.StringVar(&oldBase, "old-base", "", "the base `OLD` IMG was built on (default: the one its base annotations name)")
	fs.StringVar(&newBase, "new-base", "", "the base `NEW` to move IMG onto")
	fs.StringVar(&tag, "t", "", "push the result as `DST` instead of replacing IMG")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one IMG, got %d arguments", fs.NArg())
	}
	if newBase == "" {
		return usagef("name the new base with --new-base")
	}
	img := fs.Arg(0)
	dst := tag
	if dst == "" {
		dst = img
	}
	var locs []images.Location
	for _, s := range []string{img, oldBase, newBase, dst} {
		if s == "" {
			continue
		}
		l, err := parseLocation(s)
		if err != nil {
			return err
		}
		locs = append(locs, l)
	}
	if d := locs[len(locs)-1]; d.Kind == images.KindRegistry && d.Ref.Digest != "" {
		return usagef("%s names a digest, which a rebase changes: name the result with -t", dst)
	}
	o.partialMaxAge = resume.DefaultMaxAge
	opts, display, err := o.transferSetup(e, &locs[len(locs)-1], locs...)
	if err != nil {
		return err
	}
	defer display.Close()
	desc, err := images.Rebase(ctx, img, oldBase, newBase, dst, opts)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, desc.Digest)
	return nil
}
