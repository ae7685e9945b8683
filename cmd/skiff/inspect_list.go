package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/skiffoci/skiff/reference"
)

func init() {
	commands["ls"] = lsCommand
	commands["catalog"] = catalogCommand
	commands["referrers"] = referrersCommand
}

var lsCommand = &command{
	summary: "list the tags of a repository",
	usage:   "[flags] REPO",
	help: `REPO is a repository name without tag or digest (alpine, ghcr.io/o/app).
Every page of the registry's tag list is followed. One tag per line, or with --json
an object {"name": …, "tags": […]}.

examples:
  skiff ls alpine
  skiff ls --json localhost:5000/app`,
	run: runLs,
}

var catalogCommand = &command{
	summary: "list the repositories of a registry",
	usage:   "[flags] HOST",
	help: `Many registries refuse the catalog or list only what the caller may pull.
Every page is followed. One repository per line, or with --json an object
{"repositories": […]}.

examples:
  skiff catalog localhost:5000
  skiff catalog --json --user me --password-stdin registry.example.com < pw`,
	run: runCatalog,
}

var referrersCommand = &command{
	summary: "list the artifacts (signatures, SBOMs, …) that refer to an image",
	usage:   "[flags] REF",
	help: `REF (a registry reference, oci:DIR:TAG or oci-archive:FILE:TAG) is resolved to its
digest; the manifests whose subject it is are listed, from the referrers API or, on
registries without it, the sha256-<hex> tag. One line per referrer: digest, artifact
type and size; --json prints the descriptors. --tree follows the referrers of each
referrer to the end and prints the tree as "oras discover" does, grouped by artifact
type (--json: the tree as "oras discover --format json" prints it).

examples:
  skiff referrers ghcr.io/o/app:1.0
  skiff referrers --json --artifact-type application/spdx+json ghcr.io/o/app:1.0
  skiff referrers --tree oci:mirror:1.0`,
	run: runReferrers,
}

func runLs(ctx context.Context, e *env, args []string) error {
	var o options
	var jsonOut bool
	fs := newFlagSet(e, "ls")
	o.register(fs)
	fs.BoolVar(&jsonOut, "json", false, `print {"name": …, "tags": […]} as JSON`)
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one REPO, got %d arguments", fs.NArg())
	}
	ref, err := reference.ParseName(fs.Arg(0))
	if err != nil {
		return err
	}
	c, err := o.client(e, hostsOf(registryLocation(ref)))
	if err != nil {
		return err
	}
	tags, err := c.Repository(ref).Tags(ctx)
	if err != nil {
		return err
	}
	if jsonOut {
		return inspectJSON(e, struct {
			Name string   `json:"name"`
			Tags []string `json:"tags"`
		}{ref.Name(), inspectList(tags)})
	}
	return inspectLines(e, tags)
}

func runCatalog(ctx context.Context, e *env, args []string) error {
	var o options
	var jsonOut bool
	fs := newFlagSet(e, "catalog")
	o.register(fs)
	fs.BoolVar(&jsonOut, "json", false, `print {"repositories": […]} as JSON`)
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one HOST, got %d arguments", fs.NArg())
	}
	host, err := inspectHost(fs.Arg(0))
	if err != nil {
		return err
	}
	c, err := o.client(e, []string{host})
	if err != nil {
		return err
	}
	repos, err := c.Catalog(ctx, host)
	if err != nil {
		return err
	}
	if jsonOut {
		return inspectJSON(e, struct {
			Repositories []string `json:"repositories"`
		}{inspectList(repos)})
	}
	return inspectLines(e, repos)
}

// inspectHost checks that s is a registry host ("ghcr.io",
// "localhost:5000"), as the first part of a reference would be.
func inspectHost(s string) (string, error) {
	ref, err := reference.ParseName(s + "/x")
	if err != nil || ref.Registry != strings.ToLower(s) {
		return "", fmt.Errorf("%q is not a registry host (such as ghcr.io or localhost:5000)", s)
	}
	return ref.Registry, nil
}

func runReferrers(ctx context.Context, e *env, args []string) error {
	var o options
	var q referrersQuery
	fs := newFlagSet(e, "referrers")
	o.register(fs)
	fs.BoolVar(&q.json, "json", false, "print the referrers' descriptors as a JSON array (with --tree, the tree as oras discover --format json prints it)")
	fs.StringVar(&q.artifactType, "artifact-type", "", "list only referrers of artifact `TYPE`")
	fs.BoolVar(&q.tree, "tree", false, "show the referrers of the referrers too, as a tree (oras discover, regctl artifact tree)")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one REF, got %d arguments", fs.NArg())
	}
	return q.run(ctx, e, &o, fs.Arg(0))
}

func inspectLines(e *env, lines []string) error {
	for _, l := range lines {
		if _, err := fmt.Fprintln(e.stdout, l); err != nil {
			return err
		}
	}
	return nil
}

// inspectList makes an empty list print as [] rather than null.
func inspectList[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func inspectDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
