package artifact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"
	"unicode"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

// File is a file or a directory to push, as one layer.
type File struct {
	// Path is where it is on disk. A directory is pushed as one tar+gzip
	// layer that Pull and `oras pull` unpack.
	Path string
	// Title names it in the artifact (AnnotationTitle): a relative,
	// slash-separated name, under which Pull writes it. "" means Path,
	// cleaned, as oras names it.
	Title string
	// MediaType is the layer's media type; "" means MediaTypeFile, or
	// MediaTypeDir for a directory.
	MediaType string
}

// ParseFile reads "FILE[:MEDIATYPE]" as oras push spells a file: the media
// type is what follows the last colon, so "a:b.txt:" is the file "a:b.txt"
// with the default media type. On Windows a drive letter ("C:\x") is part
// of the file.
func ParseFile(s string) (File, error) {
	file, mt := s, ""
	i := strings.LastIndex(s, ":")
	drive := runtime.GOOS == "windows" && i == 1 && len(s) > 2 && unicode.IsLetter(rune(s[0])) && s[2] == '\\'
	if i >= 0 && !drive {
		file, mt = s[:i], s[i+1:]
	}
	if file == "" {
		return File{}, fmt.Errorf("artifact: %q names no file", s)
	}
	if mt != "" {
		if err := checkMediaType(mt); err != nil {
			return File{}, fmt.Errorf("artifact: %q: %w", s, err)
		}
	}
	return File{Path: file, MediaType: mt}, nil
}

// checkMediaType checks mt is "type/subtype" with the characters RFC 6838
// allows, as oras checks an artifact type and a layer's media type.
func checkMediaType(mt string) error {
	typ, sub, ok := strings.Cut(mt, "/")
	if !ok || !restrictedName(typ) || !restrictedName(sub) {
		return fmt.Errorf("media type %q is not type/subtype (RFC 6838)", mt)
	}
	return nil
}

// restrictedName is RFC 6838's restricted-name: 1 to 127 of letters,
// digits and !#$&-^_.+, the first a letter or digit.
func restrictedName(s string) bool {
	if s == "" || len(s) > 127 {
		return false
	}
	for i, c := range s {
		alnum := c < unicode.MaxASCII && (unicode.IsLetter(c) || unicode.IsDigit(c))
		if !alnum && (i == 0 || !strings.ContainsRune("!#$&-^_.+", c)) {
			return false
		}
	}
	return true
}

// titleOf returns f's title: as given, or its path as oras names it,
// cleaned and slash-separated. A title that would land outside the
// directory it is pulled into is refused, as Pull would refuse it.
func (f File) titleOf() (string, error) {
	title := f.Title
	if title == "" {
		if filepath.IsAbs(f.Path) {
			return "", fmt.Errorf("artifact: %s: an absolute path is no title; push it from its directory, or give it a Title", f.Path)
		}
		title = filepath.ToSlash(filepath.Clean(f.Path))
	}
	if err := checkTitle(title); err != nil {
		return "", fmt.Errorf("artifact: %s: %w", f.Path, err)
	}
	return title, nil
}

// checkTitle refuses a title that is empty, absolute, holds a ".."
// element or is otherwise no clean relative name ("a//b", "./a").
func checkTitle(title string) error {
	switch {
	case title == "":
		return errors.New("empty title")
	case path.IsAbs(title) || strings.HasPrefix(title, `\`) || filepath.VolumeName(title) != "" ||
		len(title) > 1 && title[1] == ':' && unicode.IsLetter(rune(title[0])):
		return fmt.Errorf("title %q is absolute", title)
	}
	for _, el := range strings.FieldsFunc(title, func(r rune) bool { return r == '/' || r == '\\' }) {
		if el == ".." {
			return fmt.Errorf("title %q climbs out of the directory with ..", title)
		}
	}
	if clean, err := tarball.CleanPath(title); err != nil || clean != title {
		return fmt.Errorf("title %q is not a clean relative name", title)
	}
	return nil
}

// layerOf describes f as a layer. A file is read once to learn its
// digest; a directory is packed into a temporary file, which the caller
// removes with the returned layer's Remove.
func layerOf(ctx context.Context, f File, opts *PushOptions) (manifest.Descriptor, *tarball.Layer, error) {
	title, err := f.titleOf()
	if err != nil {
		return manifest.Descriptor{}, nil, err
	}
	fi, err := os.Stat(f.Path)
	if err != nil {
		return manifest.Descriptor{}, nil, fmt.Errorf("artifact: %w", err)
	}
	if f.MediaType != "" {
		if err := checkMediaType(f.MediaType); err != nil {
			return manifest.Descriptor{}, nil, fmt.Errorf("artifact: %s: %w", f.Path, err)
		}
	}
	switch {
	case fi.IsDir():
		return dirLayer(ctx, f, title, opts)
	case !fi.Mode().IsRegular():
		return manifest.Descriptor{}, nil, fmt.Errorf("artifact: %s is neither a file nor a directory", f.Path)
	}
	d, err := digestFile(f.Path)
	if err != nil {
		return d, nil, err
	}
	d.MediaType = cmpOr(f.MediaType, MediaTypeFile)
	d.Annotations = map[string]string{AnnotationTitle: title}
	return d, nil, nil
}

// dirLayer packs the directory f names as oras does: its entries under
// title, in a tar+gzip layer marked for unpacking.
func dirLayer(ctx context.Context, f File, title string, opts *PushOptions) (manifest.Descriptor, *tarball.Layer, error) {
	dir, err := filepath.EvalSymlinks(f.Path) // a link to a directory is packed as the directory
	if err != nil {
		return manifest.Descriptor{}, nil, fmt.Errorf("artifact: %w", err)
	}
	l, err := tarball.LayerFromDir(ctx, dir, &tarball.LayerOptions{Prefix: title, TempDir: opts.TempDir, ModTime: opts.Created})
	if err != nil {
		return manifest.Descriptor{}, nil, fmt.Errorf("artifact: packing %s: %w", f.Path, err)
	}
	d, diffID := l.Describe()
	d.MediaType = cmpOr(f.MediaType, MediaTypeDir)
	d.Annotations = map[string]string{AnnotationTitle: title, AnnotationUnpack: "true", AnnotationDigest: string(diffID)}
	return d, l, nil
}

// digestFile reads the file at p once and returns its digest and size.
func digestFile(p string) (manifest.Descriptor, error) {
	fh, err := os.Open(p)
	if err != nil {
		return manifest.Descriptor{}, fmt.Errorf("artifact: %w", err)
	}
	defer fh.Close()
	g := manifest.NewDigester(manifest.SHA256)
	n, err := io.Copy(g, fh)
	if err != nil {
		return manifest.Descriptor{}, fmt.Errorf("artifact: reading %s: %w", p, err)
	}
	return manifest.Descriptor{Digest: g.Digest(), Size: n}, nil
}

// created is the time the artifact says it was made.
func (o *PushOptions) created() time.Time {
	if o.Created.IsZero() {
		return time.Now()
	}
	return o.Created
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
