package images

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/skiffoci/skiff/internal/iobuf"
	"github.com/skiffoci/skiff/internal/resume"
	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

// layoutArchiveSuffix names the partial layout of an oci-archive written
// with Referrers: ".NAME.layout.skiff-partial" (a directory) with its
// lock ".NAME.layout.skiff-state", beside the archive.
const layoutArchiveSuffix = ".layout"

// writeLayoutArchive copies s, with what refers to it, into an OCI layout
// kept as a partial directory beside dst, then writes that layout as one
// tar under dst's name: an oci-archive as skopeo and umoci read it, with
// every platform asked for and the referrers in its index.json. An
// interrupted run leaves the partial layout for the same command to
// continue; a finished one removes it. The partial names are skiff's own:
// anything else found under them is removed, never followed, and the
// partial layout is opened once, through the output's directory, and used
// through that open directory to the end, whatever its name leads to
// meanwhile.
func (s *Source) writeLayoutArchive(ctx context.Context, dst Location, platforms []manifest.Platform, o *Options) (manifest.Descriptor, error) {
	out, err := safefile.OpenDir(filepath.Dir(dst.Path))
	if err != nil {
		return manifest.Descriptor{}, err
	}
	defer out.Close()
	data, state := resume.Names(filepath.Base(dst.Path) + layoutArchiveSuffix)
	key := sha256.Sum256(fmt.Appendf(nil, "layout archive\x00%s\x00%v", s.Root.Digest, platforms))
	st, err := resume.OpenState(out, state, key, 0, o.Fresh)
	if err != nil {
		return manifest.Descriptor{}, err
	}
	defer st.Close()
	sub, err := openPartialLayout(ctx, out, data, !st.Fresh())
	if err != nil {
		return manifest.Descriptor{}, err
	}
	lay, err := layout.CreateRoot(sub.Root()) // lay owns sub's directory from here on
	if err != nil {
		return manifest.Descriptor{}, err
	}
	defer lay.Close()
	if err := readyLayout(lay, o); err != nil {
		return manifest.Descriptor{}, err
	}
	if age, ok := o.maxAge(); ok {
		if _, err := resume.Sweep(out, ".", age, data); err != nil {
			return manifest.Descriptor{}, err
		}
	}
	root, err := s.copyGraph(ctx, lay, Location{Kind: KindOCI, Path: filepath.Join(filepath.Dir(dst.Path), data), Name: dst.Name}, dst.Name, platforms, o)
	if err != nil {
		return root, err
	}
	if _, err := lay.RemovePartials(0); err != nil {
		return root, err
	}
	if err := writeTarFile(out, sub, filepath.Base(dst.Path), data, o.Sync); err != nil {
		return root, err
	}
	return root, errors.Join(out.Remove(data), st.Remove())
}

// openPartialLayout opens the partial layout data in out, a directory of
// skiff's own, private (0700) as skiff's state is: the one an interrupted
// run left, when keep is set and it can be continued, or else a new,
// empty one.
func openPartialLayout(ctx context.Context, out *safefile.Dir, data string, keep bool) (*safefile.Dir, error) {
	if keep {
		sub, fresh, err := out.ReuseDir(data, 0o700)
		if err != nil {
			return nil, err
		}
		if fresh || partialLayoutIntact(ctx, sub.Root().FS()) {
			return sub, nil
		}
		sub.Close()
	}
	return out.CreateDir(data, 0o700)
}

// partialLayoutIntact reports whether the layout an interrupted run left
// in fsys can be continued: its index.json parses, every blob under its
// final name still hashes to that name, and every entry of index.json is
// among them. Anything else is not trusted: the layout is started over.
// (Blobs cut short are the layout's own partials, checked when resumed.)
func partialLayoutIntact(ctx context.Context, fsys fs.FS) bool {
	raw, err := fs.ReadFile(fsys, "index.json")
	if err != nil {
		return false
	}
	idx, err := manifest.Parse(raw, manifest.MediaTypeOCIIndex)
	if err != nil || idx.Index == nil {
		return false
	}
	const blobs = "blobs/sha256"
	entries, err := fs.ReadDir(fsys, blobs)
	if err != nil {
		return false
	}
	have := map[manifest.Digest]bool{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		d := manifest.Digest("sha256:" + e.Name())
		if !e.Type().IsRegular() || d.Validate() != nil || fileHashes(ctx, fsys, blobs+"/"+e.Name(), d) != nil {
			return false
		}
		have[d] = true
	}
	for _, m := range idx.Index.Manifests {
		if !have[m.Digest] {
			return false
		}
	}
	return true
}

// fileHashes fails unless the file name in fsys has digest d.
func fileHashes(ctx context.Context, fsys fs.FS, name string, d manifest.Digest) error {
	return readFile(fsys, name, func(size int64, r io.Reader) error {
		_, err := iobuf.Copy(io.Discard, manifest.VerifyReadCloser(io.NopCloser(iobuf.ContextReader(ctx, r)), manifest.Descriptor{Digest: d, Size: size}))
		return err
	})
}

// readFile hands the file name in fsys, and its size, to read.
func readFile(fsys fs.FS, name string, read func(size int64, r io.Reader) error) error {
	f, err := fsys.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", name)
	}
	if err := read(fi.Size(), f); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// writeTarFile writes the partial layout sub, which is data in out, as a
// tar into a new file in sub, then names that file name in out.
func writeTarFile(out, sub *safefile.Dir, name, data string, sync bool) (err error) {
	const tmp = ".skiff-archive"
	f, err := sub.Create(tmp, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			sub.Remove(tmp)
		}
	}()
	if err = tarLayout(f, sub.Root().FS()); err != nil {
		return err
	}
	if sync {
		if err = f.Sync(); err != nil {
			return err
		}
	}
	if err = f.Close(); err != nil {
		return err
	}
	return out.Commit(data+"/"+tmp, name, sync)
}

// tarLayout writes the OCI layout in fsys to w as a tar: oci-layout,
// index.json and every blob, in a fixed order with fixed metadata, so the
// same layout always makes the same bytes. Hidden files (partial blobs,
// the archive being written) are left out.
func tarLayout(w io.Writer, fsys fs.FS) error {
	names := []string{"oci-layout", "index.json"}
	algs, err := fs.ReadDir(fsys, "blobs")
	if err != nil {
		return err
	}
	var dirs []string
	for _, a := range algs {
		if !a.IsDir() || strings.HasPrefix(a.Name(), ".") {
			continue
		}
		dirs = append(dirs, "blobs/"+a.Name())
		blobs, err := fs.ReadDir(fsys, "blobs/"+a.Name())
		if err != nil {
			return err
		}
		for _, b := range blobs {
			if b.Type().IsRegular() && !strings.HasPrefix(b.Name(), ".") {
				names = append(names, "blobs/"+a.Name()+"/"+b.Name())
			}
		}
	}
	slices.Sort(names[2:])
	tw := tar.NewWriter(w)
	mtime := time.Unix(0, 0)
	for _, d := range append([]string{"blobs"}, dirs...) {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: mtime}); err != nil {
			return err
		}
	}
	for _, name := range names {
		if err := tarFile(tw, fsys, name, mtime); err != nil {
			return err
		}
	}
	return tw.Close()
}

// tarFile streams the file name in fsys into tw under its name.
func tarFile(tw *tar.Writer, fsys fs.FS, name string, mtime time.Time) error {
	return readFile(fsys, name, func(size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: mtime}); err != nil {
			return err
		}
		_, err := iobuf.Copy(tw, r)
		return err
	})
}
