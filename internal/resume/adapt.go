package resume

import "time"

// adaptation is how a ranged fetch picks its number of connections. It
// starts with one and, once that one's first range came back as asked,
// with startConns. Then it measures the throughput in epochs during which
// the same connections all stream (each at least minEpoch, and four times
// the longest a range took to answer, so that a long round trip's slow
// start is over): after each, one more connection is tried, up to
// maxConns and as many as Conns lends. A new number that does not gain at
// least half of what one more connection would add if each carried as
// much (from n to n+1: 1/(2n)) goes back to n and stops the growth: the
// link, a shared cap or the CPU is the limit, not the connections.
type adaptation struct {
	probed    bool          // a range came back as asked
	stopped   bool          // the growth stopped
	pending   int           // connections that have not had an answer yet
	since     time.Time     // the epoch's start
	bytes     int64         // bytes written when it started
	answer    time.Duration // the longest a range took to answer
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
	a.answer = max(a.answer, d)
	if !a.probed {
		a.probed = true
		r.want = startConns
		r.poke()
	}
	if first {
		a.pending--
		r.restartEpoch(time.Now())
	}
}

// step runs on every tick of the fetch and returns how many connections
// to start; r.mu is held.
func (r *ranged) step(now time.Time) int {
	a := &r.adapt
	if !a.probed || r.done {
		return 0
	}
	if r.running < r.want {
		return r.want - r.running // those Conns could not lend yet
	}
	elapsed := now.Sub(a.since)
	if a.stopped || a.pending > 0 || elapsed < max(minEpoch, 4*a.answer) {
		return 0
	}
	rate := float64(r.written-a.bytes) / elapsed.Seconds()
	n := r.running
	if a.prevConns > 0 && n > a.prevConns && rate < a.prevRate*(1+0.5/float64(a.prevConns)) {
		a.stopped = true
		r.want = a.prevConns
		return 0
	}
	a.prevConns, a.prevRate = n, rate
	if gap, _ := r.gap(); n >= maxConns || gap >= r.s.Desc.Size {
		return 0
	}
	r.want = n + 1
	r.restartEpoch(now)
	return 1
}
