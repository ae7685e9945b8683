package artifact

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

// unpack unpacks the directory layer l, whose verified tar+gzip is in f
// (named tmp in the pull's directory), under its title. The tar is read
// twice from f: once to check every entry and the digest of the whole
// uncompressed tar (AnnotationDigest), writing nothing, then by
// tarball.ExtractRoot into a private directory beside the title, kept
// open from its creation (never looked up by name again), where every
// link is checked to resolve inside it and setuid and setgid bits are
// cleared; only then is the directory moved under its title.
func (p *puller) unpack(ctx context.Context, f *os.File, tmp string, l manifest.Descriptor) error {
	title := l.Annotations[AnnotationTitle]
	open := func() (io.ReadCloser, error) { return io.NopCloser(io.NewSectionReader(f, 0, l.Size)), nil }
	links, err := scan(open, title, l.Annotations[AnnotationDigest], p.opts.MaxUncompressed)
	if err != nil {
		return err
	}
	work, aside := tmp+".d", tmp+".old"
	defer p.dir.Remove(work)
	defer p.dir.Remove(aside)
	sub, err := p.dir.CreateDir(work, 0o700)
	if err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	defer sub.Close()
	eopts := &tarball.ExportOptions{MaxUncompressed: p.opts.MaxUncompressed}
	if err := tarball.ExtractRoot(ctx, sub.Root(), []tarball.Opener{open}, eopts); err != nil {
		return fmt.Errorf("artifact: unpacking %s: %w", title, err)
	}
	if err := contained(sub, title, links); err != nil {
		return err
	}
	if err := plain(sub); err != nil {
		return fmt.Errorf("artifact: unpacking %s: %w", title, err)
	}
	return p.place(sub, work, aside, title)
}

// scan reads the tar+gzip open returns to its end, checking that every
// entry lies under title (a symbolic link or hard link too, by its
// target), that none is a whiteout, which Extract would apply, and that
// the uncompressed tar has the digest want, when one is given. It returns
// the names of the symbolic and hard links, relative to title.
func scan(open tarball.Opener, title, want string, limit int64) ([]string, error) {
	rc, err := open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		return nil, fmt.Errorf("artifact: %s is marked for unpacking but is no tar+gzip: %w", title, err)
	}
	var r io.Reader = &budget{r: zr, left: limit, limit: limit, what: "directory " + title}
	var g *manifest.Digester
	if want != "" {
		d, err := manifest.ParseDigest(want)
		if err != nil {
			return nil, fmt.Errorf("artifact: %s: annotation %s: %w", title, AnnotationDigest, err)
		}
		g = manifest.NewDigester(d.Algorithm())
		r = io.TeeReader(r, g)
	}
	tr := tar.NewReader(r)
	var links []string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("artifact: unpacking %s: %w", title, err)
		}
		rel, err := entry(hdr, title)
		if err != nil {
			return nil, fmt.Errorf("artifact: unpacking %s: %w", title, err)
		}
		if hdr.Typeflag == tar.TypeSymlink || hdr.Typeflag == tar.TypeLink {
			links = append(links, rel) // a hard link to a symbolic link is made a copy of it, elsewhere
		}
	}
	if _, err := io.Copy(io.Discard, r); err != nil { // what follows the tar's end is in its digest
		return nil, fmt.Errorf("artifact: unpacking %s: %w", title, err)
	}
	if g != nil && string(g.Digest()) != want {
		return nil, fmt.Errorf("artifact: unpacking %s: %w: its tar is %s, the layer's %s says %s", title, manifest.ErrDigestMismatch, g.Digest(), AnnotationDigest, want)
	}
	return links, nil
}

// entry checks one tar entry of the directory title and returns its name
// relative to title.
func entry(hdr *tar.Header, title string) (string, error) {
	rel, err := under(title, hdr.Name)
	if err != nil {
		return "", err
	}
	switch {
	case rel == "." && hdr.Typeflag != tar.TypeDir:
		return "", fmt.Errorf("entry %q is the directory itself, but not a directory", hdr.Name)
	case strings.HasPrefix(path.Base(rel), ".wh."):
		return "", fmt.Errorf("entry %q is named as a whiteout, which skiff would apply, not write", hdr.Name)
	case hdr.Typeflag == tar.TypeLink:
		if _, err := under(title, hdr.Linkname); err != nil {
			return "", fmt.Errorf("hard link %q: %w", hdr.Name, err)
		}
	case hdr.Typeflag == tar.TypeSymlink:
		target := path.Join(path.Dir(rel), hdr.Linkname)
		if path.IsAbs(hdr.Linkname) || strings.HasPrefix(hdr.Linkname, `\`) || target == ".." || strings.HasPrefix(target, "../") {
			return "", fmt.Errorf("symbolic link %q points to %q, outside %s", hdr.Name, hdr.Linkname, title)
		}
	}
	return rel, nil
}

// under returns name, an entry's name or a hard link's target, relative
// to the directory title it must lie in ("." for title itself).
func under(title, name string) (string, error) {
	clean, err := tarball.CleanPath(name)
	switch {
	case err != nil:
		return "", err
	case title == ".":
		return clean, nil
	case clean == title:
		return ".", nil
	case strings.HasPrefix(clean, title+"/"):
		return clean[len(title)+1:], nil
	}
	return "", fmt.Errorf("entry %q is outside the directory %s", name, title)
}

// plain clears the setuid, setgid and sticky bits of everything unpacked
// in sub, as tar does for a user who is not root: an artifact's author
// does not choose a program that runs as the user who pulled it.
func plain(sub *safefile.Dir) error {
	return fs.WalkDir(sub.Root().FS(), ".", func(name string, e fs.DirEntry, err error) error {
		if err != nil || e.Type()&fs.ModeSymlink != 0 {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		if m := fi.Mode(); m&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 {
			return sub.Root().Chmod(name, m.Perm())
		}
		return nil
	})
}

// contained checks that every link unpacked under title in sub (a hard
// link may have become a copy of a symbolic link) resolves inside title,
// through any chain of links: os.Root refuses to
// leave it. A link to nothing inside is allowed.
func contained(sub *safefile.Dir, title string, links []string) error {
	dir := sub
	if title != "." {
		d, err := sub.OpenDir(title)
		if err != nil {
			return fmt.Errorf("artifact: unpacking %s: %w", title, err)
		}
		defer d.Close()
		dir = d
	}
	for _, l := range links {
		if _, err := dir.Root().Stat(l); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("artifact: unpacking %s: symbolic link %s leads outside it: %w", title, path.Join(title, l), err)
		}
	}
	return nil
}

// place moves what was unpacked into work to the pull's directory: the
// directory title, or for "." each entry of it. What is there is replaced
// with Overwrite (moved aside first, and back if the move fails), else
// refused.
func (p *puller) place(sub *safefile.Dir, work, aside, title string) error {
	names := []string{title}
	if title == "." {
		entries, err := fs.ReadDir(sub.Root().FS(), ".")
		if err != nil {
			return fmt.Errorf("artifact: %w", err)
		}
		names = names[:0]
		for _, e := range entries {
			names = append(names, e.Name())
		}
	} else if err := p.dir.MkdirAll(path.Dir(title), 0o755); err != nil {
		return fmt.Errorf("artifact: %s: %w", title, err)
	}
	if p.opts.Overwrite {
		if err := p.dir.MkdirAll(aside, 0o700); err != nil {
			return fmt.Errorf("artifact: %w", err)
		}
	}
	for i, name := range names {
		if err := p.move(path.Join(work, name), name, path.Join(aside, fmt.Sprint(i))); err != nil {
			return err
		}
	}
	return nil
}

// move renames from to to, moving what is under to aside first when
// Overwrite allows it.
func (p *puller) move(from, to, aside string) error {
	full := filepath.Join(p.dir.Name(), filepath.FromSlash(to))
	if _, err := p.dir.Root().Lstat(to); err == nil {
		if !p.opts.Overwrite {
			return fmt.Errorf("artifact: %s: %w", full, fs.ErrExist)
		}
		if err := p.dir.Commit(to, aside, false); err != nil {
			return fmt.Errorf("artifact: %w", err)
		}
		if err := p.dir.Commit(from, to, false); err != nil {
			return errors.Join(fmt.Errorf("artifact: %w", err), p.dir.Commit(aside, to, false))
		}
		return nil
	}
	if err := p.dir.Commit(from, to, false); err != nil {
		return fmt.Errorf("artifact: %w", err)
	}
	return nil
}

// budget fails a read past limit bytes with a *manifest.LimitError: a
// small gzip that inflates without end stops there.
type budget struct {
	r     io.Reader
	left  int64
	limit int64
	what  string
}

func (b *budget) Read(p []byte) (int, error) {
	if b.left == 0 {
		var probe [1]byte
		if n, err := b.r.Read(probe[:]); n == 0 {
			return 0, err
		}
		return 0, &manifest.LimitError{What: b.what, Limit: b.limit}
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}
