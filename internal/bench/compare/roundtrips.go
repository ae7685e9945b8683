//go:build linux

package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// criticalPath is the number of sequential round trips in a tool's
// requests: the longest chain of requests each sent after the one before
// had ended, a request counting 1 on a connection it reused and 2 on one
// it opened (the handshake), unless the connection was opened ahead of
// the request (a client that preconnects, or that dialled for a request
// which then took another connection): its handshake then follows the
// requests that had ended before the connection was accepted, not those
// before the request. With P(t) the greatest depth(q) over every q that
// ended before t, depth(r) = max(1 + P(r.sent), 2 + P(r.opened)) for
// the first request on a connection and 1 + P(r.sent) for any other; it
// returns max depth(r), and the chain of requests that reaches it, first
// to last, each marked with whether its handshake counted.
func criticalPath(reqs []reqRecord) (int, []reqRecord) {
	s := slices.Clone(reqs)
	slices.SortStableFunc(s, func(a, b reqRecord) int { return a.sent.Compare(b.sent) })
	depth := make([]int, len(s))
	prev := make([]int, len(s)) // the request before, on the chain; -1 for none
	best := -1
	for i, r := range s {
		prev[i], depth[i] = deepest(s[:i], depth, r.sent), 1
		if prev[i] >= 0 {
			depth[i] += depth[prev[i]]
		}
		s[i].handshake = false
		if r.first {
			j, d := deepest(s[:i], depth, r.openedAt()), 2
			if j >= 0 {
				d += depth[j]
			}
			if d > depth[i] {
				prev[i], depth[i], s[i].handshake = j, d, true
			}
		}
		if best < 0 || depth[i] > depth[best] {
			best = i
		}
	}
	if best < 0 {
		return 0, nil
	}
	var chain []reqRecord
	for i := best; i >= 0; i = prev[i] {
		chain = append(chain, s[i])
	}
	slices.Reverse(chain)
	return depth[best], chain
}

// deepest is the index of the deepest of reqs (whose depths depth holds)
// that ended before t, or -1 for none.
func deepest(reqs []reqRecord, depth []int, t time.Time) int {
	j := -1
	for k, q := range reqs {
		if q.end.Before(t) && (j < 0 || depth[k] > depth[j]) {
			j = k
		}
	}
	return j
}

// describeChain writes a chain of requests on one line, "new" marking a
// request whose connection's handshake counted on the chain and "pre" one
// that was the first on a connection opened ahead of it, digests
// shortened, runs of the same request shape counted.
func describeChain(chain []reqRecord) string {
	var parts []string
	for i := 0; i < len(chain); {
		j := i + 1
		for j < len(chain) && shape(chain[j]) == shape(chain[i]) {
			j++
		}
		part := shape(chain[i])
		if j-i > 1 {
			part = fmt.Sprintf("%d × %s", j-i, part)
		}
		parts = append(parts, part)
		i = j
	}
	return strings.Join(parts, " → ")
}

// shape is a request as "new GET manifests/1 200": the path after the
// repository, with digests and upload sessions left out.
func shape(r reqRecord) string {
	p := r.path
	for _, sep := range []string{"/blobs/", "/manifests/", "/tags/"} {
		if i := strings.LastIndex(p, sep); i >= 0 {
			p = p[i+1:]
			break
		}
	}
	if i := strings.Index(p, "sha256:"); i >= 0 {
		p = p[:i+7] + "…"
	}
	if i := strings.Index(p, "uploads/"); i >= 0 && len(p) > i+8 {
		p = p[:i+8] + "…"
	}
	s := fmt.Sprintf("%s %s %d", r.method, p, r.status)
	switch {
	case r.handshake:
		s = "new " + s
	case r.first:
		s = "pre " + s
	}
	return s
}
