package main

import (
	"context"
	"fmt"
	"os"

	"github.com/skiffoci/skiff/internal/progress"
	"github.com/skiffoci/skiff/registry/server"
)

var gcCommand = &command{
	summary: "remove the blobs no image of a registry root references",
	usage:   "[--root DIR] [--dry-run]",
	help: `"skiff registry gc" frees the disk of blobs that no manifest or index of any
repository under --root references: the layers and configs of deleted images and of
pushes that never finished. In each repository every manifest and index of its
index.json (tagged or not) is kept, with its config, layers, child manifests and
subject, recursively; so a signature or SBOM stays with the image it refers to, and
an image deleted by digest goes. A blob leaves a repository's layout when that
repository does not reference it, and the shared store (ROOT/.blobs) when none does.
Temporary files of an interrupted run go too. A repository whose manifests cannot be
read is left alone, with a warning.

Each file removed is printed on stdout as "PATH SIZE", PATH relative to --root; with
--dry-run the same list is what would go, and nothing changes.

Run it with the server stopped: it takes ROOT/.lock, which "skiff registry serve"
holds while it runs, and refuses to start while a server (or another gc) holds it.
A running server could otherwise lose the blobs of a push in progress, which no
manifest references until the push ends.

examples:
  skiff registry gc --root ./images --dry-run
  skiff registry gc --root ./images`,
}

func runGC(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "registry gc")
	root := fs.String("root", "skiff-registry", "the registry's `DIR`, as given to registry serve")
	dry := fs.Bool("dry-run", false, "list what would be removed, and change nothing")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("gc takes flags only")
	}
	if _, err := os.Stat(*root); err != nil {
		return err
	}
	lock, err := server.LockRoot(*root, !*dry)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	res, err := server.GC(ctx, *root, *dry)
	if res != nil {
		reportGC(e, res, *dry)
	}
	return err
}

func reportGC(e *env, res *server.GCResult, dry bool) {
	for _, f := range res.Removed {
		fmt.Fprintf(e.stdout, "%s %d\n", f.Path, f.Size)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(e.stderr, "skiff: gc left a repository alone: %s\n", s)
	}
	what := "removed"
	if dry {
		what = "would remove"
	}
	fmt.Fprintf(e.stderr, "skiff: gc %s %d files, freeing %s; %d blobs stay\n", what, len(res.Removed), progress.Bytes(res.Freed), res.Kept)
}
