package resume

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/skiffoci/skiff/manifest"
)

// slowReader takes pause before every Read (for its first slow bytes,
// when slow is positive): a source, or a reader, slower than the other
// side.
type slowReader struct {
	io.ReadCloser
	pause time.Duration
	slow  int64
}

func (s *slowReader) Read(p []byte) (int, error) {
	if s.slow <= 0 {
		return s.ReadCloser.Read(p)
	}
	time.Sleep(s.pause)
	n, err := s.ReadCloser.Read(p)
	if s.slow -= int64(n); s.slow <= 0 {
		s.slow = -1 // fast from here on
	}
	return n, err
}

// slowHead opens the blob from byte 0 as a head of about 6 MB/s (64 KiB
// reads, 10 ms apart) for its first 2 MiB, long enough for an epoch:
// slower than any reader of the tests, and than streamFastRate.
func slowHead(t *testing.T, s *source) io.ReadCloser {
	t.Helper()
	head, err := s.open(0)
	if err != nil {
		t.Fatal(err)
	}
	return &slowReader{ReadCloser: head, pause: 10 * time.Millisecond, slow: 2 << 20}
}

// TestStream: a Stream whose head is slower than its reader switches to
// ranges, several at once, from beyond where the head was, and, as they
// are faster than the head, keeps them to the end; it yields the blob in
// order, with no more than its ring of memory ahead of the reader.
func TestStream(t *testing.T) {
	rs := newRangeSource(8*streamChunk+321, 8)
	rs.meet = make(chan struct{})
	sr := Stream(t.Context(), rs, rs.desc, slowHead(t, rs.source), rs.source.open, nil)
	got, err := io.ReadAll(manifest.VerifyReadCloser(sr, rs.desc))
	sr.Close()
	if err != nil || !bytes.Equal(got, rs.data) {
		t.Fatalf("%v, %d bytes", err, len(got))
	}
	if rs.most < 2 || len(rs.asked) < 3 || rs.asked[0][0] == 0 || sr.(*streamReader).rest != nil {
		t.Fatalf("ranges asked %v, at most %d at once: want several at once, after the head's bytes, to the end", rs.asked, rs.most)
	}
	if rs.served > int64(len(rs.data))+streamChunk {
		t.Fatalf("%d bytes served for a blob of %d", rs.served, len(rs.data))
	}
	if n := len(sr.(*streamReader).ring.pages); n > 0 {
		t.Fatalf("%d pages of the ring left after the end", n)
	}
}

// TestStreamFastHead: a head that gives its reader every byte as soon as
// the reader asks, here a reader slower than the source, is all there is:
// the source is asked for no range.
func TestStreamFastHead(t *testing.T) {
	rs := newRangeSource(4*streamChunk, 13)
	head := io.NopCloser(&cutReader{s: rs.source}) // as a registry's body: unverified
	sr := Stream(t.Context(), rs, rs.desc, head, rs.source.open, nil)
	defer sr.Close()
	// 32 KiB each 10 ms: slower than the head even on a busy machine,
	// -race, and far enough from the end after an epoch for ranges.
	slow := &slowReader{ReadCloser: manifest.VerifyReadCloser(sr, rs.desc), pause: 10 * time.Millisecond, slow: int64(len(rs.data))}
	got := bytes.NewBuffer(make([]byte, 0, len(rs.data)))
	if _, err := io.CopyBuffer(got, slow, make([]byte, 32<<10)); err != nil || !bytes.Equal(got.Bytes(), rs.data) {
		t.Fatalf("%v, %d bytes", err, got.Len())
	}
	if len(rs.asked) > 0 || sr.(*streamReader).r != nil {
		t.Fatalf("ranges asked of a source faster than its reader: %v", rs.asked)
	}
}

// TestHeadWatch: a head is slow when, in two halves of an epoch running,
// the reader waited at least half of each for bytes that came at less
// than streamFastRate; told at the end of the second.
func TestHeadWatch(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	for _, c := range []struct {
		name  string
		reads [][3]int // start, end (ms), bytes
		slow  bool
	}{
		{"waited most of both halves, 5 MB/s", [][3]int{{0, 100, 500e3}, {110, 200, 500e3}}, true},
		{"waited most of the second half only", [][3]int{{0, 10, 500e3}, {90, 100, 500e3}, {100, 200, 500e3}}, false},
		{"waited a tenth, 5 MB/s", [][3]int{{0, 10, 500e3}, {100, 110, 500e3}}, false},
		{"one stall as long as a half", [][3]int{{0, 10, 1e6}, {10, 110, 1e6}, {110, 120, 1e6}, {200, 210, 1e6}}, false},
		{"waited all of it, 200 MB/s", [][3]int{{0, 100, 20e6}, {100, 200, 20e6}}, false},
		{"second half not over", [][3]int{{0, 100, 500e3}, {100, 150, 500e3}}, false},
		{"slow, a fast half, slow", [][3]int{{0, 100, 500e3}, {100, 110, 500e3}, {190, 200, 500e3}, {200, 300, 500e3}}, false},
		{"slow, a fast half, slow, slow", [][3]int{{0, 100, 500e3}, {100, 110, 500e3}, {190, 200, 500e3}, {200, 300, 500e3}, {300, 400, 500e3}}, true},
	} {
		var w headWatch
		slow := false
		for _, r := range c.reads {
			slow, _ = w.read(ms(r[0]), ms(r[1]), r[2])
		}
		if slow != c.slow {
			t.Errorf("%s: slow %v, want %v", c.name, slow, c.slow)
		}
	}
}

// TestStreamRingBound: a Stream's ranges never write further beyond what
// the reader took than its window (a range per connection but one, and
// streamSlack), and its ring holds no more pages than that: a reader that
// stops holds the ranges back.
func TestStreamRingBound(t *testing.T) {
	rs := newRangeSource(12*streamChunk, 9)
	sr := Stream(t.Context(), rs, rs.desc, slowHead(t, rs.source), rs.source.open, nil).(*streamReader)
	defer sr.Close()
	got := make([]byte, 0, len(rs.data))
	buf := make([]byte, 64<<10)
	stopped := false
	for len(got) < len(rs.data) {
		if sr.head == nil {
			buf = buf[:1000] // in the ring, in small steps
		}
		n, err := sr.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		r := sr.r
		if r == nil || sr.head != nil {
			continue // the head
		}
		r.mu.Lock()
		if !stopped { // the reader stops: the ranges fill what they may
			stopped = true
			for r.written < streamSlack && r.err == nil {
				r.cond.Wait()
			}
		}
		ahead, window := r.base+r.written-sr.pos, streamWindow(r.want)
		r.mu.Unlock()
		sr.ring.mu.Lock()
		pages := len(sr.ring.pages)
		sr.ring.mu.Unlock()
		if ahead > window || pages > int(window/pageSize)+2 {
			t.Fatalf("with the reader at byte %d, %d bytes written beyond it in %d pages: its window is %d", sr.pos, ahead, pages, window)
		}
	}
	if !bytes.Equal(got, rs.data) || sr.r == nil {
		t.Fatalf("%d bytes, not the blob's, or no ranges (%v)", len(got), sr.r == nil)
	}
}

// TestStreamFallsBack: from a source that serves no ranges, the Stream
// yields the blob all the same, its head going on to the end, the source
// sending each byte once.
func TestStreamFallsBack(t *testing.T) {
	for _, whole := range []bool{false, true} {
		rs := newRangeSource(4*streamChunk+5, 10)
		rs.unsupported, rs.whole = true, whole
		sr := Stream(t.Context(), rs, rs.desc, slowHead(t, rs.source), rs.source.open, nil)
		got, err := io.ReadAll(manifest.VerifyReadCloser(sr, rs.desc))
		sr.Close()
		if err != nil || !bytes.Equal(got, rs.data) || rs.served != int64(len(rs.data)) || len(rs.asked) == 0 {
			t.Fatalf("whole %v: %v, %d bytes, %d served, ranges asked %v", whole, err, len(got), rs.served, rs.asked)
		}
	}
}

// TestStreamWrongBytes: a range with a wrong byte fails the verifying
// reader of the Stream before its end.
func TestStreamWrongBytes(t *testing.T) {
	rs := newRangeSource(6*streamChunk, 11)
	rs.flip = 5*streamChunk + 9
	sr := Stream(t.Context(), rs, rs.desc, slowHead(t, rs.source), rs.source.open, nil)
	_, err := io.ReadAll(manifest.VerifyReadCloser(sr, rs.desc))
	sr.Close()
	if !errors.Is(err, manifest.ErrDigestMismatch) || len(rs.asked) == 0 {
		t.Fatalf("got %v after %d ranges, want a digest mismatch", err, len(rs.asked))
	}
}

// TestStreamCloseStops: closing a Stream half read stops its ranges.
func TestStreamCloseStops(t *testing.T) {
	rs := newRangeSource(20*streamChunk, 12)
	sr := Stream(t.Context(), rs, rs.desc, slowHead(t, rs.source), rs.source.open, nil)
	for sr.(*streamReader).r == nil {
		if _, err := sr.Read(make([]byte, 64<<10)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := io.ReadFull(sr, make([]byte, streamChunk)); err != nil {
		t.Fatal(err)
	}
	sr.Close() // returns once every range stopped
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.smu.Lock()
	defer rs.smu.Unlock()
	if rs.inflight != 0 || rs.served >= int64(len(rs.data)) {
		t.Fatalf("%d ranges open, %d bytes served after Close", rs.inflight, rs.served)
	}
}

// sharedRate holds every reader of a source to one rate in all, as a
// link that caps the sum of its connections, not each, does.
type sharedRate struct {
	mu   sync.Mutex
	rate float64 // bytes per second
	next time.Time
}

func (s *sharedRate) wait(n int) {
	s.mu.Lock()
	at := time.Now().Add(-10 * time.Millisecond) // a burst, for the sleeps that overslept
	if at.Before(s.next) {
		at = s.next
	}
	at = at.Add(time.Duration(float64(n) / s.rate * float64(time.Second)))
	s.next = at
	s.mu.Unlock()
	time.Sleep(time.Until(at))
}

type sharedReader struct {
	io.ReadCloser
	s *sharedRate
}

func (r *sharedReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.s.wait(n)
	return n, err
}

// sharedSource is a rangeSource whose head, ranges and streams share one
// rate.
type sharedSource struct {
	*rangeSource
	s *sharedRate
}

func (ss *sharedSource) FetchRange(ctx context.Context, desc manifest.Descriptor, start, end int64) (io.ReadCloser, error) {
	rc, err := ss.rangeSource.FetchRange(ctx, desc, start, end)
	if err != nil {
		return nil, err
	}
	return &sharedReader{ReadCloser: rc, s: ss.s}, nil
}

func (ss *sharedSource) open(offset int64) (io.ReadCloser, error) {
	rc, err := ss.source.open(offset)
	if err != nil {
		return nil, err
	}
	return &sharedReader{ReadCloser: rc, s: ss.s}, nil
}

// TestStreamBackToOneStream: from a source slower than its reader whose
// connections share one rate (a link full with one), the ranges two
// connections fetch carry no more than the head did, and the rest comes
// in one stream again: no more ranges than two epochs' worth.
func TestStreamBackToOneStream(t *testing.T) {
	// 8 MB/s: little of a CPU for the reader, so that the head's rate is
	// the link's even on a busy machine, -race.
	ss := &sharedSource{rangeSource: newRangeSource(12<<20, 14), s: &sharedRate{rate: 8e6}}
	head, err := ss.open(0)
	if err != nil {
		t.Fatal(err)
	}
	sr := Stream(t.Context(), ss, ss.desc, head, ss.open, nil).(*streamReader)
	got := bytes.NewBuffer(make([]byte, 0, len(ss.data))) // a reader that takes each byte at once
	_, err = io.CopyBuffer(got, manifest.VerifyReadCloser(sr, ss.desc), make([]byte, 64<<10))
	if err != nil || !bytes.Equal(got.Bytes(), ss.data) {
		t.Fatalf("%v, %d bytes", err, got.Len())
	}
	ss.mu.Lock()
	asked := len(ss.asked)
	ss.mu.Unlock()
	if sr.rest == nil || asked == 0 || asked > 10 {
		t.Fatalf("%d ranges asked; one stream after them: %v", asked, sr.rest != nil)
	}
	sr.Close()
}
