package tarball

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/skiffoci/skiff/internal/resume"
	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/manifest"
)

// WriteDir writes what WriteFile would put in a tarball into the new
// directory dir instead, one file per entry, as dockersave's --no-tar
// does. dir must not exist. It is built in ".NAME.skiff-partial" beside
// dir and renamed to dir only when every blob is written and verified.
// An interrupted WriteDir resumes like WriteFile: the next WriteDir of the
// same images continues from the files and checkpoints it left. The
// partial directory is continued only when it is a directory of skiff's
// own that no one else can write; anything else under its name is
// removed, never followed.
func WriteDir(ctx context.Context, dir string, images []Entry, opts *WriteOptions) (err error) {
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("tarball: %s already exists; it is never written into", dir)
	}
	p, err := NewPlan(images, opts)
	if err != nil {
		return err
	}
	d, err := safefile.OpenDir(filepath.Dir(dir))
	if err != nil {
		return fmt.Errorf("tarball: writing %s: %w", dir, err)
	}
	defer d.Close()
	base := filepath.Base(dir)
	data, state := resume.Names(base)
	if opts.maxAge() >= 0 {
		resume.Sweep(d, ".", opts.maxAge(), data)
	}
	fp := p.fingerprint()
	st, err := resume.OpenState(d, state, sha256.Sum256(append(fp[:], "directory"...)), p.fetchedCount(), opts != nil && opts.Fresh)
	if err != nil {
		return fmt.Errorf("tarball: writing %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	if err := p.writeDir(ctx, d, data, st, opts); err != nil {
		return err
	}
	if err := d.Commit(data, base, opts != nil && opts.Sync); err != nil {
		return fmt.Errorf("tarball: %w", err)
	}
	st.Remove()
	return nil
}

// writeDir writes every entry of the plan as a file under the partial
// directory name in d: the one an earlier run left, unless st is fresh.
func (p *Plan) writeDir(ctx context.Context, d *safefile.Dir, name string, st *resume.State, opts *WriteOptions) error {
	var root *safefile.Dir
	var err error
	if st.Fresh() {
		root, err = d.CreateDir(name, 0o755)
	} else {
		root, _, err = d.ReuseDir(name, 0o755)
	}
	if err != nil {
		return fmt.Errorf("tarball: %w", err)
	}
	defer root.Close() // before the rename: Windows renames no open directory
	for i := range p.Files {
		e := &p.Files[i]
		var err error
		switch {
		case e.Name[len(e.Name)-1] == '/':
			err = root.Root().MkdirAll(e.Name, 0o755)
		case !e.Fetched():
			err = root.WriteFile(e.Name, e.data, 0o644, false)
		}
		if err != nil {
			return fmt.Errorf("tarball: %w", err)
		}
		p.reportKnown(e)
	}
	conns := resume.NewConns(opts.jobs())
	return p.fillBlobs(ctx, opts.jobs(), func(ctx context.Context, n int, e *PlannedFile) (manifest.Verified, error) {
		proof, err := fillFile(ctx, root, e, st, n, conns, p.progress.Func(), opts)
		if err != nil {
			return proof, fmt.Errorf("tarball: writing %s: %w", e.Name, err)
		}
		return proof, nil
	})
}

// fillFile writes the fetched entry e into its own file in root, resuming
// from checkpoint n of st, and returns the proof of what it holds.
func fillFile(ctx context.Context, root *safefile.Dir, e *PlannedFile, st *resume.State, n int, conns *resume.Conns, progress func(manifest.Event), opts *WriteOptions) (proof manifest.Verified, err error) {
	f, err := resume.OpenPartial(root, e.Name, 0o644, -1, true)
	if err != nil {
		return proof, err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	slot := &resume.Slot{File: f, Desc: e.Blob, State: st, Index: n}
	if proof, err = e.fill(ctx, slot, conns, progress, opts); err != nil {
		return proof, err
	}
	if err := f.Truncate(e.Size); err != nil || opts == nil || !opts.Sync {
		return proof, err
	}
	return proof, f.Sync()
}
