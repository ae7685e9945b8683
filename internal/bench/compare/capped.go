//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/skiffoci/skiff/registry"
)

// groupCapped names the pulls and the copy through the link that caps
// each connection (issue 29): a CDN in front of a registry, or one TCP
// connection across an ocean, carries a large layer no faster than its
// cap, however fast the link.
const groupCapped = "capped"

// seedCapped pushes the one-layer images the capped operations take: one
// of sc.one for cap-one and cap-copy, one of sc.oneHuge for cap-huge.
func (h *harness) seedCapped(ctx context.Context, c *registry.Client, f *fixture) error {
	var err error
	if h.want["cap-one"] || h.want["cap-copy"] {
		if f.one, err = seedImage(ctx, c, f.a+"/bench/one:1", sources([]layerSpec{h.sc.one}, 11), "linux/amd64"); err != nil {
			return err
		}
	}
	if h.want["cap-huge"] {
		fmt.Fprintf(os.Stderr, "seeding a one-layer image of %s\n", bytesIEC(int64(h.sc.oneHuge.size)))
		if f.oneHuge, err = seedImage(ctx, c, f.a+"/bench/onehuge:1", sources([]layerSpec{h.sc.oneHuge}, 12), "linux/amd64"); err != nil {
			return err
		}
	}
	return nil
}

// viaCap is ref on registry a reached through the capped link.
func (f *fixture) viaCap(ref string) string {
	if rest, ok := strings.CutPrefix(ref, f.a+"/"); ok {
		return f.ac + "/" + rest
	}
	return ref
}

// cappedOps pull the one-layer images through the capped link, and copy
// the small one from there to registry b on loopback, as a copy from a
// far registry into a near one goes; the huge one is pulled in the first
// run only: a peer on one connection takes minutes.
func (f *fixture) cappedOps() []op {
	if f.ac == "" {
		return nil
	}
	var ops []op
	one := "a one-layer " + bytesIEC(int64(f.sc.one.size)) + " image"
	if f.one != nil {
		o := f.pullTar("cap-one", "pull "+one+" → docker tarball", f.viaCap(f.one.ref), f.one.least(), "")
		o.group, o.image = groupCapped, f.one.size
		c := f.copy("cap-copy", "copy "+one+", capped registry → loopback registry", f.viaCap(f.one.ref), f.b+"/capcopy")
		c.group, c.image = groupCapped, f.one.size
		ops = append(ops, o, c)
	}
	if f.oneHuge != nil {
		o := f.pullTar("cap-huge", "pull a one-layer "+bytesIEC(int64(f.sc.oneHuge.size))+" image → docker tarball", f.viaCap(f.oneHuge.ref), f.oneHuge.least(), "")
		o.group, o.image, o.maxRuns = groupCapped, f.oneHuge.size, 1
		ops = append(ops, o)
	}
	return ops
}

// cappedTable renders the operations through the capped link: for every tool
// the median wall time, peak RSS, and the bytes it fetched over the
// image's.
func (r *results) cappedTable() string {
	var b strings.Builder
	head := append([]string{"operation"}, r.tools...)
	head = append(head, "skiff ÷ fastest peer", "skiff ÷ leanest peer")
	row(&b, head)
	row(&b, alignRow(len(head)))
	for _, o := range r.groupOps(groupCapped) {
		line := []string{o.name}
		for _, t := range r.tools {
			line = append(line, r.show(o, t, func(s stat) string {
				return fmt.Sprintf("%s · %s · %.2f×", fmtWall(s.wall), fmtBytes(s.rss), fetchedRatio(s, o))
			}))
		}
		row(&b, append(line, r.showRatio(o.key, wallOf), r.showRatio(o.key, rssOf)))
	}
	return b.String()
}

// fetchedRatio is the bytes a run fetched through the link over the
// image's.
func fetchedRatio(s stat, o op) float64 {
	if o.image <= 0 {
		return 0
	}
	return float64(s.fetched) / float64(o.image)
}

// Issue 29's targets.
const (
	issue29         = "issue 29: "
	maxCappedRatio  = 0.4
	maxFetchedRatio = 1.05
	// The brief of the copy's row: half the fastest peer, with ranges
	// chosen by skiff itself.
	maxCappedCopyRatio = 0.5
)

// cappedTargets are issue 29's targets for the capped link.
func (r *results) cappedTargets() []target {
	ts := []target{r.ratioTarget(issue29, "cap-one", " over the capped link", maxCappedRatio),
		r.ratioTarget(issue29, "cap-copy", "", maxCappedCopyRatio)}
	t := target{goal: fmt.Sprintf("%s%s over the capped link: bytes fetched ≤ %.2f× the image", issue29, r.opName("cap-one"), maxFetchedRatio)}
	if s := r.stat("cap-one", "skiff"); s.ok {
		o, _ := r.op("cap-one")
		x := fetchedRatio(s, o)
		t.known, t.pass, t.measured = true, x <= maxFetchedRatio, fmt.Sprintf("%.3f×", x)
	}
	ts = append(ts, t)
	rss := r.rssTarget(issue29, "cap-huge")
	rss.goal = strings.Replace(rss.goal, ": peak RSS", " over the capped link: peak RSS", 1)
	return append(ts, rss)
}

func (h *harness) methodCapped() string {
	return fmt.Sprintf(`**Capped link.** CDNs in front of registries cap each connection, and one TCP
connection across an ocean moves at most its window per round trip: registry A also sits
behind a third proxy (CA in the commands) whose link has the wide-area links' shape,
%s per request, but %g Mbit/s in all and at most %g MB/s on any one connection, each
way (a token bucket per connection besides the shared one). Its one-layer images are
random bytes in stored gzip blocks. The copy reads the %s one through that link and
uploads it to a new repository of registry B on loopback (which stores its blob from a
warm-up copy, as for the other copies): a copy from a far registry into a near one. The
proxy counts the response bytes it sends: "×" in each cell is what the run fetched over
the image's size (what a tool fetched twice shows there). The %s image runs in the
first run only: a tool on one connection takes minutes.
`, h.opts.rtt, h.opts.capBandwidth, h.opts.capConn, bytesIEC(int64(h.sc.one.size)), bytesIEC(int64(h.sc.oneHuge.size)))
}
