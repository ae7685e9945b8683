package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
)

func init() {
	commands["manifest"] = manifestCommand
	commands["config"] = configCommand
	commands["digest"] = digestCommand
}

var manifestCommand = &command{
	summary: "print an image's manifest or index, byte for byte as stored",
	usage:   "[flags] REF",
	help: `REF is a registry reference or oci:DIR[:TAG], docker-archive:FILE[:REF],
oci-archive:FILE[:TAG]. The bytes are verified against their digest and printed
exactly as the registry (or the file) holds them, so their sha256 is the digest.
With --platform, the manifest of that platform is printed from an index.

examples:
  skiff manifest alpine:3.20
  skiff manifest --platform linux/arm64 ghcr.io/o/app:1.0
  skiff manifest oci:app-layout:1.0 | sha256sum`,
	run: runManifest,
}

var configCommand = &command{
	summary: "print an image's config (env, entrypoint, history, diffIDs)",
	usage:   "[flags] REF",
	help: `REF is a registry reference or oci:DIR[:TAG], docker-archive:FILE[:REF],
oci-archive:FILE[:TAG]. From a multi-platform index, the config of --platform
(this machine's by default) is printed. Only the manifests and the config are read.

examples:
  skiff config alpine:3.20
  skiff config --platform linux/arm64 ghcr.io/o/app:1.0
  skiff config docker-archive:app.tar`,
	run: runConfig,
}

var digestCommand = &command{
	summary: "print the digest of an image's manifest or index",
	usage:   "[flags] REF",
	help: `REF is a registry reference or oci:DIR[:TAG], docker-archive:FILE[:REF],
oci-archive:FILE[:TAG]. The digest is the root's: an index's for a multi-platform
image, unless --platform picks one of its manifests. --json prints the descriptor.

examples:
  skiff digest alpine:3.20
  skiff digest --json localhost:5000/app:dev`,
	run: runDigest,
}

// inspectFlags holds the flags of the commands that read one image.
type inspectFlags struct {
	o        options
	jsonOut  bool
	platform bool // whether the command takes --platform
}

// parseInspect parses the flags and the single REF of an inspecting
// command and opens the image, with the platform narrowed if asked.
func parseInspect(ctx context.Context, e *env, name string, f *inspectFlags, args []string, register func(*flag.FlagSet)) (*images.Source, error) {
	fs := newFlagSet(e, name)
	f.o.register(fs)
	fs.StringVar(&f.o.platform, "platform", "", "`OS/ARCH[/VARIANT]` to choose from a multi-platform index")
	if register != nil {
		register(fs)
	}
	if err := parse(e, fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() != 1 {
		return nil, usagef("want one REF, got %d arguments", fs.NArg())
	}
	return openInspected(ctx, e, &f.o, fs.Arg(0))
}

// openInspected opens the image named arg for reading.
func openInspected(ctx context.Context, e *env, o *options, arg string) (*images.Source, error) {
	loc, err := parseLocation(arg)
	if err != nil {
		return nil, err
	}
	c, err := o.client(e, hostsOf(loc))
	if err != nil {
		return nil, err
	}
	return images.OpenSource(ctx, loc, &images.Options{Client: c, MaxZstdWindow: o.maxZstdWindow()})
}

// inspectPlatform is the one platform --platform names, the host's when
// it is empty.
func inspectPlatform(o *options) (manifest.Platform, error) {
	ps, err := o.platforms()
	if err != nil {
		return manifest.Platform{}, err
	}
	if len(ps) != 1 {
		return manifest.Platform{}, usagef("--platform: choose one platform")
	}
	return ps[0], nil
}

// rootOrPlatform fetches src's root, or with --platform the manifest of
// that platform.
func rootOrPlatform(ctx context.Context, src *images.Source, o *options) (*manifest.Document, error) {
	if o.platform == "" {
		doc, err := manifest.FetchDocument(ctx, src.Store, src.Root)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src.Location, err)
		}
		return doc, nil
	}
	p, err := inspectPlatform(o)
	if err != nil {
		return nil, err
	}
	return src.Manifest(ctx, p)
}

func runManifest(ctx context.Context, e *env, args []string) error {
	var f inspectFlags
	src, err := parseInspect(ctx, e, "manifest", &f, args, nil)
	if err != nil {
		return err
	}
	defer src.Close()
	doc, err := rootOrPlatform(ctx, src, &f.o)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(doc.Raw)
	return err
}

func runConfig(ctx context.Context, e *env, args []string) error {
	var f inspectFlags
	src, err := parseInspect(ctx, e, "config", &f, args, nil)
	if err != nil {
		return err
	}
	defer src.Close()
	p, err := inspectPlatform(&f.o)
	if err != nil {
		return err
	}
	doc, err := src.Manifest(ctx, p)
	if err != nil {
		return err
	}
	raw, err := manifest.FetchAll(ctx, src.Store, doc.Manifest.Config, manifest.MaxConfigSize)
	if err != nil {
		return fmt.Errorf("%s: config: %w", src.Location, err)
	}
	_, err = e.stdout.Write(raw)
	return err
}

func runDigest(ctx context.Context, e *env, args []string) error {
	var f inspectFlags
	src, err := parseInspect(ctx, e, "digest", &f, args, func(fs *flag.FlagSet) {
		fs.BoolVar(&f.jsonOut, "json", false, "print the descriptor (mediaType, digest, size) as JSON")
	})
	if err != nil {
		return err
	}
	defer src.Close()
	desc := src.Root
	if f.o.platform != "" {
		doc, err := rootOrPlatform(ctx, src, &f.o)
		if err != nil {
			return err
		}
		desc = doc.Descriptor()
	}
	if f.jsonOut {
		return inspectJSON(e, manifest.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size})
	}
	_, err = fmt.Fprintln(e.stdout, desc.Digest)
	return err
}

// inspectJSON writes v to stdout as indented JSON.
func inspectJSON(e *env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// inspectWrite calls write with stdout for "-", or with a temporary file
// beside path that is renamed to path only when write succeeded: on
// failure nothing is left under path and an existing file is unchanged.
// The temporary file is new (O_EXCL) and the rename replaces whatever is
// at path, a symbolic link included, never writing through it.
func inspectWrite(e *env, path string, write func(io.Writer) error) error {
	if path == "-" {
		return write(e.stdout)
	}
	return safefile.Replace(path, 0o644, false, write)
}
