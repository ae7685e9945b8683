//go:build linux

// Command compare times skiff against crane, regctl and skopeo on the same
// images, served by two instances of Debian's docker-registry on loopback,
// also through a simulated wide-area link, and writes the medians, the
// ratios and the targets of issues 9 and 16 to internal/bench/RESULTS.md.
//
//	go run ./internal/bench/compare                        # 5 runs, full-size images
//	go run ./internal/bench/compare -scale small -runs 1 -out -   # a quick check
//	go run ./internal/bench/compare -ops wan -rtt 50ms -bandwidth 20
//
// The operations come in groups, each a table of the report: main (pulls,
// push, copies and append on loopback), stderr (the big pull with stderr on
// a terminal, /dev/null and a pipe, and skiff's progress kinds), wan
// (through the links), capped (one-layer images pulled through a link that
// caps each connection, and copied from there to a registry on loopback), scale (a 4.3 GB image, 300 layers, 20 images at
// once; in the first -scale-runs runs only), sync, resume (a pull killed
// at half and run again), stall (a pull through a link that stops
// sending mid-blob) and serve (skiff sync of 1,000 tags into skiff
// registry serve and into distribution).
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
	runs, scaleRuns           int
	scale                     string
	skiff, crane, reg, skopeo string
	out, note, only, stderr   string
	rtt                       time.Duration
	bandwidth                 float64 // Mbit/s
	capBandwidth, capConn     float64 // the capped link's Mbit/s in all, MB/s per connection
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
	flag.StringVar(&o.only, "ops", defaultOps, "comma-separated operations or groups to run (all: every group): "+opsHelp())
	flag.IntVar(&o.scaleRuns, "scale-runs", 3, "time the scale operations in at most this many of the runs")
	flag.StringVar(&o.stderr, "stderr", string(stderrTTY), "where the tools' stderr goes outside the stderr table: tty (a pseudo-terminal), null (/dev/null) or pipe")
	flag.DurationVar(&o.rtt, "rtt", 25*time.Millisecond, "round-trip time of the simulated wide-area links")
	flag.Float64Var(&o.bandwidth, "bandwidth", 100, "bandwidth of each simulated wide-area link, Mbit/s each way (0: no cap)")
	flag.Float64Var(&o.capBandwidth, "cap-bandwidth", 1000, "bandwidth of the capped link, Mbit/s each way, all connections together")
	flag.Float64Var(&o.capConn, "cap-conn", 25, "what one connection through the capped link carries at most, MB/s each way")
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

// opGroups are the operations, by table, in the order of the report.
var opGroups = []struct {
	name string
	keys []string
}{
	{groupMain, []string{"pull-tar", "pull-oci", "pull-tiny", "push", "copy", "copy-one-stream", "copy-index", "append"}},
	{groupStderr, []string{"stderr-tty", "stderr-null", "stderr-pipe", "progress-none", "progress-plain", "progress-tty"}},
	{groupWAN, []string{"wan-tiny", "wan-platform", "wan-append", "wan-copy-index", "wan-index-create", "wan-index-add"}},
	{groupCapped, []string{"cap-one", "cap-copy", "cap-huge"}},
	{groupScale, []string{"scale-huge", "scale-layers", "scale-images"}},
	{groupSync, []string{"sync", "sync-again"}},
	{groupResume, []string{"resume"}},
	{groupStall, []string{"stall"}},
	{groupServe, []string{"serve-sync"}},
}

const defaultOps = "main,stderr,wan,capped,scale,sync,resume,stall,serve"

func opsHelp() string {
	var parts []string
	for _, g := range opGroups {
		parts = append(parts, g.name+" ("+strings.Join(g.keys, ",")+")")
	}
	return strings.Join(parts, "; ")
}

// parseOps is the set of operation keys -ops names.
func parseOps(s string) (map[string]bool, error) {
	want := map[string]bool{}
	for _, w := range strings.Split(s, ",") {
		w = strings.TrimSpace(w)
		found := false
		for _, g := range opGroups {
			for _, k := range g.keys {
				if w == "all" || w == g.name || w == k {
					want[k], found = true, true
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("-ops: no operation or group %q (have: all; %s)", w, opsHelp())
		}
	}
	return want, nil
}

func run(ctx context.Context, o options) error {
	sc, ok := scales[o.scale]
	if !ok || o.runs < 1 || o.scaleRuns < 1 || flag.NArg() > 0 {
		return fmt.Errorf("usage: compare [-runs N] [-scale full|small] [-ops LIST] [-stderr tty|null|pipe] [-rtt D] [-bandwidth MBITS] [-cap-bandwidth MBITS] [-cap-conn MBYTES] [-crane PATH] [-regctl PATH] [-skopeo PATH] [-out FILE]")
	}
	mode, err := parseStderrMode(o.stderr)
	if err != nil {
		return err
	}
	want, err := parseOps(o.only)
	if err != nil {
		return err
	}
	// The main table's pull is the stderr table's row for the default mode.
	if want["pull-tar"] {
		delete(want, "stderr-"+string(mode))
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
	h := &harness{opts: o, sc: sc, mode: mode, want: want, root: root, work: work, started: time.Now().UTC(), loadStart: loadAvg()}
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
	pa, err := startProxy(a.host, newLink(o.rtt, o.bandwidth*1e6))
	if err != nil {
		return err
	}
	defer pa.close()
	pb, err := startProxy(b.host, newLink(o.rtt, o.bandwidth*1e6))
	if err != nil {
		return err
	}
	defer pb.close()
	h.proxies = []*proxy{pa, pb}
	if h.wants(groupCapped) {
		pc, err := startProxy(a.host, newCappedLink(o.rtt, o.capBandwidth*1e6, o.capConn*1e6))
		if err != nil {
			return err
		}
		defer pc.close()
		h.capped = pc
		h.proxies = append(h.proxies, pc)
	}
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
	mode      stderrMode      // where stderr goes by default
	want      map[string]bool // the operations to run
	proxies   []*proxy        // registries a and b through their links, a through the capped one
	capped    *proxy          // registry a through the capped link, if its pulls run
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
	if h.run, err = newRunner(h.work, rusage, h.mode); err != nil {
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
	return slices.DeleteFunc(h.fix.ops(), func(o op) bool { return !h.want[o.key] })
}

// wants reports whether any operation of group is to run.
func (h *harness) wants(group string) bool {
	for _, g := range opGroups {
		if g.name == group && slices.ContainsFunc(g.keys, func(k string) bool { return h.want[k] }) {
			return true
		}
	}
	return false
}
