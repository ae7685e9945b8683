//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// tool is one client under test.
type tool struct {
	name    string
	path    string
	version string
	origin  string // how the binary was made, or where it came from
}

// peer is a tool installed with go install when no binary is given, or,
// without pkg, one found on PATH (skopeo, from its Debian package).
type peer struct {
	name, pkg, version string
	flag, env          string
}

var peers = []peer{
	{name: "crane", pkg: "github.com/google/go-containerregistry/cmd/crane", version: "v0.22.1", flag: "-crane", env: "CRANE"},
	{name: "regctl", pkg: "github.com/regclient/regclient/cmd/regctl", version: "v0.11.7", flag: "-regctl", env: "REGCTL"},
	{name: "skopeo", flag: "-skopeo", env: "SKOPEO"},
}

// build builds the package pkg of the repository at root as a stripped
// static binary: for skiff, the release build CI checks and the README
// names.
func build(ctx context.Context, root, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s: %v\n%s", pkg, err, msg)
	}
	return nil
}

// findPeer returns the binary given by flag or environment, or installs the
// pinned version into bin with go install, run outside the repository so
// that go.mod is never touched.
func findPeer(ctx context.Context, p peer, given, bin string) (path, origin string, err error) {
	if given == "" {
		given = os.Getenv(p.env)
	}
	if given != "" {
		path, err := exec.LookPath(given)
		if err != nil {
			return "", "", fmt.Errorf("%s: %s (from %s or $%s) is not an executable: %w", p.name, given, p.flag, p.env, err)
		}
		return path, "given: " + path, nil
	}
	if p.pkg == "" {
		path, err := exec.LookPath(p.name)
		if err != nil {
			return "", "", fmt.Errorf("%s is not on PATH (apt-get install %s, or give %s PATH or $%s): %w", p.name, p.name, p.flag, p.env, err)
		}
		return path, "the system's " + path, nil
	}
	fmt.Fprintf(os.Stderr, "installing %s %s into a temporary GOBIN (give %s PATH to reuse a binary)\n", p.name, p.version, p.flag)
	cmd := exec.CommandContext(ctx, "go", "install", p.pkg+"@"+p.version)
	cmd.Dir = bin
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("%s is missing: go install %s@%s failed (offline with an empty module cache? give %s PATH or $%s): %v\n%s",
			p.name, p.pkg, p.version, p.flag, p.env, err, tail(string(msg), 2000))
	}
	return filepath.Join(bin, p.name), fmt.Sprintf("`CGO_ENABLED=0 go install %s@%s`", p.pkg, p.version), nil
}

var versionArgs = map[string][]string{
	"skiff":           {"version"},
	"crane":           {"version"},
	"regctl":          {"version", "--format", "{{.VCSTag}}"},
	"skopeo":          {"--version"},
	"docker-registry": {"--version"},
}

// versionOf asks a tool for its version and returns the first line.
func versionOf(ctx context.Context, name, path string) string {
	out, err := exec.CommandContext(ctx, path, versionArgs[name]...).CombinedOutput()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return strings.TrimPrefix(first, path+" ")
}

// gitState names the commit the skiff binary was built from, and whether
// the tree had changes.
func gitState(ctx context.Context, root string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown commit"
	}
	s := "commit " + strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain").Output(); err == nil && len(st) > 0 {
		s += " with uncommitted changes"
	}
	return s
}

// moduleRoot finds the directory of skiff's go.mod above the working
// directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/skiffoci/skiff\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run this inside the skiff repository (no go.mod of github.com/skiffoci/skiff above the working directory)")
		}
		dir = parent
	}
}
