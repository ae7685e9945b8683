package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/internal/progress"
	"github.com/skiffoci/skiff/internal/regconf"
	"github.com/skiffoci/skiff/internal/resume"
	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
)

// errFlagParse marks a flag error the flag package already printed.
var errFlagParse = errors.New("flag parse error")

// options are the flags every command that talks to registries shares.
type options struct {
	insecure      bool
	user          string
	passwordStdin bool
	jobs          int
	verbose       bool
	fsync         bool
	progress      string
	quiet         bool
	platform      string
	noResume      bool
	zstdWindow    int64 // MiB; 0: the decoder's default
	referrers     bool
	partialMaxAge time.Duration
	verifyKey     string // --verify-key of pull, copy and proxy (verify.go)

	rangeMin      string // --range-min, of pull and copy
	rangeMinBytes int64  // parsed: 0 the default, -1 never

	keepUncompressed bool // push and copy from a tarball
	ociMediaTypes    bool // into a layout (oci_types.go)
	noTar            bool // pull --no-tar
	readTimeout      time.Duration
}

// newFlagSet returns a FlagSet for command name whose usage prints the
// command's usage line, flags and help. Like register, it is called by
// every command and kept out of line to keep the binary small.
//
//go:noinline
func newFlagSet(e *env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {} // parse prints usage itself
	return fs
}

// subcommands holds the commands of a command that has several, named as
// their FlagSets are ("registry serve"); "skiff help" does not list them.
var subcommands = map[string]*command{}

// commandFor returns the command or subcommand a FlagSet is named after.
func commandFor(name string) *command {
	if cmd, ok := commands[name]; ok {
		return cmd
	}
	return subcommands[name]
}

// printHelp writes the full help of command name: usage, flags, examples.
func printHelp(w io.Writer, fs *flag.FlagSet) {
	cmd := commandFor(fs.Name())
	fmt.Fprintf(w, "usage: skiff %s %s\n\n%s\n\nflags:\n", fs.Name(), cmd.usage, cmd.summary)
	fs.SetOutput(w)
	fs.PrintDefaults()
	if cmd.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(cmd.help))
	}
}

// register adds the shared flags to fs.
//
//go:noinline
func (o *options) register(fs *flag.FlagSet) { o.registerAs(fs, "user") }

// registerAs adds the shared flags, with the registry user name flag
// called userFlag (mutate's --user is the image's user).
func (o *options) registerAs(fs *flag.FlagSet, userFlag string) {
	fs.BoolVar(&o.insecure, "insecure", false, "allow plain HTTP and unverified TLS for the registries named in this command")
	fs.StringVar(&o.user, userFlag, "", "`USER` name for the registries named in this command (password from --password-stdin)")
	fs.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password for --user from standard input")
	fs.IntVar(&o.jobs, "j", 4, "number of blobs to transfer in parallel")
	fs.BoolVar(&o.verbose, "v", false, "trace HTTP requests on stderr (credentials are never shown)")
	fs.BoolVar(&o.quiet, "quiet", false, "print nothing but errors")
	fs.StringVar(&o.progress, "progress", "auto", "show transfers on stderr: `auto` (on a terminal), tty, plain (a line per blob, for logs) or none")
	fs.DurationVar(&o.readTimeout, "read-timeout", registry.DefaultBodyTimeout, "cut a connection whose registry sends nothing of a response body for `DURATION`: a blob continues where it stopped, other requests are retried")
}

// registerWrite adds the flags of commands that write files: --fsync and
// those that govern resuming an interrupted run.
func (o *options) registerWrite(fs *flag.FlagSet) {
	fs.BoolVar(&o.fsync, "fsync", false, "flush the tarball or each layout blob to stable storage before naming it (slower; survives a power loss)")
	o.registerResume(fs)
}

// registerRanges adds --range-min to the commands that write tarballs
// or copy between registries, and says how -j bounds the ranges.
func (o *options) registerRanges(fs *flag.FlagSet) {
	fs.StringVar(&o.rangeMin, "range-min", "32MiB", "fetch a blob of at least `SIZE` from a registry into a tarball or a layout as several ranges at once, over as many of -j's connections as raise the throughput; between registries, switch such a blob to ranges when one stream proves slower than the upload (see copy --help); 0: never")
	if j := fs.Lookup("j"); j != nil {
		j.Usage = "transfer up to `N` blobs at once, each over a connection; a blob of --range-min or more borrows the free ones for its ranges (between registries, once it switched to ranges, up to N more)"
	}
}

// registerZstd adds the flag of commands that read layers: how much
// memory a zstd layer may ask for.
func (o *options) registerZstd(fs *flag.FlagSet) {
	fs.Int64Var(&o.zstdWindow, "zstd-max-window", 128, "accept zstd layers whose window (the memory decoding needs) is up to `MiB`; the zstd command's own limit is 128")
}

// maxZstdWindow is --zstd-max-window in bytes.
func (o *options) maxZstdWindow() int64 {
	if o == nil || o.zstdWindow <= 0 {
		return 0
	}
	return min(o.zstdWindow, 1<<20) << 20
}

// registerKeepUncompressed adds the flag of commands that read tarballs
// and write to a registry or a layout.
func (o *options) registerKeepUncompressed(fs *flag.FlagSet) {
	fs.BoolVar(&o.keepUncompressed, "keep-uncompressed", false, "send a tarball's plain-tar layers (docker save, podman save) as they are; by default they are gzip-compressed, as docker push does, which changes the image's digest")
}

// registerOCIMediaTypes adds --oci-media-types to commands that write
// into layouts (and registries).
func (o *options) registerOCIMediaTypes(fs *flag.FlagSet) {
	fs.BoolVar(&o.ociMediaTypes, "oci-media-types", false, "store Docker-typed manifests, configs and layers with OCI media types, so that every OCI tool reads the layout (umoci, and skopeo up to at least 1.9, find only OCI-typed entries of index.json by name); the manifests get new digests, layers keep theirs")
}

// registerResume adds the flags that govern resuming an interrupted run.
func (o *options) registerResume(fs *flag.FlagSet) {
	fs.BoolVar(&o.noResume, "no-resume", false, "start over instead of continuing from what an interrupted run of the same command left")
	fs.DurationVar(&o.partialMaxAge, "partial-max-age", resume.DefaultMaxAge, "remove partial files that interrupted runs left in the output's directory once they are older than `AGE`")
}

// uploadStates sets c up to keep the state of interrupted blob uploads in
// $XDG_CACHE_HOME/skiff/uploads (or ~/.cache/skiff/uploads), after
// removing the states older than --partial-max-age; with --no-resume, or
// no such directory, uploads keep nothing. skiff and skiff/uploads are
// made private (0700); one another user owns or can write is refused, as
// ssh refuses a loose ~/.ssh.
func (o *options) uploadStates(e *env, c *registry.Client) error {
	cache := e.getenv("XDG_CACHE_HOME")
	if cache == "" && e.getenv("HOME") != "" {
		cache = filepath.Join(e.getenv("HOME"), ".cache")
	}
	if o.noResume || cache == "" {
		return nil
	}
	dir := filepath.Join(cache, "skiff", "uploads")
	for _, p := range []string{filepath.Dir(dir), dir} {
		if err := safefile.MkdirPrivate(p); err != nil {
			return fmt.Errorf("%w (or run with --no-resume)", err)
		}
	}
	c.ResumeDir = dir
	d, err := safefile.OpenDir(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	entries, _ := fs.ReadDir(d.Root().FS(), ".")
	for _, de := range entries {
		if info, err := de.Info(); err == nil && time.Since(info.ModTime()) > o.partialMaxAge && o.partialMaxAge > 0 {
			d.Remove(de.Name())
		}
	}
	return nil
}

// parse parses args with fs, allowing flags after positional arguments
// as users of skopeo and crane expect ("--" ends the flags), and turns
// help requests and flag errors into the errors run understands.
func parse(e *env, fs *flag.FlagSet, args []string) error {
	fs.SetOutput(e.stderr)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printHelp(e.stdout, fs)
				return flag.ErrHelp
			}
			fmt.Fprintf(e.stderr, "usage: skiff %s %s\nrun \"skiff %s --help\" for more\n", fs.Name(), commandFor(fs.Name()).usage, fs.Name())
			return errFlagParse
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional, args = append(positional, rest[0]), rest[1:]
	}
	return fs.Parse(append([]string{"--"}, positional...))
}

// client builds the registry client for a command that names hosts.
func (o *options) client(e *env, hosts []string) (*registry.Client, error) {
	if o.jobs < 1 || o.jobs > 64 {
		return nil, usagef("-j must be between 1 and 64")
	}
	if o.readTimeout < 0 {
		return nil, usagef("--read-timeout must not be negative")
	}
	if o.rangeMin != "" {
		n, err := parseSize(o.rangeMin)
		if err != nil {
			return nil, usagef("--range-min: %v", err)
		}
		o.rangeMinBytes = n
		if n == 0 {
			o.rangeMinBytes = -1
		}
	}
	c := &registry.Client{UserAgent: "skiff/" + version(), Timeouts: registry.Timeouts{Body: o.readTimeout}}
	// A blob of --range-min or more read in one stream (a copy between
	// registries, a pull to stdout) switches to ranges only when that
	// stream proves slower than its reader (registry.Ranges): from a
	// source that caps each connection, ranges halve a copy; from one
	// faster than the upload, they would cost CPU and memory for nothing.
	if o.rangeMinBytes > 0 {
		c.Ranges = &registry.Ranges{Min: o.rangeMinBytes, Conns: o.jobs}
	}
	store := &auth.Store{Getenv: e.getenv} // the environment the command runs with, as login saves to
	c.Keychain = store
	if o.user != "" {
		cred, err := o.credential(e)
		if err != nil {
			return nil, err
		}
		static := auth.Static{}
		for _, h := range hosts {
			static[h] = cred
		}
		c.Keychain = auth.KeychainFunc(func(ctx context.Context, host string) (auth.Credential, error) {
			if cred, _ := static.Get(ctx, host); cred != (auth.Credential{}) {
				return cred, nil
			}
			return store.Get(ctx, host)
		})
	} else if o.passwordStdin {
		return nil, usagef("--password-stdin needs --user")
	}
	if o.insecure {
		c.Insecure = hosts
	}
	conf, err := regconf.Load(&regconf.LoadOptions{Getenv: e.getenv})
	if err != nil {
		return nil, err
	}
	conf.Apply(c)
	if o.verbose {
		c.Trace = e.stderr
	}
	return c, nil
}

func (o *options) credential(e *env) (auth.Credential, error) {
	if !o.passwordStdin {
		return auth.Credential{}, usagef("--user needs --password-stdin (passwords are never taken as arguments)")
	}
	line, err := bufio.NewReader(io.LimitReader(e.stdin, 64<<10)).ReadString('\n')
	if err != nil && err != io.EOF {
		return auth.Credential{}, fmt.Errorf("reading the password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return auth.Credential{}, errors.New("empty password on stdin")
	}
	return auth.Credential{Username: o.user, Password: pw}, nil
}

// display starts the progress display --progress and --quiet ask for;
// auto means a terminal display when stderr is a terminal.
func (o *options) display(e *env) (*progress.Display, error) {
	mode := map[string]progress.Mode{"tty": progress.TTY, "plain": progress.Plain, "none": progress.Off}[o.progress]
	switch {
	case o.quiet:
		mode = progress.Off
	case o.progress == "auto":
		mode = progress.Off
		if isTerminal(e.stderr) {
			mode = progress.TTY
		}
	case o.progress != "tty" && o.progress != "plain" && o.progress != "none":
		return nil, usagef("--progress must be auto, tty, plain or none")
	}
	return progress.New(e.stderr, mode), nil
}

// platforms parses --platform: "" means the host's, "all" means nil.
func (o *options) platforms() ([]manifest.Platform, error) {
	switch o.platform {
	case "":
		return []manifest.Platform{manifest.HostPlatform()}, nil
	case "all":
		return nil, nil
	}
	var out []manifest.Platform
	for _, s := range strings.Split(o.platform, ",") {
		p, err := manifest.ParsePlatform(strings.TrimSpace(s))
		if err != nil {
			return nil, usagef("--platform: %v", err)
		}
		out = append(out, p)
	}
	return out, nil
}
