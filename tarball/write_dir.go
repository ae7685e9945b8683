package tarball

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/skiffoci/skiff/internal/resume"
	"github.com/skiffoci/skiff/manifest"
)

// WriteDir writes what WriteFile would put in a tarball into the new
// directory dir instead, one file per entry, as dockersave's --no-tar
// does. dir must not exist. It is built in ".NAME.skiff-partial" beside
// dir and renamed to dir only when every blob is written and verified.
// An interrupted WriteDir resumes like WriteFile: the next WriteDir of the
// same images continues from the files and checkpoints it left.
func WriteDir(ctx context.Context, dir string, images []Image, opts *WriteOptions) (err error) {
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("tarball: %s already exists; it is never written into", dir)
	}
	p, err := NewPlan(images, opts)
	if err != nil {
		return err
	}
	data, statePath := resume.Names(dir)
	if opts.maxAge() >= 0 {
		resume.Sweep(filepath.Dir(dir), opts.maxAge(), filepath.Base(data))
	}
	fp := p.fingerprint()
	st, err := resume.OpenState(statePath, sha256.Sum256(append(fp[:], "directory"...)), p.fetchedCount(), opts != nil && opts.Fresh)
	if err != nil {
		return fmt.Errorf("tarball: writing %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	if st.Fresh() {
		if err := os.RemoveAll(data); err != nil {
			return fmt.Errorf("tarball: %w", err)
		}
	}
	if err := p.writeDir(ctx, data, st, opts); err != nil {
		return err
	}
	if err := os.Rename(data, dir); err != nil {
		return fmt.Errorf("tarball: %w", err)
	}
	st.Remove()
	return nil
}

// writeDir writes every entry of the plan as a file under root.
func (p *Plan) writeDir(ctx context.Context, root string, st *resume.State, opts *WriteOptions) error {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("tarball: %w", err)
	}
	for i := range p.Entries {
		e := &p.Entries[i]
		path := filepath.Join(root, filepath.FromSlash(e.Name))
		var err error
		switch {
		case e.Name[len(e.Name)-1] == '/':
			err = os.MkdirAll(path, 0o755)
		case !e.Fetched():
			err = os.WriteFile(path, e.data, 0o644)
		}
		if err != nil {
			return fmt.Errorf("tarball: %w", err)
		}
	}
	return p.fillBlobs(ctx, opts.jobs(), func(ctx context.Context, n int, e *Entry) (manifest.Verified, error) {
		proof, err := fillFile(ctx, filepath.Join(root, filepath.FromSlash(e.Name)), e, st, n, opts != nil && opts.Sync)
		if err != nil {
			return proof, fmt.Errorf("tarball: writing %s: %w", e.Name, err)
		}
		return proof, nil
	})
}

// fillFile writes the fetched entry e into its own file, resuming from
// checkpoint n of st, and returns the proof of what it holds.
func fillFile(ctx context.Context, path string, e *Entry, st *resume.State, n int, sync bool) (proof manifest.Verified, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return proof, err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	slot := &resume.Slot{File: f, Desc: e.Blob, State: st, Index: n}
	if _, proof, err = slot.Fill(ctx, func(off int64) (io.ReadCloser, error) {
		return manifest.FetchFrom(ctx, e.src, e.Blob, off)
	}); err != nil {
		return proof, err
	}
	if err := f.Truncate(e.Size); err != nil || !sync {
		return proof, err
	}
	return proof, f.Sync()
}
