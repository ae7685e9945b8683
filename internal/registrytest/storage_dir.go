package registrytest

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/manifest"
)

// dirStorage keeps content in a directory, laid out like distribution's
// filesystem driver:
//
//	blobs/<algorithm>/<hex>
//	repositories/<name>/_links/<kind>/<name with ':' as '-'>   (a JSON Link)
//
// Every file is opened through the directory as an os.Root (a
// safefile.Dir), written to a new temporary name and renamed into place,
// blobs only once their digest is verified.
type dirStorage struct {
	root string
	mu   sync.Mutex
	d    *safefile.Dir
}

// NewDirStorage returns a Storage kept under dir, which is created when
// first written to. Content already there is served.
func NewDirStorage(dir string) Storage {
	return &dirStorage{root: dir}
}

// dir returns the storage's directory, opened the first time; create
// makes it when it is missing.
func (s *dirStorage) dir(create bool) (*safefile.Dir, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.d != nil {
		return s.d, nil
	}
	if create {
		if err := os.MkdirAll(s.root, 0o755); err != nil {
			return nil, err
		}
	}
	d, err := safefile.OpenDir(s.root)
	if err == nil {
		s.d = d
	}
	return d, err
}

func blobName(d manifest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", err
	}
	return path.Join("blobs", d.Algorithm(), d.Hex()), nil
}

func (s *dirStorage) StatBlob(d manifest.Digest) (int64, error) {
	name, err := blobName(d)
	if err != nil {
		return 0, err
	}
	dir, err := s.dir(false)
	if err != nil {
		return 0, pathError(err, "blob "+string(d))
	}
	fi, err := dir.Root().Lstat(name)
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		return 0, pathError(err, "blob "+string(d))
	}
	return fi.Size(), nil
}

func (s *dirStorage) OpenBlob(d manifest.Digest) (io.ReadSeekCloser, error) {
	name, err := blobName(d)
	if err != nil {
		return nil, err
	}
	f, err := s.open(name)
	if err != nil {
		return nil, pathError(err, "blob "+string(d))
	}
	return f, nil
}

// open opens the regular file name for reading, never through a link.
func (s *dirStorage) open(name string) (*os.File, error) {
	dir, err := s.dir(false)
	if err != nil {
		return nil, err
	}
	f, err := dir.OpenFile(name, os.O_RDONLY)
	if errors.Is(err, safefile.ErrNotRegular) {
		err = fs.ErrNotExist
	}
	return f, err
}

func (s *dirStorage) PutBlob(d manifest.Digest, r io.Reader) (int64, error) {
	name, err := blobName(d)
	if err != nil {
		return 0, err
	}
	desc := manifest.Descriptor{Digest: d, Size: manifest.SizeUnknown}
	var n int64
	err = s.writeAtomic(name, func(w io.Writer) error {
		var err error
		n, err = io.Copy(w, manifest.NewVerifyingReader(r, desc))
		return err
	})
	return n, err
}

// writeAtomic writes name through a new temporary file in its directory
// and renames it into place only if write succeeds (safefile's Replace).
func (s *dirStorage) writeAtomic(name string, write func(io.Writer) error) error {
	dir, err := s.dir(true)
	if err != nil {
		return err
	}
	if err := dir.MkdirAll(path.Dir(name), 0o755); err != nil {
		return err
	}
	return dir.Replace(name, 0o644, false, write)
}

func linkDir(repo string, kind Kind) string {
	return path.Join("repositories", repo, "_links", string(kind))
}

func linkName(repo string, kind Kind, name string) (string, error) {
	if err := checkLink(repo, kind, name); err != nil {
		return "", err
	}
	return path.Join(linkDir(repo, kind), strings.ReplaceAll(name, ":", "-")), nil
}

func (s *dirStorage) Link(repo string, l Link) error {
	p, err := linkName(repo, l.Kind, l.Name)
	if err != nil {
		return err
	}
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	dir, err := s.dir(true)
	if err != nil {
		return err
	}
	for _, k := range []Kind{KindBlob, KindManifest, KindTag} {
		if err := dir.MkdirAll(linkDir(repo, k), 0o755); err != nil {
			return err
		}
	}
	return s.writeAtomic(p, func(w io.Writer) error { _, err := w.Write(b); return err })
}

func (s *dirStorage) Unlink(repo string, kind Kind, name string) error {
	p, err := linkName(repo, kind, name)
	if err != nil {
		return err
	}
	dir, err := s.dir(false)
	if err == nil {
		err = dir.Root().Remove(p)
	}
	return pathError(err, string(kind)+" "+name)
}

func (s *dirStorage) Lookup(repo string, kind Kind, name string) (Link, error) {
	p, err := linkName(repo, kind, name)
	if err != nil {
		return Link{}, err
	}
	return s.readLink(p, string(kind)+" "+name)
}

// maxLinkSize bounds a link file: a few hundred bytes of JSON.
const maxLinkSize = 64 << 10

func (s *dirStorage) readLink(name, what string) (Link, error) {
	f, err := s.open(name)
	if err != nil {
		return Link{}, pathError(err, what)
	}
	defer f.Close()
	b, err := manifest.ReadLimited(f, maxLinkSize, "link "+what)
	if err != nil {
		return Link{}, err
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
	dir, err := s.dir(false)
	if err != nil {
		return nil, pathError(err, "repository "+repo)
	}
	entries, err := fs.ReadDir(dir.Root().FS(), linkDir(repo, kind))
	if err != nil {
		return nil, pathError(err, "repository "+repo)
	}
	out := make([]Link, 0, len(entries))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue // a temporary file
		}
		l, err := s.readLink(path.Join(linkDir(repo, kind), e.Name()), string(kind))
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *dirStorage) Repositories() ([]string, error) {
	dir, err := s.dir(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	err = fs.WalkDir(dir.Root().FS(), "repositories", func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.IsDir() || e.Name() != "_links" {
			return err
		}
		out = append(out, strings.TrimPrefix(path.Dir(p), "repositories/"))
		return fs.SkipDir
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
