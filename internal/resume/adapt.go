package resume

import "time"

// adaptation is how a ranged fetch picks its number of connections. Into
// a file, it starts with one, measures it (measuredOne), and stays on it
// when it is fast, else goes on with twice startConns. Then it measures the throughput in epochs during which
// the same connections all stream: each at least minEpoch, and eight
// round trips (the quickest a range was answered), so that a new TCP
// connection's slow start is over. After each epoch it doubles the
// connections, as TCP doubles its window, up to maxConns and as many as
// Conns lends. A step from n to m connections that does not gain at
// least a quarter of what m-n more would add if each carried as much as
// the n did, in two epochs running (one may be noise), goes back to n and
// stops the growth: the link, a shared cap or the CPU is the limit, not
// the connections. (A quarter: a step that was wrongly kept costs a few
// idle connections, one wrongly undone leaves a long link half used.)
// A Stream measures its ranges the same way against its head (see
// streamStep).
type adaptation struct {
	probed    bool          // a range came back as asked
	measured  bool          // a file's fetch measured its first connection (measuredOne)
	stopped   bool          // the growth stopped
	doubt     bool          // the last epoch did not gain enough
	pending   int           // connections that have not had an answer yet
	since     time.Time     // the epoch's start
	bytes     int64         // bytes written when it started
	rtt       time.Duration // the quickest a range was answered
	prevConns int           // the connections of the epoch before, 0 at first
	prevRate  float64       // and their bytes per second
}

// restartEpoch starts an epoch now; r.mu is held.
func (r *ranged) restartEpoch(now time.Time) {
	r.adapt.since, r.adapt.bytes = now, r.written
}

// answered notes that a range came back as asked after d; first says it
// is its connection's first, which then streams: the epoch starts again.
func (r *ranged) answered(d time.Duration, first bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := &r.adapt
	if a.rtt == 0 || d < a.rtt {
		a.rtt = d
	}
	if !a.probed {
		a.probed = true
		if r.inOrder {
			r.want = max(r.want, startConns) // a Stream asked for more
			// A Stream's reader may wait for it, to close its head.
			r.cond.Broadcast()
		} // into a file, measuredOne adds connections
		r.poke()
	}
	if first {
		a.pending--
		r.restartEpoch(time.Now())
	}
}

// Into a file, ranges pay where one connection is slow (a CDN's cap, a
// long link, where TCP's window grows one round trip at a time) and cost
// a file that several connections fill a second read of what they wrote
// ahead of the hashed prefix: on loopback a pull of two 1 GiB layers took
// 1.2 to 1.6 times as long in ranges as in one stream. So a fetch into a
// file measures its first connection over the first bytes of its first
// range (measuredOne) and stays on it when it is fast.
var (
	// oneConnFast is the rate of one connection's body from which it is
	// kept alone: 50 MB/s, twice the 25 MB/s a CDN or an ocean allows one
	// connection (issue 29). Loopback and a LAN carry more even on a
	// loaded machine; a long link's slow start, less.
	oneConnFast = 50e6
	// measureTime is how long the first range's body measures it, or
	// all of that range when it comes sooner: long enough that a
	// moment's contention for a small machine's cores (several blobs
	// start at once, each hashed) does not pass for a slow link. A
	// capped connection is known slow after it: 2.5 MB at 25 MB/s.
	measureTime = 100 * time.Millisecond
)

// measuredOne notes the rate of a fetch's first connection over the
// first measureTime of its first range's body: slow, the fetch
// starts twice startConns connections and grows from there against that
// rate;
// fast, the range it measured with ends the ranges, and the rest comes in
// one stream, as a fetch without ranges reads it. A Stream measures its
// own way.
func (r *ranged) measuredOne(rate float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := &r.adapt
	if a.measured || r.inOrder {
		return
	}
	a.measured = true
	if rate >= oneConnFast {
		a.stopped = true
		r.oneStream() // the rest as --range-min 0 would fetch it: one stream, in larger reads
		return
	}
	a.prevConns, a.prevRate = 1, rate
	r.want = max(r.want, 2*startConns) // slow for sure: skip the step to two the measuring took the time of
	r.poke()
}

// step runs on every tick of the fetch and returns how many connections
// to start; r.mu is held.
func (r *ranged) step(now time.Time) int {
	a := &r.adapt
	if gap, _ := r.gap(); !a.probed || !r.inOrder && !a.measured || r.done || gap >= r.s.Desc.Size {
		return 0 // every byte is written or being written: no range for another
	}
	if r.inOrder {
		return r.streamStep(now)
	}
	if r.running < r.want {
		return r.want - r.running // those Conns could not lend yet
	}
	elapsed := now.Sub(a.since)
	if a.stopped || a.pending > 0 || elapsed < max(minEpoch, 8*a.rtt) {
		return 0
	}
	rate := float64(r.written-a.bytes) / elapsed.Seconds()
	n := r.running
	if p := a.prevConns; p > 0 && n > p && rate < a.prevRate*(1+0.25*float64(n-p)/float64(p)) {
		if a.doubt {
			a.stopped = true
			r.want = p
			if p == 1 {
				r.oneStream() // one connection goes faster in one stream than range by range
			}
		}
		a.doubt = true
		r.restartEpoch(now)
		return 0
	}
	a.doubt = false
	a.prevConns, a.prevRate = n, rate
	if n >= maxConns {
		return 0
	}
	r.want = min(2*n, maxConns)
	r.restartEpoch(now)
	return r.want - n
}

// streamStep is step for a Stream, whose ranges asked for all their
// connections at once, and whose head measured one connection: prevRate.
// After every epoch it compares the n connections running with the head:
// when they carried less than the head and a quarter of what each of the
// n-1 more would add, in two epochs running, the source, the link or the
// CPU is the limit, not one connection (or Conns lent too few), and the
// rest comes in one stream, which pays no request per range and no copy.
// It returns how many connections Conns has not lent yet.
func (r *ranged) streamStep(now time.Time) int {
	a := &r.adapt
	add := r.want - r.running
	elapsed := now.Sub(a.since)
	if a.pending > 0 || elapsed < max(minEpoch, 8*a.rtt) {
		return add
	}
	rate := float64(r.written-a.bytes) / elapsed.Seconds()
	r.restartEpoch(now)
	if rate >= a.prevRate*(1+0.25*float64(r.running-1)) {
		a.doubt = false
		return add
	}
	if a.doubt {
		r.oneStream()
		return 0
	}
	a.doubt = true
	return add
}
