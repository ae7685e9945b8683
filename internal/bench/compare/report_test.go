//go:build linux

package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []int64
		want int64
	}{
		{nil, 0},
		{[]int64{7}, 7},
		{[]int64{9, 1, 5}, 5},
		{[]int64{4, 1, 3, 2}, 2}, // (2+3)/2 in integers
		{[]int64{10, 30, 20, 40}, 25},
	} {
		in := append([]int64(nil), tc.in...)
		if got := median(in); got != tc.want {
			t.Errorf("median(%v) = %d, want %d", tc.in, got, tc.want)
		}
		if len(in) > 0 && in[0] != tc.in[0] {
			t.Errorf("median(%v) reordered its argument", tc.in)
		}
	}
}

func TestDescribeGroupsEqualLayers(t *testing.T) {
	layers := []layerSpec{random(kib), random(kib), random(kib), repetitive(2 * mib)}
	got := describe(layers, 1_500_000)
	want := "4 layers (3 × 1 KiB random, 2 MiB repetitive), 1.5 MB compressed"
	if got != want {
		t.Errorf("describe = %q, want %q", got, want)
	}
}

// fakeResults has skiff ahead on pull, behind on push, and crane failing
// to copy.
func fakeResults() *results {
	none := func(string, string) []string { return nil }
	all := map[string]argv{"skiff": none, "crane": none, "regctl": none}
	res := &results{
		ops: []op{
			{key: "pull-tar", name: "pull", cmd: all, group: groupMain},
			{key: "push", name: "push", cmd: all, group: groupMain},
			{key: "copy", name: "copy", cmd: all, group: groupMain},
			{key: "append", name: "append", cmd: map[string]argv{"skiff": none, "crane": none}, group: groupMain},
		},
		tools:    []string{"skiff", "crane", "regctl"},
		mode:     stderrTTY,
		cells:    map[string]*cell{},
		raw:      []time.Duration{100 * time.Millisecond},
		requests: map[string]int{"skiff": 5, "crane": 21},
	}
	add := func(op, tool string, wall time.Duration, rss int64) {
		c := res.cell(op, tool)
		c.samples = append(c.samples, sample{wall: wall, rss: rss})
	}
	add("pull-tar", "skiff", 400*time.Millisecond, 9*mib)
	add("pull-tar", "crane", 600*time.Millisecond, 14*mib)
	add("pull-tar", "regctl", 500*time.Millisecond, 20*mib)
	add("push", "skiff", 1000*time.Millisecond, 12*mib)
	add("push", "crane", 1000*time.Millisecond, 30*mib)
	add("push", "regctl", 2000*time.Millisecond, 40*mib)
	add("copy", "skiff", 1000*time.Millisecond, 12*mib)
	res.cell("copy", "crane").err = errors.New("boom")
	add("copy", "regctl", 2000*time.Millisecond, 40*mib)
	return res
}

func TestTable(t *testing.T) {
	table := fakeResults().table()
	for _, want := range []string{
		"| pull | 0.400 s | 0.600 s | 0.500 s | 0.80 (regctl) | 9.0 MiB | 14.0 MiB | 20.0 MiB | 0.64 (crane) |",
		"| copy | 1.000 s | failed | 2.000 s | 0.50 (regctl) |",
		"| append | – | – | n/a | – | – | – | n/a | – |",
		"| 0.100 s |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

func TestTargets(t *testing.T) {
	ts := fakeResults().targets()
	checks := []struct {
		prefix string
		known  bool
		pass   bool
	}{
		{"issue 9: pull: wall", true, true},
		{"issue 9: pull-tiny: wall", false, false},
		{"issue 9: copy: wall", true, true},
		{"issue 9: push: wall", true, false},
		{"issue 9: pull: peak RSS", true, true},
		{"issue 9: append", true, true},
		{"issue 16: pull (stderr on a terminal): wall ≤ 0.75×", true, false},
		{"issue 16: wide-area wan-tiny", false, false},
	}
	for _, c := range checks {
		found := false
		for _, tg := range ts {
			if strings.HasPrefix(tg.goal, c.prefix) {
				found = true
				if tg.known != c.known || tg.pass != c.pass {
					t.Errorf("%s: known %v pass %v, want %v %v (%s)", tg.goal, tg.known, tg.pass, c.known, c.pass, tg.measured)
				}
			}
		}
		if !found {
			t.Errorf("no target starts with %q", c.prefix)
		}
	}
	if !strings.Contains(targetTable(ts), "| 5 requests (crane: 21) | pass |") {
		t.Errorf("target table:\n%s", targetTable(ts))
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"-runs":            "-runs",
		"/tmp/peers/crane": "/tmp/peers/crane",
		"":                 "''",
		"a busy machine":   "'a busy machine'",
		"author's run":     `'author'\''s run'`,
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
