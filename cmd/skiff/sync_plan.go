package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/registry/mirror"
)

// syncEnd is one side of a mirrored repository: a repository in a
// registry, or an OCI layout directory.
type syncEnd struct {
	ref reference.Reference // Registry and Repository, in a registry
	dir string              // the layout, on disk
}

func (s syncEnd) String() string {
	if s.dir != "" {
		return "oci:" + s.dir
	}
	return s.ref.Name()
}

// location names s as copy does, for resumeHint.
func (s syncEnd) location() images.Location {
	if s.dir != "" {
		return images.Location{Kind: images.KindOCI, Path: s.dir}
	}
	return registryLocation(s.ref)
}

// syncPair is a source repository, where it is mirrored, and the
// patterns that select its tags.
type syncPair struct {
	src, dst syncEnd
	tags     []*mirror.Pattern
}

// syncSource is a source as named on the command line or in the file,
// before its repositories are found.
type syncSource struct {
	name     string   // SRC as written
	patterns []string // the line's own, from a file
	where    string   // "FILE:LINE: " for messages, or ""
}

// planSync reads the sources and the destination and pairs them.
func planSync(args []string, f *syncFlags) ([]*syncPair, error) {
	want := 2
	if f.fromFile != "" {
		want = 1
	}
	if len(args) != want {
		return nil, usagef("want SRC and DST, or --from-file FILE and DST; got %d arguments", len(args))
	}
	srcs := []syncSource{{name: args[0]}}
	if f.fromFile != "" {
		var err error
		if srcs, err = readSyncFile(f.fromFile); err != nil {
			return nil, err
		}
	}
	dst, err := parseSyncDest(args[len(args)-1])
	if err != nil {
		return nil, err
	}
	var plan []*syncPair
	for _, s := range srcs {
		pairs, err := s.pairs(f.tags, dst)
		if err != nil {
			return nil, err
		}
		plan = append(plan, pairs...)
	}
	return plan, checkPlan(plan)
}

// checkPlan refuses two sources mirrored into one place, and orders the
// pairs so that a layout is made before one nested in its directory.
func checkPlan(plan []*syncPair) error {
	sort.SliceStable(plan, func(i, j int) bool { return plan[i].dst.String() < plan[j].dst.String() })
	for i := 1; i < len(plan); i++ {
		if plan[i].dst.String() == plan[i-1].dst.String() {
			return usagef("%s and %s would both be mirrored to %s", plan[i-1].src, plan[i].src, plan[i].dst)
		}
	}
	if len(plan) == 0 {
		return usagef("no source repositories")
	}
	return nil
}

// syncDest is where repositories are mirrored: a registry namespace or
// a directory of layouts.
type syncDest struct {
	registry, prefix string // HOST and an optional path under it
	dir              string // oci:DIR
}

// parseSyncDest reads "HOST[:PORT][/PATH]" or "oci:DIR".
func parseSyncDest(s string) (syncDest, error) {
	kind, rest, found := strings.Cut(s, ":")
	switch {
	case found && kind == string(images.KindOCI):
		if rest == "" {
			return syncDest{}, usagef("%q: missing directory", s)
		}
		return syncDest{dir: rest}, nil
	case found && (kind == string(images.KindDockerArchive) || kind == string(images.KindOCIArchive)):
		return syncDest{}, usagef("sync writes to a registry or oci:DIR, not to an archive: sync to oci:DIR and carry the directory")
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "docker://"), "/")
	host, prefix, _ := strings.Cut(s, "/")
	if !strings.ContainsAny(host, ".:") && host != "localhost" {
		return syncDest{}, usagef("DST %q names no registry host: want HOST[:PORT][/PATH] or oci:DIR", s)
	}
	if _, err := reference.ParseName(s + "/x"); err != nil || prefix != "" && !reference.ValidRepository(prefix) {
		return syncDest{}, usagef("DST %q is not a registry namespace (HOST[:PORT][/PATH], no tag)", s)
	}
	return syncDest{registry: host, prefix: prefix}, nil
}

// target maps the repository at repoPath under d.
func (d syncDest) target(repoPath string) (syncEnd, error) {
	if d.dir != "" {
		return syncEnd{dir: filepath.Join(d.dir, filepath.FromSlash(repoPath))}, nil
	}
	ref, err := reference.ParseName(d.registry + "/" + path.Join(d.prefix, repoPath))
	return syncEnd{ref: ref}, err
}

// pairs finds the repositories s names and maps each under dst.
func (s syncSource) pairs(tagFlags []string, dst syncDest) ([]*syncPair, error) {
	patterns := s.patterns
	if len(patterns) == 0 {
		patterns = tagFlags
	}
	ends, paths, exact, err := s.repositories()
	if err != nil {
		return nil, err
	}
	if exact != "" {
		if len(patterns) > 0 {
			return nil, usagef("%s%s names a tag; drop it or the patterns", s.where, s.name)
		}
		patterns = []string{exact}
	}
	tags, err := parsePatterns(s.where, patterns)
	if err != nil {
		return nil, err
	}
	var out []*syncPair
	for i, src := range ends {
		t, err := dst.target(paths[i])
		if err != nil {
			return nil, fmt.Errorf("%s%s: %w", s.where, src, err)
		}
		out = append(out, &syncPair{src: src, dst: t, tags: tags})
	}
	return out, nil
}

// repositories reads s: a registry repository (with an exact tag,
// perhaps) or a directory of layouts.
func (s syncSource) repositories() (ends []syncEnd, paths []string, exact string, err error) {
	if dir, ok := strings.CutPrefix(s.name, string(images.KindOCI)+":"); ok {
		if dir == "" {
			return nil, nil, "", usagef("%s%q: missing directory", s.where, s.name)
		}
		ends, paths, err = layoutsUnder(dir)
		if err != nil {
			err = fmt.Errorf("%s%w", s.where, err)
		}
		return ends, paths, "", err
	}
	ref, err := reference.Parse(strings.TrimPrefix(s.name, "docker://"))
	switch {
	case err != nil:
		return nil, nil, "", fmt.Errorf("%s%w", s.where, err)
	case ref.Digest != "":
		return nil, nil, "", usagef("%s%s: sync mirrors tags; name a repository, or copy a digest with skiff copy", s.where, s.name)
	case strings.HasSuffix(s.name, ":"+ref.Tag):
		exact = ref.Tag
	}
	ref.Tag = ""
	return []syncEnd{{ref: ref}}, []string{ref.Repository}, exact, nil
}

// layoutsUnder finds the OCI layouts under dir, each a repository named
// by its path below dir, as "registry serve --root DIR" names them.
func layoutsUnder(dir string) (ends []syncEnd, paths []string, err error) {
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && p != dir && (strings.HasPrefix(d.Name(), ".") || d.Name() == layout.BlobsDir):
			return filepath.SkipDir
		case d.IsDir() || d.Name() != layout.LayoutFile:
			return nil
		}
		rel, _ := filepath.Rel(dir, filepath.Dir(p))
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return fmt.Errorf("%s is a single layout; sync reads a directory of them (DIR/o/app, as sync writes), skiff copy reads one", dir)
		}
		if !reference.ValidRepository(rel) {
			return fmt.Errorf("%s holds a layout at %s, which is not a valid repository name", dir, rel)
		}
		ends, paths = append(ends, syncEnd{dir: filepath.Dir(p)}), append(paths, rel)
		return nil
	})
	if err == nil && len(ends) == 0 {
		err = fmt.Errorf("no OCI layouts under %s (a layout's directory is named after its repository: DIR/o/app)", dir)
	}
	return ends, paths, err
}

// parsePatterns parses --tag patterns, or a line's.
func parsePatterns(where string, patterns []string) ([]*mirror.Pattern, error) {
	var out []*mirror.Pattern
	for _, s := range patterns {
		p, err := mirror.ParsePattern(s)
		if err != nil {
			return nil, usagef("%s%v", where, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// maxSyncFile bounds the file --from-file reads.
const maxSyncFile = 1 << 20

// readSyncFile reads "SRC [PATTERN...]" lines; "#" starts a comment.
func readSyncFile(name string) ([]syncSource, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var srcs []syncSource
	sc := bufio.NewScanner(io.LimitReader(f, maxSyncFile+1))
	n, read := 0, 0
	for sc.Scan() {
		n++
		read += len(sc.Bytes()) + 1
		line, _, _ := strings.Cut(sc.Text(), "#")
		if fields := strings.Fields(line); len(fields) > 0 {
			srcs = append(srcs, syncSource{name: fields[0], patterns: fields[1:], where: fmt.Sprintf("%s:%d: ", name, n)})
		}
	}
	switch {
	case sc.Err() != nil:
		return nil, fmt.Errorf("%s: %w", name, sc.Err())
	case read > maxSyncFile:
		return nil, fmt.Errorf("%s: longer than %d bytes", name, maxSyncFile)
	case len(srcs) == 0:
		return nil, usagef("%s lists no sources", name)
	}
	return srcs, nil
}

// syncHosts lists the registries the plan names.
func syncHosts(plan []*syncPair) []string {
	var locs []images.Location
	for _, p := range plan {
		locs = append(locs, p.src.location(), p.dst.location())
	}
	return hostsOf(locs...)
}

// open opens both sides of p. done, called after a successful sync,
// removes what interrupted runs left in a layout target.
func (r *syncRun) open(ctx context.Context, p *syncPair) (mirror.Source, mirror.Target, func() error, error) {
	done := func() error { return nil }
	var src mirror.Source
	if p.src.dir != "" {
		l, err := layout.Open(p.src.dir)
		if err != nil {
			return nil, nil, nil, err
		}
		src = l
	} else {
		src = r.c.Repository(p.src.ref)
	}
	if p.dst.dir == "" {
		repo := r.c.Repository(p.dst.ref).Origin()
		if !r.f.dryRun {
			repo.WillPush()
		}
		return src, repo, done, nil
	}
	if r.f.dryRun {
		dst, err := layoutIfThere(p.dst.dir)
		return src, dst, done, err
	}
	l, err := images.CreateLayout(p.dst.dir, r.o.transferOptions(r.e, r.c, r.display))
	if err != nil {
		return nil, nil, nil, err
	}
	done = func() error { _, err := l.RemovePartials(0); return err }
	return src, l, done, nil
}

// layoutIfThere opens the layout in dir, or stands in for one that is
// not there yet (a dry run makes nothing).
func layoutIfThere(dir string) (mirror.Target, error) {
	_, err := os.Stat(filepath.Join(dir, layout.LayoutFile))
	if errors.Is(err, fs.ErrNotExist) {
		return noLayout{}, nil
	}
	if err != nil {
		return nil, err
	}
	return layout.Open(dir)
}

// noLayout is a layout that does not exist yet: it holds nothing and
// takes nothing.
type noLayout struct{}

var errDryRun = errors.New("a dry run writes nothing")

func (noLayout) Push(context.Context, manifest.Descriptor, io.Reader) error { return errDryRun }
func (noLayout) Tag(context.Context, manifest.Descriptor, string) error     { return errDryRun }
func (noLayout) Exists(context.Context, manifest.Descriptor) (bool, error)  { return false, nil }
func (noLayout) Tags(context.Context) ([]string, error)                     { return nil, nil }
func (noLayout) Resolve(context.Context, string) (manifest.Descriptor, error) {
	return manifest.Descriptor{}, manifest.ErrNotFound
}
