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
	err     error       // the first failure, if any
	chain   []reqRecord // through a link: the critical path of the last run
}

// results are everything measured in one run of the harness.
type results struct {
	ops     []op
	tools   []string // skiff first
	mode    stderrMode
	cells   map[string]*cell
	raw     []time.Duration // the raw-transfer limit, one per run
	rawCopy []time.Duration // the raw-copy limit, one per run
	// wanRawCopy is the copy limit of the index through the wide-area
	// links, one per run.
	wanRawCopy []time.Duration
	requests   map[string]int // HTTP requests of one append, per tool
	// resume holds each tool's pull killed at half and run again, and
	// resumeSize the image's size.
	resume     map[string]resumeSample
	resumeSize int64
	// stall holds each tool's pull through a link that stalled after
	// stallAfter bytes of one response.
	stall      map[string]stallSample
	stallAfter int64
	// serve holds skiff sync's samples into each destination of the
	// serve section, serveDests their names in the report's order.
	serve      map[string][]sample
	serveDests []string
}

func (r *results) cell(opKey, tool string) *cell {
	k := opKey + "/" + tool
	if r.cells[k] == nil {
		r.cells[k] = &cell{}
	}
	return r.cells[k]
}

// op is the operation of key, if it ran.
func (r *results) op(key string) (op, bool) {
	for _, o := range r.ops {
		if o.key == key {
			return o, true
		}
	}
	return op{}, false
}

// groupOps are the operations of one table.
func (r *results) groupOps(group string) []op {
	var out []op
	for _, o := range r.ops {
		if o.group == group {
			out = append(out, o)
		}
	}
	return out
}

// stat is the medians of a cell; ok is false when the tool lacks the
// operation or failed at it.
type stat struct {
	wall, user, sys, cpu time.Duration
	rss, fetched         int64
	rtts, reqs           int
	ok                   bool
}

func (r *results) stat(opKey, tool string) stat {
	c := r.cells[opKey+"/"+tool]
	if c == nil || c.err != nil || len(c.samples) == 0 {
		return stat{}
	}
	var walls, users, syss, cpus []time.Duration
	var rss, rtts, reqs, fetched []int64
	for _, s := range c.samples {
		walls, users, syss, cpus = append(walls, s.wall), append(users, s.user), append(syss, s.sys), append(cpus, s.cpu())
		rss, rtts, reqs = append(rss, s.rss), append(rtts, int64(s.rtts)), append(reqs, int64(s.reqs))
		fetched = append(fetched, s.fetched)
	}
	return stat{wall: median(walls), user: median(users), sys: median(syss), cpu: median(cpus),
		rss: median(rss), rtts: int(median(rtts)), reqs: int(median(reqs)), fetched: median(fetched), ok: true}
}

// median is the middle value, or the mean of the two middle values.
func median[T time.Duration | int64 | float64](v []T) T {
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

// bestPeer is the peer with the least value of what, among those that ran
// the operation in one invocation.
func (r *results) bestPeer(opKey string, what func(stat) float64) (string, float64, bool) {
	o, _ := r.op(opKey)
	best, bestV, found := "", 0.0, false
	for _, t := range r.tools[1:] {
		s := r.stat(opKey, t)
		if s.ok && !o.loop[t] && (!found || what(s) < bestV) {
			best, bestV, found = t, what(s), true
		}
	}
	return best, bestV, found
}

func wallOf(s stat) float64 { return s.wall.Seconds() }
func rssOf(s stat) float64  { return float64(s.rss) }

// ratio is skiff's value over the best peer's, for op and what.
func (r *results) ratio(opKey string, what func(stat) float64) (float64, string, bool) {
	peer, _, found := r.bestPeer(opKey, what)
	if !found {
		return 0, "", false
	}
	return r.ratioTo(opKey, peer, what)
}

// ratioTo is skiff's value over peer's.
func (r *results) ratioTo(opKey, peer string, what func(stat) float64) (float64, string, bool) {
	s, p := r.stat(opKey, "skiff"), r.stat(opKey, peer)
	if !s.ok || !p.ok || what(p) == 0 {
		return 0, "", false
	}
	return what(s) / what(p), peer, true
}

// table renders the medians of the main operations as a Markdown table,
// with the transfer limits.
func (r *results) table() string {
	t := r.groupTable(groupMain)
	limits := []struct {
		name string
		runs []time.Duration
	}{
		{"raw HTTP GET of the big image's blobs, all at once, no hashing (the pull limit)", r.raw},
		{"raw copy of the big image's blobs, each GET streamed into a PUT, all at once, no hashing (the copy limit)", r.rawCopy},
	}
	var b strings.Builder
	for _, l := range limits {
		if len(l.runs) == 0 {
			continue
		}
		line := []string{l.name, fmtWall(median(l.runs))}
		for range 2*len(r.tools) + 1 {
			line = append(line, "")
		}
		row(&b, line)
	}
	return t + b.String()
}

// groupTable renders one group's medians: wall times and peak RSS of every
// tool, with skiff's ratios to the best peer.
func (r *results) groupTable(group string) string {
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
	row(&b, alignRow(len(head)))
	for _, o := range r.groupOps(group) {
		row(&b, r.opRow(o))
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

// show formats a cell: "n/a" without the operation, "failed", "–"
// unmeasured, † after a tool that ran once per image.
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
	if o.loop[tool] {
		return f(s) + " †"
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

// fmtCPU is CPU time as "0.412 s (0.380 + 0.032)": user + system.
func fmtCPU(s stat) string {
	return fmt.Sprintf("%.3f s (%.3f + %.3f)", s.cpu.Seconds(), s.user.Seconds(), s.sys.Seconds())
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

// bytesSI writes n in kB, MB or GB, as registries and docker show image
// sizes.
func bytesSI(n int64) string {
	if n < 1e6 {
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	if n >= 1e9 {
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
