//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// The markers around the section this command owns in RESULTS.md; the
// comparison harness (internal/bench/compare) keeps it when it rewrites
// the rest of the file.
const (
	beginMarker = "<!-- begin: go run ./internal/bench/serve -->"
	endMarker   = "<!-- end: go run ./internal/bench/serve -->"
)

// report prints the table and writes it into the section of -out.
func report(o *options, results []result) error {
	table := resultTable(results)
	fmt.Print(table)
	var failed []string
	for _, r := range results {
		if r.failures != "" || r.peakKiB > targetKiB {
			failed = append(failed, r.name)
		}
	}
	if o.out != "-" {
		if err := writeSection(o.out, section(o, table)); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", o.out)
	}
	if len(failed) > 0 {
		return fmt.Errorf("over the %d MiB target or failed: %s", targetKiB>>10, strings.Join(failed, "; "))
	}
	return nil
}

func resultTable(results []result) string {
	var b strings.Builder
	b.WriteString("| case | wall | rate | server peak RSS (VmHWM) | ≤ 32 MiB |\n| --- | ---: | ---: | ---: | --- |\n")
	for _, r := range results {
		verdict := "pass"
		if r.peakKiB > targetKiB || r.failures != "" {
			verdict = "**FAIL** " + r.failures
		}
		rate := float64(r.bytes) / (1 << 20) / r.wall.Seconds()
		fmt.Fprintf(&b, "| %s | %.2f s | %.0f MiB/s | %.1f MiB | %s |\n", r.name, r.wall.Seconds(), rate, float64(r.peakKiB)/1024, verdict)
	}
	return b.String()
}

func section(o *options, table string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n## registry serve: peak memory while receiving and serving a %d MiB blob\n\n", beginMarker, o.size>>20)
	fmt.Fprintf(&b, "Written by `%s` on %s.\n\n", command(), time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- machine: %d CPUs, %s; %s\n", runtime.NumCPU(), cpuModel(), runtime.Version())
	fmt.Fprintf(&b, "- skiff: %s (`CGO_ENABLED=0 go build -trimpath -ldflags='-s -w'` unless -skiff)\n\n", commit())
	if o.note != "" {
		fmt.Fprintf(&b, "**Note:** %s\n\n", o.note)
	}
	b.WriteString("Each case starts a fresh `skiff registry serve --root DIR --addr 127.0.0.1:0`, sends or fetches the\n" +
		"blob over loopback from this harness (which makes the bytes as it sends them and holds none),\n" +
		"and reads the server's peak resident set, VmHWM in /proc/PID/status, before stopping it. The\n" +
		"pulls read the blob the first case stored, from a fresh server, and check every byte count.\n\n")
	b.WriteString(table)
	b.WriteString("\n" + endMarker + "\n")
	return b.String()
}

// writeSection replaces the marked section of path, or appends it.
func writeSection(path, sec string) error {
	raw, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	doc := string(raw)
	i, j := strings.Index(doc, beginMarker), strings.Index(doc, endMarker)
	if i >= 0 && j > i {
		doc = doc[:i] + sec + strings.TrimPrefix(doc[j+len(endMarker):], "\n")
	} else {
		doc = strings.TrimRight(doc, "\n") + "\n\n" + sec
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}

// command is how the harness was run, without -note.
func command() string {
	words := []string{"go run ./internal/bench/serve"}
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-note" || a == "--note" {
			i++
			continue
		}
		if strings.HasPrefix(a, "-note=") || strings.HasPrefix(a, "--note=") {
			continue
		}
		words = append(words, a)
	}
	return strings.Join(words, " ")
}

func cpuModel() string {
	raw, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}

func commit() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown commit"
	}
	return "commit " + strings.TrimSpace(string(out))
}
