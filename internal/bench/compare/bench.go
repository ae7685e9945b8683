//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/skiffoci/skiff/registry"
)

// seed pushes the test images to registry a, writes the big image as a
// tarball for push, and copies the images once to registry b so that every
// timed run meets b in the same state (blobs stored, the new repository
// empty).
func (h *harness) seed(ctx context.Context, a, b string) error {
	start := time.Now()
	fmt.Fprintf(os.Stderr, "seeding %s (scale %s)\n", a, h.opts.scale)
	c := &registry.Client{}
	f := &fixture{a: a, b: b, aw: h.proxies[0].host, bw: h.proxies[1].host, sc: h.sc,
		tarball: filepath.Join(h.work, "big.tar"), scaleRuns: h.opts.scaleRuns}
	if h.capped != nil {
		f.ac = h.capped.host
	}
	var err error
	if f.big, err = seedImage(ctx, c, a+"/bench/big:1", sources(h.sc.big, 1), "linux/amd64"); err != nil {
		return err
	}
	if f.tiny, err = seedTiny(ctx, c, a+"/bench/tiny:1", h.sc.tinyLayers, h.sc.tinySize); err != nil {
		return err
	}
	if f.index, err = seedIndex(ctx, c, a+"/bench/multi:1", h.sc); err != nil {
		return err
	}
	if h.wants(groupScale) {
		fmt.Fprintf(os.Stderr, "seeding the scale images\n")
		if err := seedScale(ctx, c, f); err != nil {
			return err
		}
	}
	if err := h.seedCapped(ctx, c, f); err != nil {
		return err
	}
	h.fix = f
	skiff := h.toolPath("skiff")
	warm := [][]string{
		{"pull", f.big.ref, f.tarball},
		{"copy", f.big.ref, b + "/warm/big:1"},
		{"copy", f.index.ref, b + "/warm/multi:1"},
	}
	if h.want["cap-copy"] {
		warm = append(warm, []string{"copy", f.one.ref, b + "/warm/one:1"})
	}
	// The huge image is read once before it is timed: the first tool to
	// read the 4 GB the seeding just wrote paid for it (-ops scale-huge,
	// skiff first in run 1: 11.6 s with 16.2 s of CPU, then 6.3 s and
	// 4.2 s; after this read, 5.3 s in run 1).
	warmHuge := filepath.Join(filepath.Dir(f.tarball), "warm-huge.tar")
	if h.wants(groupScale) {
		warm = append(warm, []string{"pull", f.huge.ref, warmHuge})
	}
	for _, args := range warm {
		if _, err := h.run.measure(ctx, skiff, args...); err != nil {
			return fmt.Errorf("preparing the fixtures: %w", err)
		}
	}
	if err := os.Remove(warmHuge); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	fmt.Fprintf(os.Stderr, "seeded in %s: big %s\n", time.Since(start).Round(time.Millisecond), f.big.note)
	return nil
}

// takeRequests returns the requests the links carried since the last call.
func (h *harness) takeRequests() []reqRecord {
	var reqs []reqRecord
	for _, p := range h.proxies {
		reqs = append(reqs, p.rec.take()...)
	}
	return reqs
}

// bench times every operation for every tool, runs times, rotating the
// tools' order from one run to the next, and the raw-transfer limits once
// per run.
func (h *harness) bench(ctx context.Context) (*results, error) {
	ops := h.selectedOps()
	res := &results{ops: ops, mode: h.mode, cells: map[string]*cell{}, requests: map[string]int{}}
	for _, t := range h.tools {
		res.tools = append(res.tools, t.name)
	}
	out := filepath.Join(h.work, "out")
	var seq uint64
	for r := range h.opts.runs {
		for _, o := range rotateProgress(ops, r) {
			if o.maxRuns > 0 && r >= o.maxRuns {
				continue
			}
			for i := range h.tools {
				t := h.tools[(i+r)%len(h.tools)]
				seq++
				if err := h.once(ctx, res, o, t, r, out, seq); err != nil {
					return nil, err
				}
			}
		}
		// More rounds of the progress pulls: their differences are a few
		// percent, less than a pull's spread from one run to the next.
		for k := 1; k < progressRounds; k++ {
			for _, o := range rotateProgress(ops, r+k) {
				if !strings.HasPrefix(o.key, "progress-") {
					continue
				}
				seq++
				if err := h.once(ctx, res, o, h.tools[0], r, out, seq); err != nil {
					return nil, err
				}
			}
		}
		if h.wants(groupMain) {
			if err := h.limits(ctx, res, r); err != nil {
				return nil, err
			}
		}
		if h.want["wan-copy-index"] && h.fix.aw != "" {
			if err := h.wanLimit(ctx, res, r); err != nil {
				return nil, err
			}
		}
	}
	if h.want["resume"] {
		if err := h.resumes(ctx, res); err != nil {
			return nil, err
		}
	}
	if h.want["serve-sync"] {
		if err := h.serveSyncs(ctx, res); err != nil {
			return nil, err
		}
	}
	if h.want["stall"] {
		if err := h.stalls(ctx, res); err != nil {
			return nil, err
		}
	}
	if !h.want["append"] {
		return res, nil
	}
	return res, h.countRequests(ctx, res, out)
}

// progressRounds is how many times each progress pull runs in a run.
const progressRounds = 3

// rotateProgress rotates the order of skiff's progress operations from one
// run to the next, as the tools' order rotates, so that none of them always
// follows the same work.
func rotateProgress(ops []op, r int) []op {
	var at []int
	for i, o := range ops {
		if strings.HasPrefix(o.key, "progress-") {
			at = append(at, i)
		}
	}
	out := slices.Clone(ops)
	for i, j := range at {
		out[j] = ops[at[(i+r)%len(at)]]
	}
	return out
}

// limits measures the raw transfer and copy limits once.
func (h *harness) limits(ctx context.Context, res *results, r int) error {
	raw, err := rawFetch(ctx, h.fix.a, h.fix.big.repo, h.fix.big.blobs)
	if err != nil {
		return fmt.Errorf("raw transfer: %w", err)
	}
	res.raw = append(res.raw, raw)
	fmt.Fprintf(os.Stderr, "run %d/%d  raw transfer  %s\n", r+1, h.opts.runs, fmtWall(raw))
	rawc, err := rawCopy(ctx, h.fix.a, h.fix.big.repo, h.fix.b, fmt.Sprintf("rawcopy/%d", r), h.fix.big.blobs)
	if err != nil {
		return fmt.Errorf("raw copy: %w", err)
	}
	res.rawCopy = append(res.rawCopy, rawc)
	fmt.Fprintf(os.Stderr, "run %d/%d  raw copy      %s\n", r+1, h.opts.runs, fmtWall(rawc))
	return nil
}

// wanLimit measures the raw copy of the index's blobs through the
// wide-area links once: what the links' bandwidth and round trips allow
// any client copying the index.
func (h *harness) wanLimit(ctx context.Context, res *results, r int) error {
	d, err := rawCopy(ctx, h.fix.aw, h.fix.index.repo, h.fix.bw, fmt.Sprintf("wanrawcopy/%d", r), h.fix.index.blobs)
	if err != nil {
		return fmt.Errorf("raw copy through the links: %w", err)
	}
	res.wanRawCopy = append(res.wanRawCopy, d)
	fmt.Fprintf(os.Stderr, "run %d/%d  raw copy through the links  %s\n", r+1, h.opts.runs, fmtWall(d))
	return nil
}

// once times one tool on one operation and records the sample, or the
// failure; only the context ending stops the benchmark.
func (h *harness) once(ctx context.Context, res *results, o op, t tool, r int, out string, seq uint64) error {
	args := o.cmd[t.name]
	if args == nil {
		return nil
	}
	if err := emptyDir(out); err != nil {
		return err
	}
	if o.prepare != nil {
		if err := o.prepare(out, seq); err != nil {
			return err
		}
	}
	// What the seeding or the tool before wrote may still be on its way to
	// the disk, and what was removed still to be discarded (the root file
	// system here mounts with discard); whichever tool ran next would pay
	// for it, in run 1 always the same one, and a layout's many small
	// files most. It happens here, untimed.
	id := fmt.Sprintf("%s-%d", t.name, r)
	if o.setup != nil {
		if err := o.setup(ctx, id); err != nil {
			return err
		}
	}
	syscall.Sync()
	inv := invocation{path: t.path, args: args(out, id), stderr: o.stderr}
	if o.loop[t.name] {
		inv.path, inv.args = "/bin/sh", []string{"-c", inv.args[0], t.path}
	}
	h.takeRequests()
	if h.capped != nil {
		h.capped.rec.sent.Store(0)
	}
	_, s, err := h.run.run(ctx, inv)
	reqs := h.takeRequests()
	if o.group == groupCapped {
		s.fetched = h.capped.rec.sent.Load()
	}
	if err == nil && o.minOut > 0 {
		err = checkOutput(out, o.minOut)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	c := res.cell(o.key, t.name)
	if err != nil {
		fmt.Fprintf(os.Stderr, "run %d/%d  %-14s %-6s FAILED: %v\n", r+1, h.opts.runs, o.key, t.name, err)
		if c.err == nil {
			c.err = err
		}
		return nil
	}
	if o.group == groupWAN {
		s.rtts, c.chain = criticalPath(reqs)
		s.reqs = len(reqs)
	}
	c.samples = append(c.samples, s)
	fmt.Fprintf(os.Stderr, "run %d/%d  %-14s %-6s %s  CPU %s  %s", r+1, h.opts.runs, o.key, t.name, fmtWall(s.wall), fmtWall(s.cpu()), fmtBytes(s.rss))
	if o.group == groupWAN {
		fmt.Fprintf(os.Stderr, "  %d RT, %d requests", s.rtts, s.reqs)
	}
	if o.group == groupCapped {
		fmt.Fprintf(os.Stderr, "  fetched %s", fmtBytes(s.fetched))
	}
	fmt.Fprintln(os.Stderr)
	return nil
}

// checkOutput fails when out holds fewer than min bytes: the image cannot
// have been written.
func checkOutput(out string, min int64) error {
	n, err := duSize(out)
	if err != nil {
		return err
	}
	if n < min {
		return fmt.Errorf("the output holds %d bytes, fewer than the image's %d", n, min)
	}
	return nil
}

// countRequests appends a fresh layer once more with skiff -v and crane -v
// and counts the requests their traces show ("--> METHOD URL" lines).
func (h *harness) countRequests(ctx context.Context, res *results, out string) error {
	ops := h.fix.ops()
	o := ops[slices.IndexFunc(ops, func(o op) bool { return o.key == "append" })]
	for _, t := range h.tools {
		args := o.cmd[t.name]
		if args == nil {
			continue
		}
		if err := emptyDir(out); err != nil {
			return err
		}
		if err := o.prepare(out, 1<<40); err != nil {
			return err
		}
		a := args(out, "count-"+t.name)
		stderr, _, err := h.run.output(ctx, t.path, append([]string{a[0], "-v"}, a[1:]...)...)
		if err != nil {
			fmt.Fprintf(os.Stderr, "counting %s's requests: %v\n", t.name, err)
			continue
		}
		res.requests[t.name] = countTrace(stderr)
	}
	return nil
}

// countTrace counts the request lines of a -v trace: skiff and crane both
// mark a request with "--> ".
func countTrace(stderr string) int {
	n := 0
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, "--> ") {
			n++
		}
	}
	return n
}
