package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// runSkiff runs skiff with args and returns the exit code and outputs.
func runSkiff(t *testing.T, ctx context.Context, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	code := e.run(ctx, args)
	return code, stdout.String(), stderr.String()
}

func TestUsageAndErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		err  string
	}{
		{nil, exitUsage, ""},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"pull"}, exitUsage, "want REF [FILE]"},
		{[]string{"pull", "--bogus", "x"}, exitUsage, "flag provided but not defined"},
		{[]string{"pull", "UPPER/case"}, exitError, `invalid reference "UPPER/case": repository name must be lowercase`},
		{[]string{"pull", "alpine@sha256:../x"}, exitError, "invalid"},
		{[]string{"pull", "--format", "zip", "alpine", "x"}, exitUsage, "--format must be"},
		{[]string{"pull", "--platform", "linux", "alpine", "x"}, exitUsage, "invalid platform"},
		{[]string{"pull", "-j", "0", "alpine", "x"}, exitUsage, "-j must be"},
		{[]string{"pull", "--user", "u", "alpine", "x"}, exitUsage, "--password-stdin"},
		{[]string{"copy", "a"}, exitUsage, "want SRC and DST"},
		{[]string{"append", "--user", "u", "--password-stdin", "127.0.0.1:1/x:y"}, exitUsage, "stdin cannot carry both the password and the layer"},
		{[]string{"copy", "oci:", "b"}, exitUsage, "missing path"},
		{[]string{"push", "only-one"}, exitUsage, "want FILE|DIR and REF"},
		{[]string{"push", "/nonexistent/file.tar", "127.0.0.1:1/x:y"}, exitError, "/nonexistent/file.tar"},
		{[]string{"pull", "127.0.0.1:1/x:y", "/nonexistent/dir/x.tar"}, exitError, "cannot reach 127.0.0.1:1"},
	}
	for _, tt := range tests {
		code, _, stderr := runSkiff(t, t.Context(), "", tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.err) {
			t.Errorf("skiff %q: exit %d, stderr %q; want exit %d mentioning %q", tt.args, code, stderr, tt.code, tt.err)
		}
		if code == exitError && strings.Count(stderr, "\n") != 1 {
			t.Errorf("skiff %q: error is not one line: %q", tt.args, stderr)
		}
		if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
			t.Errorf("skiff %q printed a stack trace", tt.args)
		}
	}
}

func TestHelp(t *testing.T) {
	for name := range commands {
		code, stdout, stderr := runSkiff(t, t.Context(), "", name, "--help")
		if code != exitOK || !strings.HasPrefix(stdout, "usage: skiff "+name) || stderr != "" {
			t.Errorf("skiff %s --help: exit %d, stdout %q, stderr %q", name, code, stdout, stderr)
		}
		local := name == "version" || name == "registry" || name == "generate-key" || name == "index" // these name no remote registry (index: its subcommands do)
		if !local && !strings.Contains(stdout, "-insecure") || !strings.Contains(stdout, "examples:") {
			t.Errorf("skiff %s --help lacks flags or examples:\n%s", name, stdout)
		}
	}
	code, stdout, _ := runSkiff(t, t.Context(), "", "help")
	for name := range commands {
		if code != exitOK || !strings.Contains(stdout, "  "+name+" ") {
			t.Errorf("skiff help does not list %s", name)
		}
	}
}

func TestParseLocation(t *testing.T) {
	tests := map[string]string{
		"alpine":                        "docker.io/library/alpine:latest",
		"docker://ghcr.io/o/r:1":        "ghcr.io/o/r:1",
		"oci:dir":                       "oci:dir",
		"oci:dir:v1":                    "oci:dir:v1",
		"oci:/a/b:c/d":                  "oci:/a/b:c/d",
		"oci-archive:x.tar:latest":      "oci-archive:x.tar:latest",
		"docker-archive:x.tar":          "docker-archive:x.tar",
		"docker-archive:x.tar:alpine:3": "docker-archive:x.tar:alpine:3",
		"localhost:5000/r":              "localhost:5000/r:latest",
	}
	for in, want := range tests {
		l, err := parseLocation(in)
		if err != nil || l.String() != want {
			t.Errorf("parseLocation(%q) = %q, %v; want %q", in, l, err, want)
		}
	}
}

func TestDefaultFileName(t *testing.T) {
	for in, want := range map[string]string{
		"debian":            "library-debian-latest.tar",
		"ghcr.io/o/app:1.0": "o-app-1.0.tar",
		"alpine@sha256:" + strings.Repeat("a", 64): "library-alpine-sha256-aaaaaaaaaaaa.tar",
	} {
		l, err := parseLocation(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := defaultFileName(l.Ref, "docker"); got != want {
			t.Errorf("defaultFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFlagsAfterArguments(t *testing.T) {
	fs := newFlagSet(&env{stdout: io.Discard, stderr: io.Discard}, "pull")
	quiet := fs.Bool("quiet", false, "")
	format := fs.String("format", "", "")
	e := &env{stdout: io.Discard, stderr: io.Discard}
	if err := parse(e, fs, []string{"a", "--quiet", "b", "--format", "oci", "--", "--not-a-flag", "-"}); err != nil {
		t.Fatal(err)
	}
	if !*quiet || *format != "oci" || strings.Join(fs.Args(), " ") != "a b --not-a-flag -" {
		t.Fatalf("quiet=%v format=%q args=%q", *quiet, *format, fs.Args())
	}
}
