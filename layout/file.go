package layout

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/manifest"
)

// lstatFS is implemented by file systems that can describe a symbolic link
// itself rather than its target: io/fs.ReadLinkFS (Go 1.25) has this
// method, and so have os.DirFS and fstest.MapFS.
type lstatFS interface {
	Lstat(name string) (fs.FileInfo, error)
}

func lstat(fsys fs.FS, name string) (fs.FileInfo, error) {
	if l, ok := fsys.(lstatFS); ok {
		return l.Lstat(name)
	}
	return fs.Stat(fsys, name)
}

// openRegular opens name and refuses anything but a regular file. The type
// is checked before opening, so that a FIFO is never opened (which could
// block), and again on the open file, in case the name changed in between.
func openRegular(fsys fs.FS, name string) (fs.File, fs.FileInfo, error) {
	info, err := lstat(fsys, name)
	if err != nil {
		return nil, nil, err
	}
	if err := checkRegular(name, info); err != nil {
		return nil, nil, err
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, nil, err
	}
	info, err = f.Stat()
	if err == nil {
		err = checkRegular(name, info)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

func checkRegular(name string, info fs.FileInfo) error {
	if info.Mode().IsRegular() {
		return nil
	}
	return &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w: it is %s", ErrNotRegular, safefile.Kind(info.Mode()))}
}

// rootFS is the layout's directory as an fs.FS, through the os.Root the
// Layout keeps: no name resolves outside it, and Open neither follows a
// symbolic link in the last element of a name nor blocks on a FIFO, where
// the system allows.
type rootFS struct{ root *os.Root }

func (r rootFS) Open(name string) (fs.File, error) {
	if err := validName("open", name); err != nil {
		return nil, err
	}
	f, err := r.root.OpenFile(name, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (r rootFS) Lstat(name string) (fs.FileInfo, error) {
	if err := validName("lstat", name); err != nil {
		return nil, err
	}
	return r.root.Lstat(name)
}

func validName(op, name string) error {
	if !fs.ValidPath(name) || strings.Contains(name, `\`) {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return nil
}

// writeAtomic writes the file name in the directory dir of the layout
// under a temporary name, syncs it when sync is set, and renames it to
// name. When write or any later step fails, the temporary file is removed
// and nothing appears under name.
func (l *Layout) writeAtomic(dir, name string, sync bool, write func(io.Writer) error) error {
	return l.d.Replace(path.Join(dir, name), 0o644, sync, write)
}

// writeBlob writes the blob desc names in dir under its hex name, as
// writeAtomic does, from what fill writes: the file is renamed into place
// only when fill's proof is for desc.
func (l *Layout) writeBlob(dir string, desc manifest.Descriptor, sync bool, fill func(io.Writer) (manifest.Verified, error)) error {
	return l.writeAtomic(dir, desc.Digest.Hex(), sync, func(w io.Writer) error {
		proof, err := fill(w)
		if err != nil {
			return err
		}
		return proof.Check(desc)
	})
}

// writeFileAtomic replaces the small file name (index.json, oci-layout)
// of the layout in d with data, always synced: it is what makes a
// layout's change durable.
func writeFileAtomic(d *safefile.Dir, name string, data []byte) error {
	return d.WriteFile(name, data, 0o644, true)
}

// layoutMarker is the content of the oci-layout file.
type layoutMarker struct {
	Version string `json:"imageLayoutVersion"`
}

const layoutVersion = "1.0.0"

// readLayoutFile checks that fsys holds an oci-layout file of version 1.
func readLayoutFile(fsys fs.FS) error {
	f, _, err := openRegular(fsys, LayoutFile)
	if err != nil {
		return fmt.Errorf("layout: not an OCI image layout: %w", err)
	}
	defer f.Close()
	raw, err := manifest.ReadLimited(f, maxLayoutFileSize, LayoutFile)
	if err != nil {
		return fmt.Errorf("layout: %w", err)
	}
	var m layoutMarker
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("layout: %s: %w", LayoutFile, err)
	}
	if major, _, _ := strings.Cut(m.Version, "."); major != "1" {
		return fmt.Errorf("layout: %s: unsupported imageLayoutVersion %q", LayoutFile, truncate(m.Version, 40))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
