package artifact

import (
	"context"
	"fmt"
	"time"

	"github.com/skiffoci/skiff/manifest"
)

// Newest returns the newest of the artifacts of artifactType that refer
// to subject in src: the one whose AnnotationCreated is latest (one
// without it, or with one that is no RFC 3339 time, counts as older than
// any with it), and among equals the one src lists last (the referrers
// tag schema and a layout's index.json list new referrers last). None is
// an error wrapping manifest.ErrNotFound.
func Newest(ctx context.Context, src manifest.ReferrersLister, subject manifest.Descriptor, artifactType string) (manifest.Descriptor, error) {
	refs, err := src.Referrers(ctx, subject, artifactType)
	if err != nil {
		return manifest.Descriptor{}, fmt.Errorf("artifact: referrers of %s: %w", subject.Digest, err)
	}
	best, bestTime := -1, time.Time{}
	for i, d := range refs {
		if artifactType != "" && d.ArtifactType != artifactType {
			continue // a store that ignored the filter
		}
		t, _ := time.Parse(time.RFC3339, d.Annotations[AnnotationCreated])
		if best < 0 || !t.Before(bestTime) {
			best, bestTime = i, t
		}
	}
	if best < 0 {
		return manifest.Descriptor{}, fmt.Errorf("artifact: no artifact of type %s refers to %s: %w", artifactType, subject.Digest, manifest.ErrNotFound)
	}
	return refs[best], nil
}

// Node is a manifest in a tree of referrers, with what refers to it.
type Node struct {
	Descriptor manifest.Descriptor
	Referrers  []*Node
}

// TreeOptions tune Tree. The zero value finds referrers of every type, at
// every depth.
type TreeOptions struct {
	// ArtifactType, if set, keeps only referrers of this type, at every
	// depth, as `oras discover --artifact-type` does.
	ArtifactType string
	// Depth, if positive, stops that many levels below the root.
	Depth int
}

// Tree returns the referrers of root in src, and their referrers, to the
// end: the graph `oras discover` and `regctl artifact tree` show. At most
// manifest.MaxManifests manifests are visited, each once, however the
// store lists them.
func Tree(ctx context.Context, src manifest.ReferrersLister, root manifest.Descriptor, opts *TreeOptions) (*Node, error) {
	if opts == nil {
		opts = &TreeOptions{}
	}
	top := &Node{Descriptor: root}
	seen := map[manifest.Digest]bool{root.Digest: true}
	level := []*Node{top}
	for depth := 1; len(level) > 0 && (opts.Depth <= 0 || depth <= opts.Depth); depth++ {
		var next []*Node
		for _, n := range level {
			refs, err := src.Referrers(ctx, n.Descriptor, opts.ArtifactType)
			if err != nil {
				return nil, fmt.Errorf("artifact: referrers of %s: %w", n.Descriptor.Digest, err)
			}
			for _, d := range refs {
				if seen[d.Digest] || opts.ArtifactType != "" && d.ArtifactType != opts.ArtifactType {
					continue
				}
				if seen[d.Digest] = true; len(seen) > manifest.MaxManifests {
					return nil, fmt.Errorf("artifact: more than %d referrers under %s", manifest.MaxManifests, root.Digest)
				}
				child := &Node{Descriptor: d}
				n.Referrers = append(n.Referrers, child)
				next = append(next, child)
			}
		}
		level = next
	}
	return top, nil
}
