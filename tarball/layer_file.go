package tarball

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/manifest"
)

// A Layer is a layer whose digest is known before it is uploaded: built
// into a temporary file (LayerFromDir, LayerFromFiles, LayerFromTar), or a
// tar file used where it lies (LayerFromFile). Remove the temporary file
// when done with it.
type Layer struct {
	Desc   manifest.Descriptor // media type, digest and size of the layer
	DiffID manifest.Digest     // digest of the uncompressed tar
	path   string
	info   fs.FileInfo   // the file as written or found, to know it again
	temp   bool          // the file is the layer's own: Remove deletes it
	build  *LayerOptions // the file is a tar that Open turns into the layer, as WriteTarLayer does
}

// Open returns the layer's bytes. The reader checks them against Desc as
// it streams, so a file changed on disk fails the last Read. A file that
// is no longer the one written or found (another user replaced it in a
// shared temporary directory) is not opened.
func (l *Layer) Open() (io.ReadCloser, error) {
	f, err := safefile.Reopen(l.path, l.info)
	if err != nil {
		return nil, fmt.Errorf("tarball: opening layer %s: %w", l.Desc.Digest, err)
	}
	if l.build == nil {
		return manifest.VerifyReadCloser(f, l.Desc), nil
	}
	pr, pw := io.Pipe()
	go func() {
		_, _, err := WriteTarLayer(context.Background(), pw, f, l.build)
		f.Close()
		pw.CloseWithError(err) // nil: EOF
	}()
	return manifest.VerifyReadCloser(pr, l.Desc), nil // closing pr ends the goroutine's writes
}

// LayerFromFile uses the tar file at path as a layer where it lies,
// without copying it: nothing is written to opts.TempDir or anywhere
// else. A tar that already has the bytes the layer needs (gzip- or
// zstd-compressed for a compressed media type, plain for
// manifest.MediaTypeOCILayer) is the layer byte for byte; any other is
// turned into it as WriteTarLayer does, once now to learn the digests and
// again, streaming, each time the layer is opened. The file must not
// change while the layer is used: Open's verification would fail. Remove
// leaves the file where it is.
func LayerFromFile(ctx context.Context, path string, opts *LayerOptions) (*Layer, error) {
	path, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fmt.Errorf("tarball: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tarball: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("tarball: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("tarball: %s is not a regular file", path)
	}
	in := manifest.NewDigester(manifest.SHA256)
	desc, diffID, err := WriteTarLayer(ctx, io.Discard, io.TeeReader(f, in), opts)
	if err != nil {
		return nil, err
	}
	l := &Layer{Desc: desc, DiffID: diffID, path: path, info: info}
	if desc.Digest != in.Digest() {
		var o LayerOptions
		if opts != nil {
			o = *opts
		}
		l.build = &o
	}
	return l, nil
}

// Describe returns the layer's descriptor and diffID, as
// images.Image.AppendLayer wants them.
func (l *Layer) Describe() (manifest.Descriptor, manifest.Digest) { return l.Desc, l.DiffID }

// Remove deletes the layer's temporary file; a layer of LayerFromFile
// leaves its file alone. Removing it twice is not an error.
func (l *Layer) Remove() error {
	if !l.temp {
		return nil
	}
	err := os.Remove(l.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("tarball: %w", err)
	}
	return nil
}

// LayerFromDir builds a layer of the contents of dir, as
// LayerWriter.AddDir writes them, into a file in opts.TempDir.
func LayerFromDir(ctx context.Context, dir string, opts *LayerOptions) (*Layer, error) {
	return buildLayer(opts, func(lw *LayerWriter) error { return lw.AddDir(ctx, dir) })
}

// LayerFromFiles builds a layer of in-memory files, as LayerWriter.AddFiles
// writes them, into a file in opts.TempDir.
func LayerFromFiles(files map[string]File, opts *LayerOptions) (*Layer, error) {
	return buildLayer(opts, func(lw *LayerWriter) error { return lw.AddFiles(files) })
}

// LayerFromTar builds a layer of the tar stream r, as WriteTarLayer does,
// into a file in opts.TempDir.
func LayerFromTar(ctx context.Context, r io.Reader, opts *LayerOptions) (*Layer, error) {
	return toTempFile(opts, func(w io.Writer) (manifest.Descriptor, manifest.Digest, error) {
		return WriteTarLayer(ctx, w, r, opts)
	})
}

// buildLayer runs add against a LayerWriter that writes to a temporary file.
func buildLayer(opts *LayerOptions, add func(*LayerWriter) error) (*Layer, error) {
	return toTempFile(opts, func(w io.Writer) (manifest.Descriptor, manifest.Digest, error) {
		lw := NewLayerWriter(w, opts)
		if err := add(lw); err != nil {
			return manifest.Descriptor{}, "", err
		}
		if err := lw.Close(); err != nil {
			return manifest.Descriptor{}, "", err
		}
		return lw.Descriptor(), lw.DiffID(), nil
	})
}

// toTempFile runs produce against a new temporary file and returns the
// Layer it holds; on any failure the file is removed. os.CreateTemp makes
// the file with O_EXCL, mode 0600 and a random name, so nothing planted
// in a shared temporary directory is opened or followed; Open reads it
// again only if it is still that file.
func toTempFile(opts *LayerOptions, produce func(io.Writer) (manifest.Descriptor, manifest.Digest, error)) (l *Layer, err error) {
	dir := ""
	if opts != nil {
		dir = opts.TempDir
	}
	f, err := os.CreateTemp(dir, "skiff-layer-*")
	if err != nil {
		return nil, fmt.Errorf("tarball: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	desc, diffID, err := produce(bw)
	if err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("tarball: writing layer: %w", err)
	}
	info, err := f.Stat()
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("tarball: writing layer: %w", err)
	}
	return &Layer{Desc: desc, DiffID: diffID, path: f.Name(), info: info, temp: true}, nil
}
