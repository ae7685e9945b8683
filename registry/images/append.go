package images

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

// Append writes to dst the image at base with one layer appended for
// each of paths, as `skiff append` does: a tar file (plain, gzip'd or
// zstd'd) is used where it lies, as tarball.LayerFromFile uses it; a
// directory becomes a layer of its contents, as tarball.LayerFromDir
// makes one. base is a location as Open reads it, or "scratch" for an
// image of no layers (of opts.Platforms' one platform, the host's by
// default). Only the base's manifest and config are read: its layers are
// already in dst's repository, mounted within one registry, or streamed
// across, as Write does. Each new layer's history names its file; no
// time is recorded, so the same inputs make the same image. It returns
// the new image's manifest descriptor.
func Append(ctx context.Context, base, dst string, paths []string, opts *Options) (manifest.Descriptor, error) {
	if len(paths) == 0 {
		return manifest.Descriptor{}, errors.New("images: append: no layer to append")
	}
	img, err := openBase(ctx, base, opts)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	defer img.Close()
	for _, p := range paths {
		l, err := layerFromPath(ctx, p)
		if err != nil {
			return manifest.Descriptor{}, err
		}
		defer l.Remove()
		if img, err = img.AppendLayer(l, manifest.History{CreatedBy: "skiff append " + filepath.Base(p)}); err != nil {
			return manifest.Descriptor{}, err
		}
	}
	return Write(ctx, img, dst, opts)
}

// openBase opens base, or makes a Scratch image for "scratch".
func openBase(ctx context.Context, base string, opts *Options) (*Image, error) {
	if base != "scratch" {
		return Open(ctx, base, opts)
	}
	p, err := opts.platform()
	if err != nil {
		return nil, err
	}
	return Scratch(p), nil
}

// layerFromPath makes a layer of the tar file or directory at path.
func layerFromPath(ctx context.Context, path string) (*tarball.Layer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("images: append: %w", err)
	}
	if fi.IsDir() {
		return tarball.LayerFromDir(ctx, path, nil)
	}
	return tarball.LayerFromFile(ctx, path, nil)
}
