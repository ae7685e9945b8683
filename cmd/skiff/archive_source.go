package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/skiffoci/skiff/manifest"
)

// fromArchive settles what is copied of a tarball source: the platforms it
// holds whole, as docker load would load them (containerd and Docker 25
// export a whole index with only their platforms), and, into a registry
// or a layout, its plain-tar layers gzip-compressed as docker push does,
// unless --keep-uncompressed. It says on stderr what it chose.
func fromArchive(ctx context.Context, e *env, o *options, s *source, dst location, platforms []manifest.Platform) error {
	r := s.archive
	if r == nil {
		return nil
	}
	held, absent, err := r.Loadable(ctx, s.root)
	if err != nil {
		return fmt.Errorf("%s: %w", s.loc, err)
	}
	if len(absent) > 0 {
		have, err := heldPlatforms(ctx, s, held)
		if err != nil {
			return err
		}
		if o.platform != "" { // the host's platform by default: what is held serves
			if err := wantHeld(s, platforms, have, absent); err != nil {
				return err
			}
		}
		e.note(o, "skiff: %s: index %s names %s, which the archive does not hold; copying %s\n",
			s.loc, s.root.Digest, platformNames(absent), platformNames(have))
		s.root = held
	}
	if dst.kind != kindRegistry && dst.kind != kindOCI {
		return nil
	}
	if o.keepUncompressed {
		e.note(o, "skiff: %s: plain-tar layers go as they are (--keep-uncompressed)\n", s.loc)
		return nil
	}
	root, rep, err := r.CompressLayers(ctx, s.root)
	if err != nil {
		return fmt.Errorf("%s: %w", s.loc, err)
	}
	if rep.Layers > 0 {
		layers := "plain-tar layers"
		if rep.Layers == 1 {
			layers = "plain-tar layer"
		}
		e.note(o, "skiff: %s: gzip-compressed %d %s (%s to %s), as docker push does; the image's digest is now %s (--keep-uncompressed sends them as they are)\n",
			s.loc, rep.Layers, layers, byteSize(rep.Before), byteSize(rep.After), root.Digest)
		s.root = root
	}
	return nil
}

// heldPlatforms returns the entries of held (a manifest, or an index of
// several) with their platforms.
func heldPlatforms(ctx context.Context, s *source, held manifest.Descriptor) ([]manifest.Descriptor, error) {
	if !manifest.IsIndex(held.MediaType) {
		return []manifest.Descriptor{held}, nil
	}
	doc, err := manifest.FetchDocument(ctx, s.fetcher, held)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.loc, err)
	}
	return doc.Index.Manifests, nil
}

// wantHeld checks that every platform asked for is one the archive holds.
func wantHeld(s *source, platforms []manifest.Platform, have, absent []manifest.Descriptor) error {
	for _, want := range platforms {
		if _, err := manifest.SelectPlatform(&manifest.Index{Manifests: have}, want); err != nil {
			return fmt.Errorf("%s: platform %s is not in the archive: it holds %s of index %s (absent: %s)",
				s.loc, want, platformNames(have), s.root.Digest, platformNames(absent))
		}
	}
	return nil
}

// platformNames lists the platforms of index entries: "linux/amd64,
// linux/arm64"; "unknown" for an entry without one.
func platformNames(ds []manifest.Descriptor) string {
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = "unknown"
		if d.Platform != nil {
			names[i] = d.Platform.String()
		}
	}
	return strings.Join(names, ", ")
}

// byteSize formats n bytes for a person: "48.2 MB".
func byteSize(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// note prints a diagnostic on stderr unless --quiet.
func (e *env) note(o *options, format string, args ...any) {
	if !o.quiet {
		fmt.Fprintf(e.stderr, format, args...)
	}
}
