package registrytest

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/skiffoci/skiff/manifest"
)

// dirStorage keeps content in a directory, laid out like distribution's
// filesystem driver:
//
//	blobs/<algorithm>/<hex>
//	repositories/<name>/_links/<kind>/<name with ':' as '-'>   (a JSON Link)
//
// Every file is written to a temporary name and renamed into place, blobs
// only once their digest is verified.
type dirStorage struct {
	root string
}

// NewDirStorage returns a Storage kept under dir, which is created when
// first written to. Content already there is served.
func NewDirStorage(dir string) Storage {
	return &dirStorage{root: dir}
}

func (s *dirStorage) blobPath(d manifest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", err
	}
	return filepath.Join(s.root, "blobs", d.Algorithm(), d.Hex()), nil
}

func (s *dirStorage) StatBlob(d manifest.Digest) (int64, error) {
	p, err := s.blobPath(d)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return 0, pathError(err, "blob "+string(d))
	}
	return fi.Size(), nil
}

func (s *dirStorage) OpenBlob(d manifest.Digest) (io.ReadSeekCloser, error) {
	p, err := s.blobPath(d)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, pathError(err, "blob "+string(d))
	}
	return f, nil
}

func (s *dirStorage) PutBlob(d manifest.Digest, r io.Reader) (int64, error) {
	p, err := s.blobPath(d)
	if err != nil {
		return 0, err
	}
	desc := manifest.Descriptor{Digest: d, Size: manifest.SizeUnknown}
	var n int64
	err = writeAtomic(p, func(w io.Writer) error {
		var err error
		n, err = io.Copy(w, manifest.NewVerifyingReader(r, desc))
		return err
	})
	return n, err
}

// writeAtomic writes path through a temporary file in its directory and
// renames it into place only if write succeeds.
func writeAtomic(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func (s *dirStorage) linkDir(repo string, kind Kind) string {
	return filepath.Join(s.root, "repositories", filepath.FromSlash(repo), "_links", string(kind))
}

func (s *dirStorage) linkPath(repo string, kind Kind, name string) (string, error) {
	if err := checkLink(repo, kind, name); err != nil {
		return "", err
	}
	return filepath.Join(s.linkDir(repo, kind), strings.ReplaceAll(name, ":", "-")), nil
}

func (s *dirStorage) Link(repo string, l Link) error {
	p, err := s.linkPath(repo, l.Kind, l.Name)
	if err != nil {
		return err
	}
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	for _, k := range []Kind{KindBlob, KindManifest, KindTag} {
		if err := os.MkdirAll(s.linkDir(repo, k), 0o755); err != nil {
			return err
		}
	}
	return writeAtomic(p, func(w io.Writer) error { _, err := w.Write(b); return err })
}

func (s *dirStorage) Unlink(repo string, kind Kind, name string) error {
	p, err := s.linkPath(repo, kind, name)
	if err != nil {
		return err
	}
	return pathError(os.Remove(p), string(kind)+" "+name)
}

func (s *dirStorage) Lookup(repo string, kind Kind, name string) (Link, error) {
	p, err := s.linkPath(repo, kind, name)
	if err != nil {
		return Link{}, err
	}
	return readLink(p, string(kind)+" "+name)
}

func readLink(path, what string) (Link, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Link{}, pathError(err, what)
	}
	var l Link
	if err := json.Unmarshal(b, &l); err != nil {
		return Link{}, err
	}
	return l, nil
}

func (s *dirStorage) List(repo string, kind Kind) ([]Link, error) {
	if err := checkLink(repo, KindTag, "x"); err != nil {
		return nil, err
	}
	dir := s.linkDir(repo, kind)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, pathError(err, "repository "+repo)
	}
	out := make([]Link, 0, len(entries))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue // a temporary file
		}
		l, err := readLink(filepath.Join(dir, e.Name()), string(kind))
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *dirStorage) Repositories() ([]string, error) {
	root := filepath.Join(s.root, "repositories")
	var out []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.IsDir() || e.Name() != "_links" {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		out = append(out, filepath.ToSlash(rel))
		if err == nil {
			err = filepath.SkipDir
		}
		return err
	})
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	slices.Sort(out)
	return out, err
}

// pathError turns a missing file into an error wrapping
// manifest.ErrNotFound.
func pathError(err error, what string) error {
	if errors.Is(err, fs.ErrNotExist) {
		return notFound(what)
	}
	return err
}
