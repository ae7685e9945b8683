package resume

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/skiffoci/skiff/manifest"
)

// TestStream: a Stream yields the blob in order from ranges fetched at
// once, with no more than its ring of memory ahead of the reader.
func TestStream(t *testing.T) {
	rs := newRangeSource(5*streamChunk+321, 8)
	rs.meet = make(chan struct{})
	sr := Stream(t.Context(), rs, rs.desc, rs.source.open, nil)
	got, err := io.ReadAll(manifest.VerifyReadCloser(sr, rs.desc))
	sr.Close()
	if err != nil || !bytes.Equal(got, rs.data) {
		t.Fatalf("%v, %d bytes", err, len(got))
	}
	if rs.most < 2 || len(rs.asked) != 6 {
		t.Fatalf("%d ranges asked, at most %d at once", len(rs.asked), rs.most)
	}
	if n := len(sr.(*streamReader).ring.pages); n > 0 {
		t.Fatalf("%d pages of the ring left after the end", n)
	}
}

// TestStreamRingBound: a Stream's ranges never write further beyond what
// the reader took than its window (a range per connection but one, and
// streamSlack), and its ring holds no more pages than that: a reader that
// stops holds the ranges back.
func TestStreamRingBound(t *testing.T) {
	rs := newRangeSource(12*streamChunk, 9)
	sr := Stream(t.Context(), rs, rs.desc, rs.source.open, nil).(*streamReader)
	defer sr.Close()
	got := make([]byte, 0, len(rs.data))
	buf := make([]byte, 1000)
	for len(got) < len(rs.data) {
		n, err := sr.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		r := sr.r
		r.mu.Lock()
		if len(got) == n { // the reader stops: the ranges fill what they may
			for r.written < streamSlack && r.err == nil {
				r.cond.Wait()
			}
		}
		ahead, window := r.written-sr.pos, streamWindow(r.want)
		r.mu.Unlock()
		sr.ring.mu.Lock()
		pages := len(sr.ring.pages)
		sr.ring.mu.Unlock()
		if ahead > window || pages > int(window/pageSize)+2 {
			t.Fatalf("with the reader at byte %d, %d bytes written beyond it in %d pages: its window is %d", sr.pos, ahead, pages, window)
		}
	}
	if !bytes.Equal(got, rs.data) {
		t.Fatalf("%d bytes, not the blob's", len(got))
	}
}

// TestStreamFallsBack: from a source that serves no ranges, or sends the
// whole blob to the first, the Stream yields the blob all the same, the
// source sending it once.
func TestStreamFallsBack(t *testing.T) {
	for _, whole := range []bool{false, true} {
		rs := newRangeSource(3*streamChunk+5, 10)
		rs.unsupported, rs.whole = true, whole
		sr := Stream(t.Context(), rs, rs.desc, rs.source.open, nil)
		got, err := io.ReadAll(manifest.VerifyReadCloser(sr, rs.desc))
		sr.Close()
		if err != nil || !bytes.Equal(got, rs.data) || rs.served != int64(len(rs.data)) {
			t.Fatalf("whole %v: %v, %d bytes, %d served", whole, err, len(got), rs.served)
		}
	}
}

// TestStreamWrongBytes: a range with a wrong byte fails the verifying
// reader of the Stream before its end.
func TestStreamWrongBytes(t *testing.T) {
	rs := newRangeSource(3*streamChunk, 11)
	rs.flip = streamChunk + 9
	sr := Stream(t.Context(), rs, rs.desc, rs.source.open, nil)
	_, err := io.ReadAll(manifest.VerifyReadCloser(sr, rs.desc))
	sr.Close()
	if !errors.Is(err, manifest.ErrDigestMismatch) {
		t.Fatalf("got %v, want a digest mismatch", err)
	}
}

// TestStreamCloseStops: closing a Stream half read stops its ranges.
func TestStreamCloseStops(t *testing.T) {
	rs := newRangeSource(20*streamChunk, 12)
	sr := Stream(t.Context(), rs, rs.desc, rs.source.open, nil)
	if _, err := io.ReadFull(sr, make([]byte, streamChunk)); err != nil {
		t.Fatal(err)
	}
	sr.Close() // returns once every range stopped
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.inflight != 0 || rs.served >= int64(len(rs.data)) {
		t.Fatalf("%d ranges open, %d bytes served after Close", rs.inflight, rs.served)
	}
}
