//go:build linux

package main

import (
	"fmt"
	"strings"
)

// wanOps are the operations through the simulated wide-area links: a pull
// of many small layers, a pull of one platform of an index, an append
// (which moves no base layer) and a copy between the two registries. The
// big image never crosses a link but for the append: at 100 Mbit/s it
// would take half a minute a run.
func (f *fixture) wanOps() []op {
	if f.aw == "" || f.bw == "" {
		return nil
	}
	n := len(f.sc.platforms)
	platform := f.sc.platforms[min(1, n-1)]
	perPlatform := f.index.least() / int64(n)
	big := *f.big
	big.ref, big.name = f.viaLink(big.ref), f.viaLink(big.name)
	ops := []op{
		f.pullTar("wan-tiny", fmt.Sprintf("pull %d tiny layers → docker tarball", f.sc.tinyLayers), f.viaLink(f.tiny.ref), f.tiny.least(), ""),
		f.pullTar("wan-platform", fmt.Sprintf("pull %s of the %d-platform index → docker tarball", platform, n),
			f.viaLink(f.index.ref), perPlatform*9/10, platform),
		f.appendLayer("wan-append", fmt.Sprintf("append %s to big, same repository", bytesIEC(int64(f.sc.appendSize))), &big),
		f.copy("wan-copy-index", fmt.Sprintf("copy %d-platform index, registry → registry", n), f.viaLink(f.index.ref), f.bw+"/wancopy"),
	}
	ops = append(ops, f.indexOps()...)
	for i := range ops {
		ops[i].group = groupWAN
	}
	return ops
}

// Issue 29's targets for the index copy over the wide-area links.
const (
	maxIndexCopyRTs   = 20
	maxIndexCopyRatio = 0.8
)

// wanTargets checks the index copy over the wide-area links: its
// sequential round trips, and its wall against the fastest peer, shown
// beside what the links allow any client (the raw copy, as a ratio to
// the same peer).
func (r *results) wanTargets() []target {
	rts := target{goal: fmt.Sprintf("%s%s%s: ≤ %d sequential round trips", issue29, wideArea, r.opName("wan-copy-index"), maxIndexCopyRTs)}
	if s := r.stat("wan-copy-index", "skiff"); s.ok {
		rts.known, rts.pass, rts.measured = true, s.rtts <= maxIndexCopyRTs, fmt.Sprintf("%d", s.rtts)
	}
	wall := r.ratioTarget(issue29+wideArea, "wan-copy-index", "", maxIndexCopyRatio)
	if _, peer, ok := r.ratio("wan-copy-index", wallOf); ok && len(r.wanRawCopy) > 0 {
		if p := r.stat("wan-copy-index", peer); p.ok {
			wall.measured += fmt.Sprintf(" (the links' copy limit: %.2f× %s)", median(r.wanRawCopy).Seconds()/p.wall.Seconds(), peer)
		}
	}
	return []target{rts, wall}
}

// wanTable renders the operations through the links: for every tool the
// median wall time, sequential round trips and requests.
func (r *results) wanTable() string {
	var b strings.Builder
	head := append([]string{"operation"}, r.tools...)
	head = append(head, "skiff ÷ fastest peer")
	row(&b, head)
	row(&b, alignRow(len(head)))
	for _, o := range r.groupOps(groupWAN) {
		line := []string{o.name}
		for _, t := range r.tools {
			line = append(line, r.show(o, t, func(s stat) string {
				return fmt.Sprintf("%s · %d RT · %d req", fmtWall(s.wall), s.rtts, s.reqs)
			}))
		}
		row(&b, append(line, r.showRatio(o.key, wallOf)))
	}
	if len(r.wanRawCopy) > 0 {
		line := []string{"raw copy of the index's blobs through the links, each GET streamed into a PUT, all at once, no hashing (the copy limit)", fmtWall(median(r.wanRawCopy))}
		for range len(r.tools) {
			line = append(line, "")
		}
		row(&b, line)
	}
	return b.String()
}

// chains lists, for every operation through the links and every tool, the
// chain of requests that made its sequential round trips, in its last run.
func (r *results) chains() string {
	var b strings.Builder
	for _, o := range r.groupOps(groupWAN) {
		for _, t := range r.tools {
			c := r.cells[o.key+"/"+t]
			if c == nil || len(c.chain) == 0 {
				continue
			}
			n, _ := criticalPath(c.chain)
			fmt.Fprintf(&b, "- %s, %s (%d round trips): %s\n", o.name, t, n, describeChain(c.chain))
		}
	}
	return b.String()
}

func alignRow(n int) []string {
	align := []string{"---"}
	for range n - 1 {
		align = append(align, "---:")
	}
	return align
}
