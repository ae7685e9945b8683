package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

// GCFile is a file GC removed, or would remove.
type GCFile struct {
	Path string // relative to the root, with slashes
	Size int64
}

// GCResult says what GC removed, or would remove.
type GCResult struct {
	// Removed lists the files in the order they go: blobs a layout no
	// longer references, blobs of the store no layout references, then
	// temporary files.
	Removed []GCFile
	// Freed counts the bytes of the removed blobs that no repository
	// keeps (each blob once) and of the temporary files.
	Freed int64
	// Kept is the number of blobs the store keeps.
	Kept int
	// Skipped lists the repositories left untouched, with the reason: a
	// manifest that cannot be read leaves what it references unknown.
	Skipped []string
	// Repositories lists the repositories whose references GC kept:
	// exactly those a server of the root serves and its catalog lists.
	Repositories []string
}

// GC removes from the root of a layout storage every blob that no
// manifest or index of any repository references, and the temporary files
// a stopped server left. In each repository the manifests and indexes of
// index.json, tagged or not, are kept, with what they reference as
// config, layer, child manifest or subject, recursively: a referrer
// stays with the image it refers to. A blob leaves a repository's layout
// when that repository does not reference it, and the store when none
// does. With dryRun nothing changes: the result lists what would go.
//
// The caller holds the root's lock (LockRoot). GC must not run while a
// server uses the root: the blobs of a push in progress are referenced by
// nothing until its manifest arrives.
//
// Every file is read and removed through the root (an os.Root), and each
// directory files are removed from is opened without following a link in
// any element of its path: a link planted under the root never makes GC
// read or remove anything outside the directory it names.
func GC(ctx context.Context, root string, dryRun bool) (*GCResult, error) {
	d, err := safefile.OpenDir(root)
	if err != nil {
		return nil, fmt.Errorf("server: gc %s: %w; nothing was removed", root, err)
	}
	defer d.Close()
	res, err := planGC(ctx, d, dryRun)
	if err != nil {
		return nil, fmt.Errorf("server: gc %s: %w; nothing was removed", root, err)
	}
	if dryRun {
		return res, nil
	}
	for i, f := range res.Removed {
		if err := removeFile(d, f.Path); err != nil {
			res.Removed = res.Removed[:i]
			return res, fmt.Errorf("server: gc: %w", err)
		}
	}
	return res, nil
}

// removeFile removes the file rel of d through its directory, opened
// without following a link: a file already gone is no error.
func removeFile(d *safefile.Dir, rel string) error {
	dir, err := d.OpenDir(path.Dir(rel))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer dir.Close()
	if err := dir.Root().Remove(path.Base(rel)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// planGC finds what GC removes.
func planGC(ctx context.Context, d *safefile.Dir, dryRun bool) (*GCResult, error) {
	repos, err := repositories(d)
	if err != nil {
		return nil, err
	}
	res := &GCResult{Repositories: repos}
	live := map[manifest.Digest]bool{}
	gone := map[manifest.Digest]int64{} // removed somewhere, with their sizes
	for _, repo := range repos {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		files, err := blobFiles(d, path.Join(repo, layout.BlobsDir))
		if err != nil {
			return nil, err
		}
		keep, err := reachable(ctx, d, repo, dryRun)
		if err != nil {
			res.Skipped = append(res.Skipped, repo+": "+err.Error())
			keep = map[manifest.Digest]bool{}
			for _, f := range files {
				keep[f.digest] = true
			}
		}
		for d := range keep {
			live[d] = true
		}
		res.Removed = appendUnkept(res.Removed, files, keep, gone)
	}
	store, err := blobFiles(d, blobStore)
	if err != nil {
		return nil, err
	}
	res.Removed = appendUnkept(res.Removed, store, live, gone)
	for _, f := range store {
		if live[f.digest] {
			res.Kept++
		}
	}
	for d, n := range gone {
		if !live[d] {
			res.Freed += n
		}
	}
	temps, err := temporaryFiles(d)
	for _, t := range temps {
		res.Freed += t.Size
	}
	res.Removed = append(res.Removed, temps...)
	return res, err
}

// appendUnkept appends to out the files whose digest keep lacks, and
// records them in gone.
func appendUnkept(out []GCFile, files []blobFile, keep map[manifest.Digest]bool, gone map[manifest.Digest]int64) []GCFile {
	for _, f := range files {
		if !keep[f.digest] {
			out = append(out, f.GCFile)
			gone[f.digest] = f.Size
		}
	}
	return out
}

// reachable returns the digests the layout of repo references from its
// index.json: manifests and indexes, their configs, layers and children,
// and their subjects when present. index.json is read as the server reads
// it: recovered from the repository's journal first when a power cut
// left it behind (with dryRun, only in memory).
func reachable(ctx context.Context, d *safefile.Dir, repo string, dryRun bool) (map[manifest.Digest]bool, error) {
	s := &layoutStorage{root: d.Name(), d: d, readOnly: dryRun}
	l := &repoLayout{name: repo}
	l.mu.Lock()
	idx, err := s.index(l)
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	files := layoutFiles{s, l}
	type item struct {
		desc     manifest.Descriptor
		optional bool // a subject, which may be absent
	}
	var todo []item
	for _, e := range idx.entries {
		if e != nil {
			todo = append(todo, item{desc: e.desc})
		}
	}
	keep := map[manifest.Digest]bool{}
	for len(todo) > 0 {
		it := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		d := it.desc
		if keep[d.Digest] {
			continue
		}
		if !manifest.IsManifest(d.MediaType) && !manifest.IsIndex(d.MediaType) {
			keep[d.Digest] = true
			continue
		}
		doc, err := manifest.FetchDocument(ctx, files, d)
		if it.optional && errors.Is(err, manifest.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("manifest %s: %w", d.Digest, err)
		}
		keep[d.Digest] = true
		for _, c := range referenced(doc) {
			todo = append(todo, item{desc: c})
		}
		if sub := subjectOf(doc); sub != nil {
			todo = append(todo, item{desc: *sub, optional: true})
		}
	}
	return keep, nil
}

// referenced lists what doc references but its subject.
func referenced(doc *manifest.Document) []manifest.Descriptor {
	if m := doc.Manifest; m != nil {
		return append([]manifest.Descriptor{m.Config}, m.Layers...)
	}
	return doc.Index.Manifests
}

// blobFile is a blob in a blobs directory.
type blobFile struct {
	GCFile
	digest manifest.Digest
}

// blobFiles lists the regular files named by a digest under
// rel/<algorithm>/ of d.
func blobFiles(d *safefile.Dir, rel string) ([]blobFile, error) {
	var out []blobFile
	for _, alg := range []string{manifest.SHA256, manifest.SHA512} {
		files, err := filesIn(d, path.Join(rel, alg), func(name string) bool {
			_, err := manifest.ParseDigest(alg + ":" + name)
			return err == nil
		})
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			out = append(out, blobFile{f, manifest.Digest(alg + ":" + path.Base(f.Path))})
		}
	}
	return out, nil
}

// temporaryFiles lists what a server or gc that stopped mid-write left
// under the root d: upload files, and the temporary files of the store
// and of every layout and its journal (.tmp-*, and .tmp-NAME-* of
// safefile's Replace).
func temporaryFiles(d *safefile.Dir) ([]GCFile, error) {
	out, err := filesIn(d, UploadsDir, func(string) bool { return true })
	dirs := []string{path.Join(blobStore, manifest.SHA256), path.Join(blobStore, manifest.SHA512)}
	repos, rerr := repositories(d)
	for _, repo := range repos {
		dirs = append(dirs, repo, path.Join(repo, layout.BlobsDir, manifest.SHA256), path.Join(repo, layout.BlobsDir, manifest.SHA512),
			path.Join(metaDir, repo))
	}
	for _, dir := range dirs {
		files, ferr := filesIn(d, dir, isTemporary)
		out = append(out, files...)
		err = errors.Join(err, ferr)
	}
	return out, errors.Join(err, rerr)
}

// isTemporary reports whether name is that of a temporary file the server
// or skiff's layout code writes before renaming it.
func isTemporary(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-")
}

// filesIn lists the regular files of the directory dir of d whose names
// match. The directory is opened without following a link in any element
// of its path: one that is missing, or reached only through a link, has
// none.
func filesIn(d *safefile.Dir, dir string, match func(string) bool) ([]GCFile, error) {
	sub, err := d.OpenDir(dir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, safefile.ErrNotRegular) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	entries, err := fs.ReadDir(sub.Root().FS(), ".")
	var out []GCFile
	for _, e := range entries {
		if !e.Type().IsRegular() || !match(e.Name()) {
			continue
		}
		if info, ierr := e.Info(); ierr == nil {
			out = append(out, GCFile{Path: path.Join(dir, e.Name()), Size: info.Size()})
		}
	}
	return out, err
}

// RemoveTemporary deletes the temporary files a server or gc that stopped
// mid-write left under the root of a layout storage (see GC) and returns
// them. Call it holding the root's lock, before serving.
func RemoveTemporary(root string) ([]GCFile, error) {
	d, err := safefile.OpenDir(root)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	defer d.Close()
	files, err := temporaryFiles(d)
	for _, f := range files {
		err = errors.Join(err, removeFile(d, f.Path))
	}
	return files, err
}

// UploadsDir is the directory of a layout storage's root that holds
// upload sessions' files: Options.UploadDir when serving it.
const UploadsDir = ".uploads"
