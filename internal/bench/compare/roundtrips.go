//go:build linux

package main

import (
	"fmt"
	"slices"
	"strings"
)

// criticalPath is the number of sequential round trips in a tool's
// requests: the longest chain of requests each sent after the one before
// had ended, a request counting 1 on a connection it reused and 2 on one
// it opened (the handshake). With depth(r) = cost(r) + max depth(q) over
// every q that ended before r was sent, it returns max depth(r), and the
// chain of requests that reaches it, first to last.
func criticalPath(reqs []reqRecord) (int, []reqRecord) {
	s := slices.Clone(reqs)
	slices.SortStableFunc(s, func(a, b reqRecord) int { return a.sent.Compare(b.sent) })
	depth := make([]int, len(s))
	prev := make([]int, len(s)) // the request before, on the chain; -1 for none
	best := -1
	for i, r := range s {
		prev[i] = -1
		for j := range i {
			if s[j].end.Before(r.sent) && (prev[i] < 0 || depth[j] > depth[prev[i]]) {
				prev[i] = j
			}
		}
		depth[i] = cost(r)
		if prev[i] >= 0 {
			depth[i] += depth[prev[i]]
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

// cost is a request's round trips: one, and one more for opening its
// connection.
func cost(r reqRecord) int {
	if r.first {
		return 2
	}
	return 1
}

// describeChain writes a chain of requests on one line, "new" marking a
// request that opened its connection, digests shortened, runs of the same
// request shape counted.
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
	if r.first {
		s = "new " + s
	}
	return s
}
