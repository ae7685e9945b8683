//go:build linux

package main

import (
	"fmt"
	"strings"
)

// stderrKey is the operation that pulled the big image with stderr where m
// says: the main table's pull when m is where stderr goes by default and
// no operation of its own ran.
func (r *results) stderrKey(m stderrMode) string {
	own := "stderr-" + string(m)
	if _, ok := r.op(own); ok || m != r.mode {
		return own
	}
	if _, ok := r.op("pull-tar"); ok {
		return "pull-tar"
	}
	return own
}

// stderrTable renders the big pull for every tool with stderr on a
// terminal, /dev/null and a pipe: wall and CPU time.
func (r *results) stderrTable() string {
	var b strings.Builder
	head := []string{"stderr"}
	for _, t := range r.tools {
		head = append(head, t+" wall", t+" CPU")
	}
	head = append(head, "skiff ÷ faster peer")
	row(&b, head)
	row(&b, alignRow(len(head)))
	for _, m := range stderrModes {
		o, ok := r.op(r.stderrKey(m))
		if !ok {
			continue
		}
		line := []string{m.describe()}
		for _, t := range r.tools {
			line = append(line, r.show(o, t, func(s stat) string { return fmtWall(s.wall) }),
				r.show(o, t, func(s stat) string { return fmt.Sprintf("%.3f s", s.cpu.Seconds()) }))
		}
		row(&b, append(line, r.showRatio(o.key, wallOf)))
	}
	return b.String()
}

// progressTable renders skiff's pull with each kind of progress, stderr on
// a terminal, against no progress at all.
func (r *results) progressTable() string {
	var b strings.Builder
	row(&b, []string{"skiff pull, stderr on a terminal", "wall", "CPU (user + system)", "peak RSS", "wall vs none", "CPU vs none"})
	row(&b, alignRow(6))
	for _, p := range progressKinds {
		o, ok := r.op("progress-" + p)
		if !ok {
			continue
		}
		s := r.stat(o.key, "skiff")
		show := func(f func(stat) string) string { return r.show(o, "skiff", f) }
		line := []string{"`--progress " + p + "`", show(func(s stat) string { return fmtWall(s.wall) }),
			show(fmtCPU), show(func(s stat) string { return fmtBytes(s.rss) }), "–", "–"}
		if wall, cpu, ok := r.progressCost(p); ok && p != "none" && s.ok {
			line[4], line[5] = fmtPercent(wall), fmtPercent(cpu)
		}
		row(&b, line)
	}
	return b.String()
}

// progressCost is how much more wall and CPU time skiff's pull takes with
// progress kind p than with none, as fractions of none's: the medians of
// the ratios of the pulls that ran in the same round, so that what drifts
// from one round to the next (the machine, the page cache) cancels.
func (r *results) progressCost(p string) (wall, cpu float64, ok bool) {
	none, with := r.cells["progress-none/skiff"], r.cells["progress-"+p+"/skiff"]
	if none == nil || with == nil || none.err != nil || with.err != nil {
		return 0, 0, false
	}
	var walls, cpus []float64
	for i := range min(len(none.samples), len(with.samples)) {
		n, w := none.samples[i], with.samples[i]
		if n.wall <= 0 || n.cpu() <= 0 {
			continue
		}
		walls = append(walls, w.wall.Seconds()/n.wall.Seconds()-1)
		cpus = append(cpus, w.cpu().Seconds()/n.cpu().Seconds()-1)
	}
	if len(walls) == 0 {
		return 0, 0, false
	}
	return median(walls), median(cpus), true
}

func fmtPercent(x float64) string { return fmt.Sprintf("%+.1f%%", 100*x) }
