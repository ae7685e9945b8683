// Command skiff saves, copies, pushes and inspects OCI images without
// Docker. Run "skiff help" for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/internal/zstd"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	log.SetOutput(io.Discard) // net/http logs to it; nothing reaches the user but skiff's own lines
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // the first signal stops gracefully, keeping what can be resumed; a second one kills
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what a command runs with: its streams, and the environment
// lookup (so tests need not touch the process environment).
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// command is one subcommand.
type command struct {
	summary string
	usage   string // the arguments after "skiff NAME"
	help    string // examples and details, after the flags
	run     func(ctx context.Context, e *env, args []string) error
}

// commands holds every subcommand; each command's file adds itself in
// an init function, so commands can be added without touching this file.
var commands = map[string]*command{}

// usageError is a mistake in how skiff was called; it exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef is not inlined: it is called from some sixty places, and a call
// is smaller than its body, and the binary must stay under 8 MiB.
//
//go:noinline
func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// run is skiff: it parses args, runs the command, prints any error as one
// line on stderr and returns the exit code. What skiff finds and removes
// under a name it invents (a planted link, another user's file) is told
// on stderr, one line each, as it happens.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return e.run(ctx, args)
}

func (e *env) run(ctx context.Context, args []string) (code int) {
	var mu sync.Mutex // reports come from parallel transfers
	defer safefile.SetReporter(func(line string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(e.stderr, line)
	})()
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(e.stderr, "skiff: internal error: %v (please report this)\n", r)
			code = exitError
		}
	}()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			return e.run(ctx, []string{args[1], "--help"})
		}
		e.usage(e.stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "skiff: unknown command %q; run \"skiff help\"\n", args[0])
		return exitUsage
	}
	err := cmd.run(ctx, e, args[1:])
	name := args[0]
	if len(args) > 1 && subcommands[name+" "+args[1]] != nil { // "artifact push" says so in its errors
		name, cmd = name+" "+args[1], subcommands[name+" "+args[1]]
	}
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "skiff %s: %s\nusage: skiff %s %s\n", name, ue.msg, name, cmd.usage)
		return exitUsage
	case errors.Is(err, errFlagParse):
		return exitUsage
	}
	msg := oneLine(err.Error())
	if errors.Is(err, zstd.ErrWindowTooLarge) {
		msg += " (--zstd-max-window raises it)"
	}
	msg = insecureAdvice(err, msg) + loginHint(err)
	fmt.Fprintf(e.stderr, "skiff %s: %s\n", name, msg)
	return exitError
}

func (e *env) usage(w io.Writer) {
	fmt.Fprintf(w, "skiff moves OCI images between registries, docker tarballs and OCI layouts, without Docker.\n\nusage: skiff COMMAND [flags] ARGS\n\ncommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "\nImages are named as registry references (alpine, ghcr.io/o/r:tag, host:5000/r@sha256:…)\nor, where a command says so, as oci:DIR[:TAG], docker-archive:FILE[:REF], oci-archive:FILE[:TAG].\n\nRun \"skiff COMMAND --help\" for a command's flags and examples.\n")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
