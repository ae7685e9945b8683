//go:build linux

// Command compare times skiff against crane, regctl and skopeo on the same
// images, served by two instances of Debian's docker-registry on loopback, and writes
// the medians, the ratios and issue #9's targets to internal/bench/RESULTS.md.
//
//	go run ./internal/bench/compare                        # 5 runs, full-size images
//	go run ./internal/bench/compare -scale small -runs 1 -out -   # a quick check
//
// crane and regctl are installed at pinned versions into a temporary GOBIN
// unless -crane and -regctl (or $CRANE and $REGCTL) name binaries; skopeo
// is the one on PATH (Debian's package) unless -skopeo names one. Nothing
// but loopback is used once the tools are there; every temporary directory
// and registry is removed on exit.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// options are the command's flags.
type options struct {
	runs                      int
	scale                     string
	skiff, crane, reg, skopeo string
	out, note, only           string
	args                      []string
}

func main() {
	var o options
	flag.IntVar(&o.runs, "runs", 5, "timed runs of every operation and tool; the medians are reported")
	flag.StringVar(&o.scale, "scale", "full", "image sizes: full (a ≥ 400 MB image) or small (to check the harness)")
	flag.StringVar(&o.skiff, "skiff", "", "use this skiff binary instead of building one")
	flag.StringVar(&o.skopeo, "skopeo", "", "skopeo binary (default $SKOPEO, else skopeo on PATH)")
	flag.StringVar(&o.crane, "crane", "", "crane binary (default $CRANE, else go install crane@"+peers[0].version+")")
	flag.StringVar(&o.reg, "regctl", "", "regctl binary (default $REGCTL, else go install regctl@"+peers[1].version+")")
	flag.StringVar(&o.out, "out", "internal/bench/RESULTS.md", `write the report here, relative to the repository ("-": stdout only)`)
	flag.StringVar(&o.note, "note", "", "a remark for the report, such as how busy the machine was")
	flag.StringVar(&o.only, "ops", "", "comma-separated operations to run (default all): "+strings.Join(opKeys, ","))
	flag.Parse()
	o.args = os.Args[1:]
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

var opKeys = []string{"pull-tar", "pull-oci", "pull-tiny", "push", "copy", "copy-index", "append", "sync", "sync-again"}

func run(ctx context.Context, o options) error {
	sc, ok := scales[o.scale]
	if !ok || o.runs < 1 || flag.NArg() > 0 {
		return fmt.Errorf("usage: compare [-runs N] [-scale full|small] [-crane PATH] [-regctl PATH] [-skopeo PATH] [-out FILE]")
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	regBin, err := exec.LookPath("docker-registry")
	if err != nil {
		return fmt.Errorf("docker-registry is missing (apt-get install docker-registry): %w", err)
	}
	work, err := os.MkdirTemp("", "skiff-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	h := &harness{opts: o, sc: sc, root: root, work: work, started: time.Now().UTC(), loadStart: loadAvg()}
	if err := h.setupTools(ctx, regBin); err != nil {
		return err
	}
	a, err := startRegistry(ctx, regBin, filepath.Join(work, "registry-a"))
	if err != nil {
		return err
	}
	defer a.stop()
	b, err := startRegistry(ctx, regBin, filepath.Join(work, "registry-b"))
	if err != nil {
		return err
	}
	defer b.stop()
	if err := h.seed(ctx, a.host, b.host); err != nil {
		return err
	}
	res, err := h.bench(ctx)
	if err != nil {
		return err
	}
	return h.report(res)
}

// harness holds the state of one run of the command.
type harness struct {
	opts      options
	sc        scale
	root      string
	work      string
	tools     []tool // skiff first
	registry  string // docker-registry's version
	goVersion string
	run       *runner
	fix       *fixture
	started   time.Time
	loadStart string
	skiffSize int64
	rssFloor  int64 // the peak RSS the helper reports for /bin/true
}

func (h *harness) setupTools(ctx context.Context, regBin string) error {
	bin := filepath.Join(h.work, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	rusage := filepath.Join(bin, "rusage")
	if err := build(ctx, h.root, "./internal/bench/rusage", rusage); err != nil {
		return err
	}
	skiff := h.opts.skiff
	if skiff == "" {
		fmt.Fprintln(os.Stderr, "building skiff (static, stripped)")
		skiff = filepath.Join(bin, "skiff")
		if err := build(ctx, h.root, "./cmd/skiff", skiff); err != nil {
			return err
		}
	}
	if fi, err := os.Stat(skiff); err == nil {
		h.skiffSize = fi.Size()
	}
	h.tools = []tool{{name: "skiff", path: skiff}}
	for _, p := range peers {
		given := map[string]string{"crane": h.opts.crane, "regctl": h.opts.reg, "skopeo": h.opts.skopeo}[p.name]
		path, origin, err := findPeer(ctx, p, given, bin)
		if err != nil {
			return err
		}
		h.tools = append(h.tools, tool{name: p.name, path: path, origin: origin})
	}
	for i, t := range h.tools {
		h.tools[i].version = versionOf(ctx, t.name, t.path)
		fmt.Fprintf(os.Stderr, "%s %s (%s)\n", t.name, h.tools[i].version, t.path)
	}
	h.tools[0].version += ", " + gitState(ctx, h.root)
	h.registry = versionOf(ctx, "docker-registry", regBin)
	if out, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output(); err == nil {
		h.goVersion = strings.TrimSpace(string(out))
	}
	var err error
	if h.run, err = newRunner(h.work, rusage); err != nil {
		return err
	}
	floor, err := h.run.measure(ctx, "/bin/true")
	h.rssFloor = floor.rss
	return err
}

func (h *harness) toolPath(name string) string {
	for _, t := range h.tools {
		if t.name == name {
			return t.path
		}
	}
	return ""
}

// selectedOps are the operations -ops asks for.
func (h *harness) selectedOps() []op {
	all := h.fix.ops()
	if h.opts.only == "" {
		return all
	}
	want := strings.Split(h.opts.only, ",")
	return slices.DeleteFunc(all, func(o op) bool { return !slices.Contains(want, o.key) })
}
