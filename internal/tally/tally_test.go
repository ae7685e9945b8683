package tally_test

import (
	"sync"
	"testing"

	"github.com/skiffoci/skiff/internal/tally"
	"github.com/skiffoci/skiff/manifest"
)

func desc(s string, size int64) manifest.Descriptor {
	return manifest.Descriptor{MediaType: manifest.MediaTypeOCILayerGzip, Digest: manifest.FromString(s), Size: size}
}

// Totals count each blob once, bytes as they move, found and finished
// blobs whole; manifests are passed on but not counted.
func TestCounter(t *testing.T) {
	a, b, c := desc("a", 100), desc("b", 50), desc("c", 10)
	m := manifest.Descriptor{MediaType: manifest.MediaTypeOCIManifest, Digest: manifest.FromString("m"), Size: 7}
	var got []manifest.Totals
	cnt := tally.New([]manifest.Descriptor{a, b, a, c, m}, func(e manifest.Event) { got = append(got, e.Transfer) })
	cnt.Event(manifest.Event{Desc: a, State: manifest.StateStart})
	cnt.Event(manifest.Event{Desc: a, State: manifest.StateProgress, Bytes: 40})
	cnt.Event(manifest.Event{Desc: a, State: manifest.StateProgress, Bytes: 30}) // a restart: no going back
	cnt.Event(manifest.Event{Desc: b, State: manifest.StateExists, Bytes: 50})
	cnt.Event(manifest.Event{Desc: a, State: manifest.StateDone, Bytes: 100})
	cnt.Event(manifest.Event{Desc: a, State: manifest.StateDone, Bytes: 100}) // told twice: counted once
	cnt.Event(manifest.Event{Desc: m, State: manifest.StateDone, Bytes: 7})
	cnt.Finish(a) // done already: no event
	cnt.Finish(c)
	want := []manifest.Totals{
		{Blobs: 3, Bytes: 160},
		{Blobs: 3, Bytes: 160, BytesDone: 40},
		{Blobs: 3, Bytes: 160, BytesDone: 40},
		{Blobs: 3, Bytes: 160, BytesDone: 90, BlobsDone: 1},
		{Blobs: 3, Bytes: 160, BytesDone: 150, BlobsDone: 2},
		{Blobs: 3, Bytes: 160, BytesDone: 150, BlobsDone: 2},
		{Blobs: 3, Bytes: 160, BytesDone: 150, BlobsDone: 2},
		{Blobs: 3, Bytes: 160, BytesDone: 160, BlobsDone: 3},
	}
	if len(got) != len(want) {
		t.Fatalf("%d events passed on, want %d: %v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: totals %+v, want %+v", i, got[i], want[i])
		}
	}
	if tally.New(nil, nil) != nil || tally.New(nil, nil).Func() != nil {
		t.Error("a Counter without a function is not nil")
	}
	var none *tally.Counter
	none.Event(manifest.Event{Desc: a}) // a nil Counter takes events and drops them
	none.Finish(a)
}

// Events from many goroutines at once add up (run with -race).
func TestCounterConcurrent(t *testing.T) {
	var blobs []manifest.Descriptor
	for i := range 50 {
		blobs = append(blobs, desc(string(rune('A'+i)), 1000))
	}
	var mu sync.Mutex
	var last manifest.Totals
	cnt := tally.New(blobs, func(e manifest.Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.Transfer.BytesDone > last.BytesDone {
			last = e.Transfer
		}
	})
	var wg sync.WaitGroup
	for _, d := range blobs {
		wg.Go(func() {
			for n := int64(100); n <= 1000; n += 100 {
				cnt.Event(manifest.Event{Desc: d, State: manifest.StateProgress, Bytes: n})
			}
			cnt.Event(manifest.Event{Desc: d, State: manifest.StateDone, Bytes: 1000})
		})
	}
	wg.Wait()
	if got := cnt.Totals(); got.BytesDone != 50000 || got.BlobsDone != 50 {
		t.Errorf("totals %+v, want all 50 blobs and 50000 bytes done", got)
	}
	if last.BytesDone != 50000 {
		t.Errorf("the largest totals passed on: %+v", last)
	}
}
