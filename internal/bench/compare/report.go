//go:build linux

package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// cell holds the samples of one tool on one operation.
type cell struct {
	samples []sample
	err     error // the first failure, if any
}

// results are everything measured in one run of the harness.
type results struct {
	ops      []op
	tools    []string // skiff first
	cells    map[string]*cell
	raw      []time.Duration // the raw-transfer limit, one per run
	rawCopy  []time.Duration // the raw-copy limit, one per run
	requests map[string]int  // HTTP requests of one append, per tool
}

func (r *results) cell(opKey, tool string) *cell {
	k := opKey + "/" + tool
	if r.cells[k] == nil {
		r.cells[k] = &cell{}
	}
	return r.cells[k]
}

// stat is the median wall time and peak RSS of a cell; ok is false when
// the tool lacks the operation or failed at it.
type stat struct {
	wall time.Duration
	rss  int64
	ok   bool
}

func (r *results) stat(opKey, tool string) stat {
	c := r.cells[opKey+"/"+tool]
	if c == nil || c.err != nil || len(c.samples) == 0 {
		return stat{}
	}
	var walls []time.Duration
	var rss []int64
	for _, s := range c.samples {
		walls = append(walls, s.wall)
		rss = append(rss, s.rss)
	}
	return stat{wall: median(walls), rss: median(rss), ok: true}
}

// median is the middle value, or the mean of the two middle values.
func median[T time.Duration | int64](v []T) T {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// bestPeer is the peer with the least value of what, among those that ran.
func (r *results) bestPeer(opKey string, what func(stat) float64) (string, float64, bool) {
	best, bestV, found := "", 0.0, false
	for _, t := range r.tools[1:] {
		s := r.stat(opKey, t)
		if s.ok && (!found || what(s) < bestV) {
			best, bestV, found = t, what(s), true
		}
	}
	return best, bestV, found
}

func wallOf(s stat) float64 { return s.wall.Seconds() }
func rssOf(s stat) float64  { return float64(s.rss) }

// ratio is skiff's value over the best peer's, for op and what.
func (r *results) ratio(opKey string, what func(stat) float64) (float64, string, bool) {
	s := r.stat(opKey, "skiff")
	peer, v, found := r.bestPeer(opKey, what)
	if !s.ok || !found || v == 0 {
		return 0, "", false
	}
	return what(s) / v, peer, true
}

// table renders the medians as a Markdown table.
func (r *results) table() string {
	var b strings.Builder
	head := []string{"operation"}
	for _, t := range r.tools {
		head = append(head, t+" wall")
	}
	head = append(head, "skiff ÷ faster peer")
	for _, t := range r.tools {
		head = append(head, t+" peak RSS")
	}
	head = append(head, "skiff ÷ leaner peer")
	row(&b, head)
	align := []string{"---"}
	for range head[1:] {
		align = append(align, "---:")
	}
	row(&b, align)
	for _, o := range r.ops {
		row(&b, r.opRow(o))
	}
	limits := []struct {
		name string
		runs []time.Duration
	}{
		{"raw HTTP GET of the big image's blobs, all at once, no hashing (the pull limit)", r.raw},
		{"raw copy of the big image's blobs, each GET streamed into a PUT, all at once, no hashing (the copy limit)", r.rawCopy},
	}
	for _, l := range limits {
		if len(l.runs) == 0 {
			continue
		}
		line := []string{l.name, fmtWall(median(l.runs))}
		for range len(head) - 2 {
			line = append(line, "")
		}
		row(&b, line)
	}
	return b.String()
}

func (r *results) opRow(o op) []string {
	line := []string{o.name}
	for _, t := range r.tools {
		line = append(line, r.show(o, t, func(s stat) string { return fmtWall(s.wall) }))
	}
	line = append(line, r.showRatio(o.key, wallOf))
	for _, t := range r.tools {
		line = append(line, r.show(o, t, func(s stat) string { return fmtBytes(s.rss) }))
	}
	return append(line, r.showRatio(o.key, rssOf))
}

func (r *results) show(o op, tool string, f func(stat) string) string {
	if o.cmd[tool] == nil {
		return "n/a"
	}
	if c := r.cells[o.key+"/"+tool]; c != nil && c.err != nil {
		return "failed"
	}
	s := r.stat(o.key, tool)
	if !s.ok {
		return "–"
	}
	return f(s)
}

func (r *results) showRatio(opKey string, what func(stat) float64) string {
	x, peer, ok := r.ratio(opKey, what)
	if !ok {
		return "–"
	}
	return fmt.Sprintf("%.2f (%s)", x, peer)
}

func row(b *strings.Builder, cells []string) {
	b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
}

func fmtWall(d time.Duration) string { return fmt.Sprintf("%.3f s", d.Seconds()) }
func fmtBytes(n int64) string        { return fmt.Sprintf("%.1f MiB", float64(n)/mib) }

// bytesIEC writes n in KiB or MiB, for sizes of generated data.
func bytesIEC(n int64) string {
	if n < mib {
		return fmt.Sprintf("%d KiB", n/kib)
	}
	return fmt.Sprintf("%g MiB", float64(n)/mib)
}

// bytesSI writes n in MB, as registries and docker show image sizes.
func bytesSI(n int64) string {
	if n < 1e6 {
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
