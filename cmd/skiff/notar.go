package main

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/skiffoci/skiff/tarball"
)

// pullToDirectory writes what "skiff pull" would put in a tarball into
// the directory dir instead. The directory is built under a temporary
// name beside dir and renamed into place only when every blob arrived
// verified; an existing dir is refused, never merged into.
func pullToDirectory(ctx context.Context, e *env, o *options, srcs []location, dir string) error {
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("%s already exists; skiff will not write into it", dir)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- untar(pr, tmp) }()
	toPipe := *e
	toPipe.stdout = pw
	err = transfer(ctx, &toPipe, o, srcs, location{kind: kindDockerArchive, path: "-"})
	pw.CloseWithError(err)
	if uerr := <-done; err == nil {
		err = uerr
	}
	if err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

// untar writes the directories and regular files of a tarball skiff
// wrote into dir; any other entry, or a name that leaves dir, is an error.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			io.Copy(io.Discard, r)
			return nil
		}
		if err != nil {
			return err
		}
		name, err := tarball.CleanPath(hdr.Name)
		if err != nil {
			return err
		}
		if err := writeEntry(filepath.Join(dir, filepath.FromSlash(name)), hdr, tr); err != nil {
			return err
		}
	}
}

func writeEntry(path string, hdr *tar.Header, r io.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeDir:
		return os.MkdirAll(path, 0o755)
	case tar.TypeReg:
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, r); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	return fmt.Errorf("unexpected tar entry %q of type %c", hdr.Name, hdr.Typeflag)
}
