package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

func init() { commands["version"] = versionCommand }

var versionCommand = &command{
	summary: "print skiff's version, commit and Go version",
	usage:   "",
	help: `The version is the module version the Go toolchain stamped ("devel" for a
build from a checkout); the commit is the VCS revision go build stamped
("unknown" under go run), marked "(modified)" when the tree had changes.

examples:
  skiff version`,
	run: func(ctx context.Context, e *env, args []string) error {
		fs := newFlagSet(e, "version")
		if err := parse(e, fs, args); err != nil {
			return err
		}
		commit, goVersion := buildInfo()
		fmt.Fprintf(e.stdout, "skiff %s\ncommit %s\n%s\n", version(), commit, goVersion)
		return nil
	},
}

// version is the module version stamped by the Go toolchain, or "devel".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func buildInfo() (commit, goVersion string) {
	commit = "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return commit, "unknown Go"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			commit = s.Value
		}
		if s.Key == "vcs.modified" && s.Value == "true" {
			commit += " (modified)"
		}
	}
	return commit, bi.GoVersion
}
