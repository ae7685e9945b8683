//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// report prints the tables and writes the whole report to -out.
func (h *harness) report(res *results) error {
	tables := h.tables(res)
	fmt.Println()
	fmt.Print(tables)
	if h.opts.out == "-" {
		return nil
	}
	path := h.opts.out
	if !filepath.IsAbs(path) {
		path = filepath.Join(h.root, path)
	}
	doc := h.header(res) + "\n" + tables + h.failures(res) + h.chains(res) + "\n" + h.commands(res) + keptSections(path)
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "\nwrote %s\n", path)
	return nil
}

// tables are the report's tables, each for the operations that ran.
func (h *harness) tables(res *results) string {
	var b strings.Builder
	if len(res.groupOps(groupMain)) > 0 {
		fmt.Fprintf(&b, "## Medians\n\nstderr on %s.\n\n%s", h.mode.describe(), res.table())
	}
	if len(res.groupOps(groupStderr)) > 0 {
		fmt.Fprintf(&b, "\n## Pull big → docker tarball, by where stderr goes\n\n%s\n%s", res.stderrTable(), res.progressTable())
	}
	if len(res.groupOps(groupWAN)) > 0 {
		fmt.Fprintf(&b, "\n## Wide-area link\n\n%s, stderr on %s. Each cell: median wall time · sequential round trips (RT) · HTTP requests.\n\n%s",
			h.linkText(), h.mode.describe(), res.wanTable())
	}
	if len(res.groupOps(groupCapped)) > 0 {
		fmt.Fprintf(&b, "\n## A link that caps each connection\n\n%s, at most %g MB/s per connection, stderr on %s. Each cell: median wall time · peak RSS · bytes fetched ÷ the image's.\n\n%s",
			h.capText(), h.opts.capConn, h.mode.describe(), res.cappedTable())
	}
	if ops := res.groupOps(groupScale); len(ops) > 0 {
		fmt.Fprintf(&b, "\n## Scale\n\nMedians of %d runs, stderr on %s.\n\n%s\n"+
			"† no way to pull several images into one file: one invocation per image, in sequence, from sh, into a file each; "+
			"wall is the whole loop, peak RSS the largest invocation's. Not compared in the ratios.\n",
			min(h.opts.runs, h.opts.scaleRuns), h.mode.describe(), res.groupTable(groupScale))
	}
	if ops := res.groupOps(groupSync); len(ops) > 0 {
		fmt.Fprintf(&b, "\n## Mirroring a repository\n\nstderr on %s. skiff sync, skopeo sync, crane copy --all-tags, regctl repo copy.\n\n%s",
			h.mode.describe(), res.groupTable(groupSync))
	}
	if len(res.resume) > 0 {
		fmt.Fprintf(&b, "\n## Killed at half and run again\n\nThe big image (%s) pulled to a docker tarball through a proxy that counts what registry A serves; "+
			"the tool is killed with SIGKILL once half of it went out, and the same command runs again. "+
			"\"Fetched again\" is what both runs took beyond the image's size.\n\n%s",
			fmtBytes(res.resumeSize), res.resumeTable())
	}
	if len(res.stall) > 0 {
		fmt.Fprintf(&b, "\n## A link that stalls mid-blob\n\nOne platform of the index pulled to a docker tarball through a link of %s round trip and %s "+
			"that stops sending the first response to pass %s, with the connection open until the tool hangs up "+
			"(a server, or a NAT that dropped the flow). A tool still waiting after %s is killed.\n\n%s",
			h.opts.rtt, h.linkBandwidth(), bytesIEC(res.stallAfter), stallLimit, res.stallTable())
	}
	if len(res.serve) > 0 {
		fmt.Fprintf(&b, "\n## Syncing many tags into skiff's registry server\n\n`skiff sync` of a repository of %d tags (each a manifest, a config and a 2 KiB layer "+
			"of its own over a shared 64 KiB base) from registry A into a fresh registry of each kind, each run into a namespace of its own; "+
			"one sync into each destination per run, in an order that rotates.\n\n%s", serveTags, res.serveTable())
	}
	fmt.Fprintf(&b, "\n## Targets\n\n%s", targetTable(res.targets()))
	return b.String()
}

// capText describes the capped link.
func (h *harness) capText() string {
	return fmt.Sprintf("Through a simulated link of %s round trip and %g Mbit/s in all", h.opts.rtt, h.opts.capBandwidth)
}

// linkText describes the simulated link.
func (h *harness) linkText() string {
	return fmt.Sprintf("Through a simulated link of %s round trip and %s", h.opts.rtt, h.linkBandwidth())
}

// chains lists the requests that made each tool's round trips.
func (h *harness) chains(res *results) string {
	c := res.chains()
	if c == "" {
		return ""
	}
	return "\n## Sequential requests through the link\n\nThe longest chain of requests, each sent after the one before had ended, " +
		"in each tool's last run (\"new\": the request opened its connection, 2 round trips):\n\n" + c
}

func (h *harness) header(res *results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# skiff compared with crane, regctl and skopeo\n\n")
	fmt.Fprintf(&b, "Written by `%s` on %s, in %s.\n", h.command(), h.started.Format("2006-01-02 15:04 MST"),
		time.Since(h.started).Round(time.Second))
	if h.opts.note != "" {
		fmt.Fprintf(&b, "\n**Note:** %s\n", h.opts.note)
	}
	fmt.Fprintf(&b, "\n## Machine\n\n")
	fmt.Fprintf(&b, "- %d CPUs: %s\n- Linux %s, %s RAM\n", runtime.NumCPU(), cpuModel(), readTrim("/proc/sys/kernel/osrelease"), memTotal())
	fmt.Fprintf(&b, "- load average (1, 5, 15 min): %s at the start, %s at the end\n", h.loadStart, loadAvg())
	fmt.Fprintf(&b, "\n## Tools\n\n")
	fmt.Fprintf(&b, "- skiff: %s; `CGO_ENABLED=0 go build -trimpath -ldflags='-s -w'` (the release build), %s; %s\n", h.tools[0].version, fmtBytes(h.skiffSize), h.goVersion)
	for _, t := range h.tools[1:] {
		fmt.Fprintf(&b, "- %s: %s, %s\n", t.name, t.version, t.origin)
	}
	fmt.Fprintf(&b, "- registries: two instances of Debian's `%s` on loopback, plain HTTP, filesystem storage, access log off\n", h.registry)
	fmt.Fprintf(&b, "\n## Images\n\n")
	fmt.Fprintf(&b, "- big (`bench/big:1`, Docker media types): %s\n", h.fix.big.note)
	fmt.Fprintf(&b, "- tiny (`bench/tiny:1`): %s\n", h.fix.tiny.note)
	fmt.Fprintf(&b, "- index (`bench/multi:1`, OCI): %s\n", h.fix.index.note)
	if f := h.fix; f.huge != nil {
		fmt.Fprintf(&b, "- huge (`bench/huge:1`): %s\n", f.huge.note)
		fmt.Fprintf(&b, "- wide (`bench/wide:1`): %s\n", f.wide.note)
		fmt.Fprintf(&b, "- many (`bench/many0:1` … `bench/many%d:1`): each %s; the first layer is the same in all\n", len(f.many)-1, f.many[0].note)
	}
	for _, im := range []*seeded{h.fix.one, h.fix.oneHuge} {
		if im != nil {
			fmt.Fprintf(&b, "- `%s`: %s\n", strings.TrimPrefix(im.ref, h.fix.a+"/"), im.note)
		}
	}
	fmt.Fprintf(&b, "\n## Method\n\n%s", method(h.opts.runs, h.rssFloor))
	fmt.Fprintf(&b, "\n%s", h.methodStderr())
	if len(res.groupOps(groupWAN)) > 0 {
		fmt.Fprintf(&b, "\n%s", h.methodLink())
	}
	if len(res.groupOps(groupCapped)) > 0 {
		fmt.Fprintf(&b, "\n%s", h.methodCapped())
	}
	if len(res.groupOps(groupScale)) > 0 {
		fmt.Fprintf(&b, "\n%s", h.methodScale())
	}
	return b.String()
}

// failures lists the first error of every tool that failed an operation.
func (h *harness) failures(res *results) string {
	var b strings.Builder
	for _, o := range res.ops {
		for _, t := range res.tools {
			if c := res.cells[o.key+"/"+t]; c != nil && c.err != nil {
				fmt.Fprintf(&b, "- %s, %s:\n\n```\n%s\n```\n", o.name, t, strings.TrimSpace(c.err.Error()))
			}
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "\n## Failures\n\n" + b.String()
}

// commands shows each tool's command line for every operation, with the
// registries as A and B and the output as OUT.
func (h *harness) commands(res *results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Commands\n\n```sh\n")
	for _, o := range res.ops {
		fmt.Fprintf(&b, "# %s (%s)\n", o.name, o.key)
		for _, t := range res.tools {
			if args := o.cmd[t]; args != nil {
				fmt.Fprintln(&b, h.commandLine(o, t, args("OUT", t+"-N")))
			}
		}
	}
	fmt.Fprintf(&b, "```\n\n## Reproduce\n\n```sh\ncd skiff && %s\n```\n", h.command())
	return b.String()
}

// commandLine is one tool's command for an operation, with the registries
// as A and B, through their links as WA and WB, and the output as OUT.
func (h *harness) commandLine(o op, t string, args []string) string {
	line := t + " " + strings.Join(args, " ")
	if o.loop[t] {
		line = "# one invocation per image, in sequence; the first:\n" + firstOfLoop(args[0], t)
	}
	f := h.fix
	var pairs []string
	for _, s := range []string{"/", ","} {
		pairs = append(pairs, f.a+s, "A"+s, f.b+s, "B"+s, f.aw+s, "WA"+s, f.bw+s, "WB"+s)
		if f.ac != "" {
			pairs = append(pairs, f.ac+s, "CA"+s)
		}
	}
	return strings.NewReplacer(append(pairs, f.tarball, "big.tar")...).Replace(line)
}

// command is how this report was made, quoted for a POSIX shell.
func (h *harness) command() string {
	words := []string{"go", "run", "./internal/bench/compare"}
	for _, a := range h.opts.args {
		words = append(words, shellQuote(a))
	}
	return strings.Join(words, " ")
}

// shellQuote returns s as one word of a POSIX shell command.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./,:@+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func memTotal() string {
	b, _ := os.ReadFile("/proc/meminfo")
	var kb int64
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "MemTotal:") {
			fmt.Sscanf(strings.TrimPrefix(line, "MemTotal:"), "%d", &kb)
		}
	}
	return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
}

func loadAvg() string {
	f := strings.Fields(readTrim("/proc/loadavg"))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// keptSections returns the sections of path that other measurements own,
// each between "<!-- begin: NAME -->" and "<!-- end: NAME -->" markers
// (internal/bench/serve's, the zstd benchmark's), to keep them when the
// comparison rewrites the file.
func keptSections(path string) string {
	raw, _ := os.ReadFile(path)
	doc := string(raw)
	var kept strings.Builder
	for {
		i := strings.Index(doc, "<!-- begin: ")
		if i < 0 {
			return kept.String()
		}
		name, _, ok := strings.Cut(doc[i+len("<!-- begin: "):], " -->")
		end := "<!-- end: " + name + " -->"
		j := strings.Index(doc[i:], end)
		if !ok || j < 0 {
			return kept.String()
		}
		kept.WriteString("\n" + doc[i:i+j+len(end)] + "\n")
		doc = doc[i+j+len(end):]
	}
}
