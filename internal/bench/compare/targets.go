//go:build linux

package main

import (
	"fmt"
	"strings"
)

// target is one of the issues' goals, checked against the medians.
type target struct {
	goal     string
	measured string
	pass     bool
	known    bool // false when it could not be measured
}

const (
	maxRatio      = 0.8 // issue 9
	maxPullRSS    = 16 * mib
	maxAppendReqs = 6
	// issue 16
	maxTTYRatio     = 0.75
	maxWANRatio     = 0.5
	maxProgressCost = 0.03
	issue9, issue16 = "issue 9: ", "issue 16: "
	onTerminal      = " (stderr on a terminal)"
	wideArea        = "wide-area "
)

func (r *results) targets() []target {
	var ts []target
	// Issue 9 sets no target for pulling to an OCI layout; its medians
	// are in the table all the same.
	for _, k := range []string{"pull-tar", "pull-tiny", "copy", "push"} {
		ts = append(ts, r.ratioTarget(issue9, k, "", maxRatio))
	}
	ts = append(ts, r.rssTarget(issue9, "pull-tar"), r.appendRequests())
	ts = append(ts, r.ratioTarget(issue16, r.stderrKey(stderrTTY), onTerminal, maxTTYRatio))
	ts = append(ts, r.ratioTarget(issue16+wideArea, "wan-tiny", "", maxWANRatio))
	ts = append(ts, r.craneTarget(issue16+wideArea, "wan-append", maxWANRatio))
	for _, p := range progressKinds[1:] {
		ts = append(ts, r.progressTarget(p))
	}
	for _, k := range []string{"scale-huge", "scale-layers", "scale-images"} {
		ts = append(ts, r.rssTarget(issue16, k))
	}
	ts = append(ts, r.cappedTargets()...)
	if _, ok := r.op("wan-copy-index"); ok {
		ts = append(ts, r.wanTargets()...)
	}
	if len(r.serve) > 0 {
		ts = append(ts, r.serveTarget())
	}
	return ts
}

// opName names key's operation; an operation that did not run is named
// after its key.
func (r *results) opName(key string) string {
	if o, ok := r.op(key); ok {
		return strings.TrimSuffix(o.name, ", stderr on "+stderrTTY.describe())
	}
	return key
}

func (r *results) appendRequests() target {
	n, ok := r.requests["skiff"]
	t := target{goal: fmt.Sprintf("%sappend %s, same repository: ≤ %d HTTP requests", issue9, bytesIEC(int64(1*mib)), maxAppendReqs), known: ok}
	if ok {
		t.measured, t.pass = fmt.Sprintf("%d requests", n), n <= maxAppendReqs
		if c, ok := r.requests["crane"]; ok {
			t.measured += fmt.Sprintf(" (crane: %d)", c)
		}
	}
	return t
}

func (r *results) ratioTarget(prefix, key, suffix string, limit float64) target {
	t := target{goal: fmt.Sprintf("%s%s%s: wall ≤ %.2g× the fastest peer", prefix, r.opName(key), suffix, limit)}
	x, peer, ok := r.ratio(key, wallOf)
	if ok {
		t.known, t.pass = true, x <= limit
		t.measured = fmt.Sprintf("%.2f× %s", x, peer)
	}
	return t
}

func (r *results) craneTarget(prefix, key string, limit float64) target {
	t := target{goal: fmt.Sprintf("%s%s: wall ≤ %.2g× crane", prefix, r.opName(key), limit)}
	x, _, ok := r.ratioTo(key, "crane", wallOf)
	if ok {
		t.known, t.pass = true, x <= limit
		t.measured = fmt.Sprintf("%.2f× crane", x)
	}
	return t
}

func (r *results) rssTarget(prefix, key string) target {
	t := target{goal: fmt.Sprintf("%s%s: peak RSS ≤ %s", prefix, r.opName(key), fmtBytes(maxPullRSS))}
	if s := r.stat(key, "skiff"); s.ok {
		t.known, t.pass = true, s.rss <= maxPullRSS
		t.measured = fmtBytes(s.rss)
	}
	return t
}

// progressTarget checks that a pull showing progress kind p costs at most
// 3% more wall and CPU time than one showing none.
func (r *results) progressTarget(p string) target {
	t := target{goal: fmt.Sprintf("%sskiff pull --progress %s: wall and CPU within %.0f%% of --progress none%s",
		issue16, p, 100*maxProgressCost, onTerminal)}
	wall, cpu, ok := r.progressCost(p)
	if ok {
		t.known, t.pass = true, wall <= maxProgressCost && cpu <= maxProgressCost
		t.measured = fmt.Sprintf("wall %s, CPU %s", fmtPercent(wall), fmtPercent(cpu))
	}
	return t
}

// targetTable renders the targets as a Markdown table.
func targetTable(ts []target) string {
	var b strings.Builder
	row(&b, []string{"target", "measured", "result"})
	row(&b, []string{"---", "---", "---"})
	for _, t := range ts {
		verdict := "not measured"
		switch {
		case t.known && t.pass:
			verdict = "pass"
		case t.known:
			verdict = "**FAIL**"
		}
		row(&b, []string{t.goal, t.measured, verdict})
	}
	return b.String()
}
