package server

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/reference"
)

// A layout storage keeps repository a/b in ROOT/a/b, an OCI image layout
// (ROOT/a/b/oci-layout, index.json and blobs/). Repositories nest, a and
// a/b both, as distribution, zot and GitLab's registry allow; but no
// repository is ever stored among another's layout files, where gc would
// not see it and other tools would take it for content.

// layoutNames are the names of a layout's own files. The server's own
// entries of the root (.blobs, .uploads, .meta, .lock) start with a dot,
// which no repository name can.
var layoutNames = []string{layout.BlobsDir, layout.IndexFile, layout.LayoutFile}

// checkName refuses a repository name with a component that is one of a
// layout's own names: priv/many/blobs/sha256 would be stored inside the
// blobs directory of priv/many's layout.
func checkName(name string) error {
	parts := strings.Split(name, "/")
	for i, c := range parts {
		if !slices.Contains(layoutNames, c) {
			continue
		}
		where := "the registry's root"
		if i > 0 {
			where = "the layout of repository " + strings.Join(parts[:i], "/")
		}
		return &NameError{Name: name, Reason: fmt.Sprintf("its component %q is the name of a file every OCI image layout holds (%s), so the repository would be stored among the files of %s",
			c, strings.Join(layoutNames, ", "), where)}
	}
	return nil
}

// repositories lists, sorted, the repositories of the layout storage in
// d: each directory under the root, reached without following a link,
// whose path is a repository name checkName accepts and which holds an
// oci-layout file. It is the one list: the catalog shows it, the storage
// serves exactly these (see isLayout), and GC keeps what they reference.
func repositories(d *safefile.Dir) ([]string, error) {
	var repos []string
	err := fs.WalkDir(d.Root().FS(), ".", func(p string, e fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case p == ".":
			return nil
		case e.IsDir() && (!reference.ValidRepository(e.Name()) || slices.Contains(layoutNames, e.Name())):
			return fs.SkipDir // the store, uploads, a layout's blobs: nothing below is a repository
		case e.Name() == layout.LayoutFile && e.Type().IsRegular() && path.Dir(p) != ".":
			if dir := path.Dir(p); reference.ValidRepository(dir) {
				repos = append(repos, dir)
			}
		}
		return nil
	})
	slices.Sort(repos)
	return repos, err
}

// isLayout reports whether the repository name, which checkName accepts,
// is one repositories lists: each element of its path a directory, not a
// link, and an oci-layout file in the last.
func isLayout(d *safefile.Dir, name string) (bool, error) {
	for _, p := range prefixes(name) {
		fi, err := d.Root().Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if !fi.IsDir() {
			return false, nil
		}
	}
	fi, err := d.Root().Lstat(path.Join(name, layout.LayoutFile))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil && fi.Mode().IsRegular(), err
}

// prefixes returns a, a/b, a/b/c for a/b/c.
func prefixes(name string) []string {
	var out []string
	for i, c := range name {
		if c == '/' {
			out = append(out, name[:i])
		}
	}
	return append(out, name)
}

// checkNew refuses to start the layout of repository name, which is not
// one yet, where it would not be a layout of its own: through a link or a
// file in its path, or around the layout of a repository that an earlier
// server stored among another's layout files (a/blobs/x, made before such
// names were refused, when a is made).
func checkNew(d *safefile.Dir, name string) error {
	for _, p := range prefixes(name) {
		fi, err := d.Root().Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // nothing below either
		}
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return &NameError{Name: name, Reason: fmt.Sprintf("%s in the registry's root is %s, not a directory", p, kindOf(fi.Mode()))}
		}
	}
	for _, f := range layoutNames {
		fi, err := d.Root().Lstat(path.Join(name, f))
		if errors.Is(err, fs.ErrNotExist) || err == nil && fi.Mode().IsRegular() {
			continue
		}
		if err != nil {
			return err
		}
		if f == layout.BlobsDir && fi.IsDir() {
			nested, err := findLayout(d, path.Join(name, f))
			if nested != "" {
				return &NameError{Name: name, Reason: "its layout's blobs directory holds the layout of " + nested + ", which a registry stored there before such names were refused"}
			}
			if err != nil {
				return err
			}
			continue
		}
		return &NameError{Name: name, Reason: fmt.Sprintf("%s in the registry's root is %s, where its layout's %s goes", path.Join(name, f), kindOf(fi.Mode()), f)}
	}
	return nil
}

// findLayout returns the first directory under dir, reached without
// following a link, that holds an oci-layout file, or "".
func findLayout(d *safefile.Dir, dir string) (string, error) {
	found := ""
	err := fs.WalkDir(d.Root().FS(), dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.Name() == layout.LayoutFile && !e.IsDir() {
			found = path.Dir(p)
			return fs.SkipAll
		}
		return err
	})
	return found, err
}

// startLayout writes the files of an empty layout for repository name;
// oci-layout comes last: it marks a complete layout.
func startLayout(d *safefile.Dir, name string) error {
	if err := d.MkdirAll(path.Join(name, layout.BlobsDir), 0o755); err != nil {
		return err
	}
	if err := d.WriteFile(path.Join(name, layout.IndexFile), []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`), 0o644, true); err != nil {
		return err
	}
	return d.WriteFile(path.Join(name, layout.LayoutFile), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644, true)
}

// kindOf names a file's type for a message.
func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m.IsRegular():
		return "a file"
	}
	return "a special file"
}
