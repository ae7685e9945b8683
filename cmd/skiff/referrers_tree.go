package main

import (
	"context"
	"fmt"
	"io"

	"github.com/skiffoci/skiff/manifest"
	artifacts "github.com/skiffoci/skiff/registry/artifact"
	"github.com/skiffoci/skiff/registry/images"
)

// referrersQuery is what "skiff referrers" is asked.
type referrersQuery struct {
	artifactType string
	json, tree   bool
}

// run lists the referrers of the image at ref, or with tree their tree.
func (q *referrersQuery) run(ctx context.Context, e *env, o *options, ref string) error {
	loc, err := parseLocation(ref)
	if err != nil {
		return err
	}
	c, err := o.client(e, hostsOf(loc))
	if err != nil {
		return err
	}
	s, err := images.OpenSource(ctx, loc, &images.Options{Client: c})
	if err != nil {
		return err
	}
	defer s.Close()
	lister, ok := s.Store.(manifest.ReferrersLister)
	if !ok {
		return fmt.Errorf("%s cannot list referrers", loc)
	}
	if q.tree {
		root, err := artifacts.Tree(ctx, lister, s.Root, &artifacts.TreeOptions{ArtifactType: q.artifactType})
		if err != nil {
			return err
		}
		if q.json {
			return inspectJSON(e, discovered(treeName(loc), root))
		}
		return printTree(e.stdout, treeName(loc)+"@"+string(root.Descriptor.Digest), root)
	}
	refs, err := lister.Referrers(ctx, s.Root, q.artifactType)
	if err != nil {
		return err
	}
	if q.json {
		return inspectJSON(e, inspectList(refs))
	}
	for _, d := range refs {
		fmt.Fprintf(e.stdout, "%s\t%s\t%d\n", d.Digest, inspectDash(d.ArtifactType), d.Size)
	}
	return nil
}

// treeName names what the tree's manifests are in, as oras discover does
// before "@DIGEST": a repository ("localhost:5000/app"), or a layout or
// archive without its tag.
func treeName(loc images.Location) string {
	if loc.Kind == images.KindRegistry {
		return loc.Ref.Name()
	}
	loc.Name = ""
	return loc.String()
}

// discoveredNode is a node of the tree as oras discover --format json
// prints it.
type discoveredNode struct {
	Reference    string            `json:"reference"`
	MediaType    string            `json:"mediaType"`
	Digest       manifest.Digest   `json:"digest"`
	Size         int64             `json:"size"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Referrers    []*discoveredNode `json:"referrers"`
}

func discovered(name string, n *artifacts.Node) *discoveredNode {
	d := n.Descriptor
	out := &discoveredNode{Reference: name + "@" + string(d.Digest), MediaType: d.MediaType, Digest: d.Digest,
		Size: d.Size, Annotations: d.Annotations, ArtifactType: d.ArtifactType, Referrers: []*discoveredNode{}}
	for _, r := range n.Referrers {
		out.Referrers = append(out.Referrers, discovered(name, r))
	}
	return out
}

// printTree prints the tree under label as oras discover does: each
// node's referrers grouped under their artifact types, in the order first
// listed.
func printTree(w io.Writer, label string, n *artifacts.Node) error {
	if _, err := fmt.Fprintln(w, label); err != nil {
		return err
	}
	return printReferrers(w, "", n)
}

func printReferrers(w io.Writer, prefix string, n *artifacts.Node) error {
	var types []string
	byType := map[string][]*artifacts.Node{}
	for _, r := range n.Referrers {
		t := r.Descriptor.ArtifactType
		if t == "" {
			t = "<unknown>"
		}
		if _, ok := byType[t]; !ok {
			types = append(types, t)
		}
		byType[t] = append(byType[t], r)
	}
	for i, t := range types {
		edge, next := branch(prefix, i == len(types)-1)
		fmt.Fprintf(w, "%s%s\n", edge, t)
		for j, r := range byType[t] {
			edge, below := branch(next, j == len(byType[t])-1)
			if _, err := fmt.Fprintf(w, "%s%s\n", edge, r.Descriptor.Digest); err != nil {
				return err
			}
			if err := printReferrers(w, below, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// branch returns the edge that leads to an item under prefix, and the
// prefix of what is below the item.
func branch(prefix string, last bool) (string, string) {
	if last {
		return prefix + "└── ", prefix + "    "
	}
	return prefix + "├── ", prefix + "│   "
}
