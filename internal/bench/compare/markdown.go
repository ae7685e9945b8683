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
	tables := "## Medians\n\n" + res.table() + "\n## Targets\n\n" + targetTable(res.targets())
	fmt.Println()
	fmt.Print(tables)
	if h.opts.out == "-" {
		return nil
	}
	path := h.opts.out
	if !filepath.IsAbs(path) {
		path = filepath.Join(h.root, path)
	}
	doc := h.header(res) + "\n" + tables + h.failures(res) + "\n" + h.commands(res) + keptSections(path)
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "\nwrote %s\n", path)
	return nil
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
	fmt.Fprintf(&b, "- skiff: %s; `CGO_ENABLED=0 go build -tags nethttpomithttp2 -trimpath -ldflags='-s -w'`, %s; %s\n", h.tools[0].version, fmtBytes(h.skiffSize), h.goVersion)
	for _, t := range h.tools[1:] {
		fmt.Fprintf(&b, "- %s: %s, %s\n", t.name, t.version, t.origin)
	}
	fmt.Fprintf(&b, "- registries: two instances of Debian's `%s` on loopback, plain HTTP, filesystem storage, access log off\n", h.registry)
	fmt.Fprintf(&b, "\n## Images\n\n")
	fmt.Fprintf(&b, "- big (`bench/big:1`, Docker media types): %s\n", h.fix.big.note)
	fmt.Fprintf(&b, "- tiny (`bench/tiny:1`): %s\n", h.fix.tiny.note)
	fmt.Fprintf(&b, "- index (`bench/multi:1`, OCI): %s\n", h.fix.index.note)
	fmt.Fprintf(&b, "\n## Method\n\n%s", method(h.opts.runs, h.rssFloor))
	return b.String()
}

func method(runs int, floor int64) string {
	return fmt.Sprintf(`Every operation runs once per tool in each of the %d runs, the tools' order rotating
from one run to the next; the tables show medians. Wall time runs from starting the
process to its exit; peak RSS is the child's ru_maxrss (wait4), taken by a small helper
(internal/bench/rusage: it reads %s for /bin/true) because a child started
from the harness itself would inherit the harness's peak. Every tool runs with
its defaults but for plain HTTP (crane --insecure, regctl --host reg=…,tls=disabled, skopeo
--src-tls-verify=false --dest-tls-verify=false --insecure-policy;
skiff allows plain HTTP to loopback) and a private HOME, emptied before every run, with
skopeo's root cache (/var/lib/containers/cache/blob-info-cache-v1.boltdb) removed too:
skopeo remembers where it saw each blob and would mount blobs from repositories of earlier
runs instead of uploading them as every other tool does. Outputs are removed
between runs and the page cache is not dropped, so the registries serve from memory.
Pushes and copies go to a new repository of the second registry each time, which
already stores the blobs (a warm-up copy), so every run uploads the same bytes.
The push input is the big image as a docker tarball written by skiff. The append
layer is a plain tar of 1 MiB of fresh random data each time, tagged in the big
image's own repository. Ratios compare skiff with the fastest (or leanest) of the
peers, named in brackets: below 1 skiff is ahead. "raw HTTP GET" fetches every blob
of the big image at once in the harness itself, hashing nothing: the transfer limit.
"raw copy" streams each of those GETs into a POST and PUT to a new repository of the
second registry, at once, hashing nothing: the limit the two registries set on a copy.
Requests are counted from the -v traces ("--> " lines) of one more append.
`, runs, fmtBytes(floor))
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
		fmt.Fprintf(&b, "# %s\n", o.name)
		for _, t := range res.tools {
			if args := o.cmd[t]; args != nil {
				line := t + " " + strings.Join(args("OUT", t+"-N"), " ")
				line = strings.NewReplacer(h.fix.a, "A", h.fix.b, "B", h.fix.tarball, "big.tar").Replace(line)
				fmt.Fprintln(&b, line)
			}
		}
	}
	fmt.Fprintf(&b, "```\n\n## Reproduce\n\n```sh\ncd skiff && %s\n```\n", h.command())
	return b.String()
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

// keptSections returns the sections of path that other harnesses own
// (internal/bench/serve's, between its markers), to keep them when the
// comparison rewrites the file.
func keptSections(path string) string {
	raw, _ := os.ReadFile(path)
	doc := string(raw)
	i := strings.Index(doc, "<!-- begin: go run ./internal/bench/serve -->")
	end := "<!-- end: go run ./internal/bench/serve -->"
	j := strings.Index(doc, end)
	if i < 0 || j < i {
		return ""
	}
	return "\n" + doc[i:j+len(end)] + "\n"
}
