//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// groupStall names the pull through a link that stalls mid-blob, measured
// once per tool.
const groupStall = "stall"

// stallLimit is how long a tool may take to get past the stall before it
// is killed: skiff cuts a body that sends nothing for 30 s by default.
const stallLimit = 90 * time.Second

// stallSample is one tool's pull through a link that stops sending one
// blob's response mid-way, with the connection open.
type stallSample struct {
	wall    time.Duration
	stalled bool // the link did stall during the run
	hung    bool // still waiting at stallLimit: killed
	err     error
}

// stalls pulls one platform of the index with every tool through a link
// of its own to registry A, with the wide-area links' round trip and
// bandwidth, that stops sending the first response to pass a mark inside
// the largest layer, and keeps the connection open until the tool hangs
// up: a server, or a NAT that dropped the flow. A tool that cuts the
// connection and continues completes; one that waits is killed at
// stallLimit.
func (h *harness) stalls(ctx context.Context, res *results) error {
	f := h.fix
	lk := newLink(h.opts.rtt, h.opts.bandwidth*1e6)
	p, err := startProxy(f.a, lk)
	if err != nil {
		return err
	}
	defer p.close()
	n := int64(len(f.sc.platforms))
	ref := strings.Replace(f.index.ref, f.a, p.host, 1)
	o := f.pullTar("stall", "pull through a stall", ref, f.index.least()/n*9/10, f.sc.platforms[0])
	res.stallAfter = min(mib, int64(f.sc.indexLayers[0].size)/2)
	res.stall = map[string]stallSample{}
	out := filepath.Join(h.work, "out")
	for _, t := range h.tools {
		if err := emptyDir(out); err != nil {
			return err
		}
		args := o.cmd[t.name](out, "stall-"+t.name)
		if t.name == "regctl" { // regctl reaches a plain-HTTP host only when told
			args = append([]string{"--host", "reg=" + p.host + ",tls=disabled"}, args...)
		}
		s := h.stallOnce(ctx, lk, res.stallAfter, invocation{path: t.path, args: args}, out, o.minOut)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		res.stall[t.name] = s
		fmt.Fprintf(os.Stderr, "stall   %-6s %s\n", t.name, s.describe())
	}
	return nil
}

// stallOnce runs one tool through the link armed to stall after bytes.
func (h *harness) stallOnce(ctx context.Context, lk *link, after int64, inv invocation, out string, minOut int64) stallSample {
	lk.stall.arm(after)
	defer lk.stall.arm(0)
	rctx, cancel := context.WithTimeout(ctx, stallLimit)
	defer cancel()
	start := time.Now()
	_, _, err := h.run.run(rctx, inv)
	s := stallSample{wall: time.Since(start), stalled: lk.stall.stalled(), err: err}
	switch {
	case ctx.Err() != nil:
	case rctx.Err() != nil:
		s.hung, s.err = true, nil
	case err == nil:
		s.err = checkOutput(out, minOut)
	}
	return s
}

func (s stallSample) describe() string {
	switch {
	case !s.stalled:
		return "the link never stalled: the run proves nothing"
	case s.hung:
		return fmt.Sprintf("still waiting after %s: killed", stallLimit)
	case s.err != nil:
		return "failed: " + tail(strings.Join(strings.Fields(s.err.Error()), " "), 120)
	}
	return "completed"
}

// stallTable renders the pulls through the stall.
func (r *results) stallTable() string {
	var b strings.Builder
	row(&b, []string{"tool", "outcome", "wall"})
	row(&b, []string{"---", "---", "---:"})
	for _, t := range r.tools {
		s, ok := r.stall[t]
		if !ok {
			continue
		}
		wall := fmtWall(s.wall)
		if s.hung {
			wall = "—"
		}
		row(&b, []string{t, s.describe(), wall})
	}
	return b.String()
}
