package resume

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/skiffoci/skiff/manifest"
)

// rangeSource serves bounded ranges of a blob, as a registry does, and
// records how it was asked.
type rangeSource struct {
	*source
	mu             sync.Mutex
	inflight, most int        // ranges open now, and at most
	asked          [][2]int64 // [start, end) of every range asked for
	unsupported    bool       // answer every range as a server that ignores Range
	whole          bool       // and from byte 0 send the whole blob
	flip           int64      // a byte whose value every range covering it flips (-1: none)
	// meet, if set, holds the first range after its first read until a
	// second range is open: ranges must be fetched at once.
	meet chan struct{}
	met  bool
	// stopAt, if positive, cancels stop once that many bytes were served.
	stopAt int64
	stop   context.CancelFunc
}

func newRangeSource(size int, seed uint64) *rangeSource {
	return &rangeSource{source: newSource(size, seed), flip: -1}
}

func (rs *rangeSource) FetchRange(ctx context.Context, desc manifest.Descriptor, start, end int64) (io.ReadCloser, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if desc.Digest != rs.desc.Digest || start < 0 || start >= end || end > int64(len(rs.data)) {
		return nil, fmt.Errorf("bad range [%d, %d)", start, end)
	}
	rs.asked = append(rs.asked, [2]int64{start, end})
	if rs.unsupported && !(rs.whole && start == 0) {
		return nil, fmt.Errorf("test: %w", errors.ErrUnsupported)
	}
	if rs.unsupported {
		end = int64(len(rs.data))
	}
	rs.inflight++
	rs.most = max(rs.most, rs.inflight)
	if rs.meet != nil && rs.inflight == 2 && !rs.met {
		close(rs.meet)
		rs.met = true
	}
	return &rangeBody{rs: rs, ctx: ctx, pos: start, end: end, first: len(rs.asked) == 1, whole: rs.unsupported}, nil
}

func (b *rangeBody) Whole() bool { return b.whole }

type rangeBody struct {
	rs       *rangeSource
	ctx      context.Context
	pos, end int64
	first    bool
	reads    int
	whole    bool
}

func (b *rangeBody) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	if b.pos >= b.end {
		return 0, io.EOF
	}
	if b.first && b.reads == 1 && b.rs.meet != nil {
		select {
		case <-b.rs.meet:
		case <-time.After(10 * time.Second):
			return 0, errors.New("test: no second range was asked for while the first was open")
		}
	}
	b.reads++
	n := copy(p, b.rs.data[b.pos:min(b.end, b.pos+32<<10)])
	if f := b.rs.flip; f >= b.pos && f < b.pos+int64(n) {
		p[f-b.pos] ^= 0xff
	}
	b.pos += int64(n)
	b.rs.smu.Lock()
	b.rs.served += int64(n)
	stop := b.rs.stopAt > 0 && b.rs.served >= b.rs.stopAt
	b.rs.smu.Unlock()
	if stop {
		b.rs.stop()
	}
	return n, nil
}

func (b *rangeBody) Close() error {
	b.rs.mu.Lock()
	b.rs.inflight--
	b.rs.mu.Unlock()
	return nil
}

func fillRanged(t *testing.T, s *Slot, rs *rangeSource) (int64, error) {
	t.Helper()
	s.Ranges, s.RangeMin = rs, 1
	n, proof, err := s.Fill(t.Context(), rs.source.open)
	if err == nil {
		err = proof.Check(rs.desc)
	}
	return n, err
}

// TestRangesAtOnce: a blob is fetched as bounded ranges of RangeSize, more
// than one at once, each asked for once, into the right places.
func TestRangesAtOnce(t *testing.T) {
	rs := newRangeSource(5*RangeSize+12345, 1)
	rs.meet = make(chan struct{})
	s, f := newSlot(t, t.TempDir(), rs.source)
	n, err := fillRanged(t, s, rs)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(slotBytes(t, f, rs.source), rs.data) || n != int64(len(rs.data)) {
		t.Fatalf("fetched %d bytes; the slot holds other bytes than the blob", n)
	}
	if rs.most < 2 {
		t.Errorf("at most %d range at once", rs.most)
	}
	var covered int64
	for _, a := range rs.asked {
		if a[1]-a[0] > RangeSize {
			t.Errorf("range [%d, %d) is longer than %d", a[0], a[1], RangeSize)
		}
		covered += a[1] - a[0]
	}
	if covered != int64(len(rs.data)) {
		t.Errorf("the ranges asked for cover %d bytes of %d", covered, len(rs.data))
	}
}

// TestRangesUnsupported: a source that serves no ranges gets one stream,
// from open or, when it sends the whole blob for the first range, that.
func TestRangesUnsupported(t *testing.T) {
	for _, whole := range []bool{false, true} {
		rs := newRangeSource(3*RangeSize, 2)
		rs.unsupported, rs.whole = true, whole
		s, f := newSlot(t, t.TempDir(), rs.source)
		if _, err := fillRanged(t, s, rs); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(slotBytes(t, f, rs.source), rs.data) || rs.served != int64(len(rs.data)) || len(rs.asked) != 1 {
			t.Fatalf("whole %v: served %d of %d bytes after %d ranges asked", whole, rs.served, len(rs.data), len(rs.asked))
		}
	}
}

// TestRangesWrongBytes: one range with a wrong byte fails the blob with a
// digest mismatch and leaves no checkpoint to continue from.
func TestRangesWrongBytes(t *testing.T) {
	rs := newRangeSource(3*RangeSize+5, 3)
	rs.flip = 2*RangeSize + 77
	s, _ := newSlot(t, t.TempDir(), rs.source)
	if _, err := fillRanged(t, s, rs); !errors.Is(err, manifest.ErrDigestMismatch) {
		t.Fatalf("got %v, want a digest mismatch", err)
	}
	if c, ok := s.State.Load(0); ok {
		t.Fatalf("a checkpoint of %d bytes and %d spans is left", c.N, len(c.Spans))
	}
}

// TestRangesResume stops ranged fetches at points along the blob, in new
// runs each time, and checks that the next run fetches only what is
// missing (every span kept, give or take the last Interval of each) and
// that the slot ends up holding the blob.
func TestRangesResume(t *testing.T) {
	size := 6*RangeSize + 999
	for _, frac := range []float64{0.1, 0.45, 0.8} {
		rs := newRangeSource(size, 4)
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(t.Context())
		rs.stopAt, rs.stop = int64(frac*float64(size)), cancel
		s, _ := newSlot(t, dir, rs.source)
		s.Ranges, s.RangeMin = rs, 1
		if _, _, err := s.Fill(ctx, rs.source.open); !errors.Is(err, context.Canceled) {
			t.Fatalf("%.2f: stopped run: %v", frac, err)
		}
		first := rs.served
		s.State.Close()
		kept, err := Progress(s.State.f.Name())
		if err != nil {
			t.Fatal(err)
		}
		rs.served, rs.stopAt = 0, 0
		s, f := newSlot(t, dir, rs.source)
		if _, err := fillRanged(t, s, rs); err != nil {
			t.Fatalf("%.2f: %v", frac, err)
		}
		if !bytes.Equal(slotBytes(t, f, rs.source), rs.data) {
			t.Fatalf("%.2f: the slot holds other bytes", frac)
		}
		t.Logf("%.2f: first run served %d, kept %d, the next served %d of %d", frac, first, kept, rs.served, size)
		if missing := int64(size) - kept; rs.served > missing || kept < first-int64(maxConns+1)*Interval {
			t.Errorf("%.2f: kept %d of the %d bytes served, then fetched %d (%d were missing)", frac, kept, first, rs.served, missing)
		}
	}
}

// TestRangesDamagedSpan: of the spans a checkpoint lists beyond its
// prefix, those whose bytes are intact on disk are kept and those changed
// since are fetched again, with the gaps between them.
func TestRangesDamagedSpan(t *testing.T) {
	const rs1 = RangeSize
	rs := newRangeSource(5*rs1, 5)
	dir := t.TempDir()
	s, f := newSlot(t, dir, rs.source)
	if _, err := f.WriteAt(rs.data, 512); err != nil {
		t.Fatal(err)
	}
	d := manifest.NewDigester("sha256")
	d.Write(rs.data[:rs1])
	state, _ := d.MarshalBinary()
	span := func(k int64) Span {
		return Span{Start: k * rs1, Len: rs1 / 2, CRC: crc32.Checksum(rs.data[k*rs1:k*rs1+rs1/2], crcTable)}
	}
	if err := s.State.Save(0, Checkpoint{N: rs1, State: state, Spans: []Span{span(2), span(3)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{^rs.data[3*rs1+100]}, 512+3*rs1+100); err != nil {
		t.Fatal(err)
	}
	if _, err := fillRanged(t, s, rs); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(slotBytes(t, f, rs.source), rs.data) {
		t.Fatal("the slot holds other bytes")
	}
	var covered int64
	for _, a := range rs.asked {
		if a[0] < 2*rs1+rs1/2 && a[1] > 2*rs1 {
			t.Errorf("the intact span was fetched again: [%d, %d)", a[0], a[1])
		}
		covered += a[1] - a[0]
	}
	if want := int64(len(rs.data)) - rs1 - rs1/2; covered != want {
		t.Errorf("fetched %d bytes in %v, want %d: all but the prefix and the intact span", covered, rs.asked, want)
	}
}

// TestRangesConnsBound: ranges borrow only the connections Conns has free.
func TestRangesConnsBound(t *testing.T) {
	rs := newRangeSource(6*RangeSize, 6)
	conns := NewConns(3)
	if err := conns.Acquire(t.Context()); err != nil { // the slot's own
		t.Fatal(err)
	}
	conns.Acquire(t.Context()) // another blob's
	s, _ := newSlot(t, t.TempDir(), rs.source)
	s.Conns = conns
	if _, err := fillRanged(t, s, rs); err != nil {
		t.Fatal(err)
	}
	if rs.most > 2 {
		t.Fatalf("%d ranges at once with one connection free beside the slot's", rs.most)
	}
	if len(conns.slots) != 2 {
		t.Fatalf("%d connections held after the fill, want the 2 taken before", len(conns.slots))
	}
}

// TestRangesStartConnectionsForRanges: a connection starts only to fetch
// a range, never to find that none is left (which would spin while the
// last ranges arrive).
func TestRangesStartConnectionsForRanges(t *testing.T) {
	rs := newRangeSource(6*RangeSize+7, 7)
	s, _ := newSlot(t, t.TempDir(), rs.source)
	s.Ranges, s.RangeMin = rs, 1
	r := s.newRanged(t.Context(), 0, manifest.NewDigester(manifest.SHA256), nil)
	r.run()
	if r.err != nil || r.hashed != int64(len(rs.data)) {
		t.Fatalf("hashed %d of %d: %v", r.hashed, len(rs.data), r.err)
	}
	if r.starts > len(rs.asked)+1 {
		t.Fatalf("%d connections started for %d ranges", r.starts, len(rs.asked))
	}
}

// TestRangesFastConnectionStaysAlone: into a file, a first connection
// faster than oneConnFast ends the ranges with the one it measured with,
// and the rest comes in one stream, never two ranges at once: on loopback
// more would cost a second read of what they wrote.
func TestRangesFastConnectionStaysAlone(t *testing.T) {
	fast, window := oneConnFast, measureTime
	oneConnFast, measureTime = 50e6, 100*time.Millisecond
	defer func() { oneConnFast, measureTime = fast, window }()
	rs := newRangeSource(5*RangeSize+12345, 1) // in memory: gigabytes a second
	s, f := newSlot(t, t.TempDir(), rs.source)
	if _, err := fillRanged(t, s, rs); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(slotBytes(t, f, rs.source), rs.data) {
		t.Fatal("the slot holds other bytes than the blob")
	}
	want := [][2]int64{{0, RangeSize}}
	if rs.most != 1 || !slices.Equal(rs.asked, want) {
		t.Errorf("ranges asked %v, at most %d at once; want %v, then one stream", rs.asked, rs.most, want)
	}
}
