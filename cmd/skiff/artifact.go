package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/skiffoci/skiff/internal/progress"
	artifacts "github.com/skiffoci/skiff/registry/artifact"
)

func init() {
	commands["artifact"] = artifactCommand
	subcommands["artifact push"] = artifactPushCommand
	subcommands["artifact pull"] = artifactPullCommand
}

var artifactCommand = &command{
	summary: "push files to a registry as an OCI artifact, and pull them back, as oras does",
	usage:   "push|pull [flags] ARGS",
	help: `"skiff artifact push" sends files and directories as one OCI artifact; "skiff artifact
pull" writes an artifact's files into a directory. What oras pushes, skiff pulls, and
the other way round. Run "skiff artifact push --help" or "skiff artifact pull --help"
for their flags.

examples:
  skiff artifact push ghcr.io/o/config:1 app.toml certs/
  skiff artifact pull ghcr.io/o/config:1 /etc/app`,
	run: runArtifact,
}

var artifactPushCommand = &command{
	summary: "push files and directories as one OCI artifact",
	usage:   "[flags] DST [FILE[:MEDIATYPE]|DIR[:MEDIATYPE]...]",
	help: `DST is a registry reference, oci:DIR[:TAG] or oci-archive:FILE[:TAG] (a new archive
holding the artifact). The artifact is an OCI 1.1 image manifest with --artifact-type
(application/vnd.unknown.artifact.v1 by default, as oras), the empty config, and one
layer per FILE, named by its path as given (cleaned; an absolute path or one that
climbs with .. is refused: push from the file's directory). A FILE's layer has media
type application/vnd.oci.image.layer.v1.tar unless FILE:MEDIATYPE names one, as oras
spells it ("a:b.txt:" is the file a:b.txt). A DIR is one tar+gzip layer of its
contents under its name, marked for unpacking as oras marks it
(io.deis.oras.content.unpack), so that "oras pull" and "skiff artifact pull" restore
it; it is built in a temporary file (TMPDIR) once, with both digests in the same
pass, and removed afterwards. Files stream from disk, read once for their digest and
once to send them. The manifest gets org.opencontainers.image.created (the time of
the push, or SOURCE_DATE_EPOCH), unless --annotation gives it.

With --subject, the artifact refers to that image (a tag, a digest or a whole
reference, in DST's repository or layout) and is listed among its referrers: through
the referrers API, or the sha256-<hex> tag on registries without it; it is left
untagged unless DST names a tag. Without --subject, a DST without a tag is tagged
latest. The manifest's digest is printed on stdout.

examples:
  skiff artifact push localhost:5000/demo/config:1 app.toml certs/
  skiff artifact push --artifact-type application/vnd.example.model model:1 weights.bin:application/octet-stream
  skiff artifact push --artifact-type application/spdx+json --subject ghcr.io/o/app:1.0 ghcr.io/o/app sbom.spdx.json
  skiff artifact push oci:bundle:1 conf/`,
	run: runArtifactPush,
}

var artifactPullCommand = &command{
	summary: "write the files of an OCI artifact into a directory",
	usage:   "[flags] REF [DIR]",
	help: `REF is a registry reference, oci:DIR:TAG or oci-archive:FILE:TAG. Each layer with a
title (org.opencontainers.image.title) is written under DIR (the current directory by
default) by that name, and a directory pushed by oras or skiff is unpacked; layers
without a title are skipped. Every blob is verified before it is named, and the
unpacked tar against its io.deis.oras.content.digest. A title that is absolute, holds
.., or reaches outside DIR through a symbolic link is refused, and so is an unpacked
entry outside its directory, a symbolic link in it that leads outside it, or more than
--max-uncompressed bytes; nothing is written outside DIR. An existing file or
directory under a title is an error, and nothing is written, unless --overwrite
replaces it (a directory as a whole).

With --referrer-of IMG --artifact-type TYPE, the artifact pulled is the newest of
TYPE that refers to IMG (by its org.opencontainers.image.created annotation, else the
last one listed); REF is then not given. The artifact's digest is printed on stdout.

examples:
  skiff artifact pull ghcr.io/o/config:1 /etc/app
  skiff artifact pull --overwrite oci:bundle:1 ./conf
  skiff artifact pull --referrer-of ghcr.io/o/app:1.0 --artifact-type application/spdx+json ./sbom`,
	run: runArtifactPull,
}

func runArtifact(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "push":
			return runArtifactPush(ctx, e, args[1:])
		case "pull":
			return runArtifactPull(ctx, e, args[1:])
		}
	}
	if err := parse(e, newFlagSet(e, "artifact"), args); err != nil {
		return err // --help lands here
	}
	return usagef("the subcommands are push and pull")
}

func runArtifactPush(ctx context.Context, e *env, args []string) error {
	var o options
	var annotations stringList
	popts := &artifacts.PushOptions{}
	fs := newFlagSet(e, "artifact push")
	o.register(fs)
	fs.StringVar(&popts.ArtifactType, "artifact-type", "", "the artifact's `TYPE` (default application/vnd.unknown.artifact.v1)")
	fs.Var(&annotations, "annotation", "set the manifest annotation `KEY=VALUE` (repeatable)")
	fs.StringVar(&popts.Subject, "subject", "", "make the artifact refer to the image `REF` in DST's repository or layout")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 {
		return usagef("want DST and the files to push")
	}
	dst, err := parseLocation(fs.Arg(0))
	if err != nil {
		return err
	}
	var files []artifacts.File
	for _, a := range fs.Args()[1:] {
		f, err := artifacts.ParseFile(a)
		if err != nil {
			return usagef("%v", err)
		}
		files = append(files, f)
	}
	if popts.Annotations, err = parseAnnotations(annotations); err != nil {
		return err
	}
	if t, err := sourceDate(e); err != nil || t != nil {
		if err != nil {
			return err
		}
		popts.Created = *t
	}
	var display *progress.Display
	if popts.Images, display, err = o.transferSetup(e, &dst, dst); err != nil {
		return err
	}
	defer display.Close()
	desc, err := artifacts.Push(ctx, fs.Arg(0), files, popts)
	if err != nil {
		return err
	}
	to := dst.String()
	if popts.Subject != "" {
		to = fmt.Sprintf("%s, referring to %s", fs.Arg(0), popts.Subject)
	}
	e.note(&o, "skiff: pushed %d %s to %s\n", len(files), plural(len(files), "file", "files"), to)
	fmt.Fprintln(e.stdout, desc.Digest)
	return nil
}

func runArtifactPull(ctx context.Context, e *env, args []string) error {
	var o options
	var referrerOf string
	popts := &artifacts.PullOptions{}
	fs := newFlagSet(e, "artifact pull")
	o.register(fs)
	fs.BoolVar(&popts.Overwrite, "overwrite", false, "replace files and directories already under the artifact's titles")
	fs.StringVar(&referrerOf, "referrer-of", "", "pull the newest artifact of --artifact-type that refers to the image `IMG`")
	fs.StringVar(&popts.ReferrerType, "artifact-type", "", "with --referrer-of, the `TYPE` of artifact to pull")
	maxUnpacked := fs.Int64("max-uncompressed", 0, "refuse a directory that unpacks to more than `BYTES` (default 64 GiB)")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	popts.MaxUncompressed = *maxUnpacked
	src, rest, err := pullSource(fs.Args(), referrerOf, popts.ReferrerType)
	if err != nil {
		return err
	}
	dir := "."
	if len(rest) == 1 {
		dir = rest[0]
	}
	loc, err := parseLocation(src)
	if err != nil {
		return err
	}
	var display *progress.Display
	if popts.Images, display, err = o.transferSetup(e, nil, loc); err != nil {
		return err
	}
	defer display.Close()
	got, err := artifacts.Pull(ctx, src, dir, popts)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%w (--overwrite replaces it)", err)
	}
	if err != nil {
		return err
	}
	for _, t := range got.Titles {
		e.note(&o, "skiff: wrote %s\n", filepath.Join(dir, filepath.FromSlash(t)))
	}
	if got.Untitled > 0 {
		e.note(&o, "skiff: skipped %d %s without a title\n", got.Untitled, plural(got.Untitled, "layer", "layers"))
	}
	fmt.Fprintln(e.stdout, got.Artifact.Digest)
	return nil
}

// pullSource returns what artifact pull reads (REF, or IMG with
// --referrer-of) and the arguments left: at most DIR.
func pullSource(args []string, referrerOf, artifactType string) (string, []string, error) {
	switch {
	case referrerOf != "" && artifactType == "":
		return "", nil, usagef("--referrer-of needs --artifact-type")
	case referrerOf == "" && artifactType != "":
		return "", nil, usagef("--artifact-type chooses among the referrers of --referrer-of IMG")
	case referrerOf != "" && len(args) <= 1:
		return referrerOf, args, nil
	case referrerOf != "":
		return "", nil, usagef("with --referrer-of, want at most DIR, got %d arguments", len(args))
	case len(args) == 0 || len(args) > 2:
		return "", nil, usagef("want REF and at most DIR, got %d arguments", len(args))
	}
	return args[0], args[1:], nil
}
