package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"

	"github.com/skiffoci/skiff/registry/images"
)

func init() { commands["mutate"] = mutateCommand }

var mutateCommand = &command{
	summary: "edit an image's config (env, entrypoint, labels, …) without touching its layers",
	usage:   "[flags] REF",
	help: `Only the manifest and the config are read and written; layers stay where they are
(mounted, if -t names another repository on the same registry). The result replaces
REF's tag unless -t names another. --entrypoint and --cmd take a JSON array or a
space-separated list; an empty string clears them. The new digest is printed on stdout.

examples:
  skiff mutate ghcr.io/o/app:1 --env LOG=debug --label team=infra -t ghcr.io/o/app:1-debug
  skiff mutate localhost:5000/app:dev --entrypoint '["/app","--serve"]' --user 1000:1000`,
	run: runMutate,
}

// mutateFlags are the config edits mutate takes.
type mutateFlags struct {
	env, labels, expose                     listFlag
	entrypoint, cmd, user, workdir, stopSig optionalString
	tag                                     string
}

// optionalString is a string flag that knows whether it was given.
type optionalString struct {
	v   string
	set bool
}

func (s *optionalString) String() string     { return s.v }
func (s *optionalString) Set(v string) error { s.v, s.set = v, true; return nil }

func (f *mutateFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.env, "env", "set `KEY=VALUE` in the environment (repeatable; KEY alone removes it)")
	fs.Var(&f.labels, "label", "set the label `KEY=VALUE` (repeatable; KEY= removes it)")
	fs.Var(&f.expose, "expose", "expose `PORT[/PROTO]` (repeatable)")
	fs.Var(&f.entrypoint, "entrypoint", "the entrypoint, as a JSON `ARRAY` or space-separated words")
	fs.Var(&f.cmd, "cmd", "the default arguments, as a JSON `ARRAY` or space-separated words")
	fs.Var(&f.user, "user", "the `USER[:GROUP]` the container runs as (registry credentials: --username)")
	fs.Var(&f.workdir, "workdir", "the working `DIR`ectory")
	fs.Var(&f.stopSig, "stop-signal", "the `SIGNAL` that stops the container")
	fs.StringVar(&f.tag, "t", "", "push the result as `NEWREF` instead of replacing REF")
}

func runMutate(ctx context.Context, e *env, args []string) error {
	var o options
	var f mutateFlags
	fs := newFlagSet(e, "mutate")
	o.registerAs(fs, "username")
	fs.StringVar(&o.platform, "platform", "", "`OS/ARCH[/VARIANT]` to take from a multi-platform image")
	f.register(fs)
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one REF, got %d arguments", fs.NArg())
	}
	changes, err := f.changes(e)
	if err != nil {
		return err
	}
	b, dst, err := startEdit(ctx, e, &o, fs.Arg(0), f.tag, 1)
	if err != nil {
		return err
	}
	digest, err := pushEdited(ctx, b, b.img.EditConfig(changes), dst, &o)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, digest)
	return nil
}

// changes turns the flags into config changes.
func (f *mutateFlags) changes(e *env) (images.ConfigChanges, error) {
	ch := images.ConfigChanges{Env: f.env, ExposedPorts: f.expose}
	var err error
	if ch.Entrypoint, err = f.entrypoint.words("--entrypoint"); err != nil {
		return ch, err
	}
	if ch.Cmd, err = f.cmd.words("--cmd"); err != nil {
		return ch, err
	}
	ch.User, ch.WorkingDir, ch.StopSignal = f.user.ptr(), f.workdir.ptr(), f.stopSig.ptr()
	for _, kv := range f.labels {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return ch, usagef("--label %q: want KEY=VALUE", kv)
		}
		if ch.Labels == nil {
			ch.Labels = map[string]string{}
		}
		ch.Labels[k] = v
	}
	for _, kv := range f.env {
		if k, _, _ := strings.Cut(kv, "="); k == "" {
			return ch, usagef("--env %q: want KEY=VALUE", kv)
		}
	}
	if ch.Created, err = sourceDate(e); err != nil {
		return ch, err
	}
	return ch, nil
}

func (s optionalString) ptr() *string {
	if !s.set {
		return nil
	}
	return &s.v
}

// words parses a JSON array or space-separated words; "" clears.
func (s optionalString) words(flagName string) ([]string, error) {
	if !s.set {
		return nil, nil
	}
	v := strings.TrimSpace(s.v)
	if strings.HasPrefix(v, "[") {
		var out []string
		if err := json.Unmarshal([]byte(v), &out); err != nil {
			return nil, usagef("%s %q: not a JSON array of strings", flagName, v)
		}
		return out, nil
	}
	return append([]string{}, strings.Fields(v)...), nil
}
