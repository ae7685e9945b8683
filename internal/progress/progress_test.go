package progress

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/manifest"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func desc(n int64, s string) manifest.Descriptor {
	return manifest.Descriptor{MediaType: manifest.MediaTypeOCILayerGzip, Digest: manifest.FromString(s), Size: n}
}

func TestTTYDraw(t *testing.T) {
	var out bytes.Buffer
	c := &clock{t: time.Unix(0, 0)}
	d := newDisplay(&out, TTY, c.now)
	a, b := desc(10<<20, "a"), desc(4<<20, "b")
	d.Event(manifest.Event{Desc: a, State: manifest.StateStart})
	d.Event(manifest.Event{Desc: b, State: manifest.StateStart})
	c.add(2 * time.Second)
	d.Event(manifest.Event{Desc: a, State: manifest.StateProgress, Bytes: 4 << 20})
	d.draw()
	first := out.String()
	if strings.Count(first, "\n") != 3 || !strings.Contains(first, a.Digest.Short()+"   4.0 MiB / 10.0 MiB") ||
		!strings.Contains(first, "2.0 MiB/s  eta 3s") || !strings.Contains(first, "total 0/2 blobs") {
		t.Fatalf("first frame:\n%q", first)
	}
	out.Reset()
	d.Event(manifest.Event{Desc: a, State: manifest.StateDone, Bytes: 10 << 20})
	d.Event(manifest.Event{Desc: b, State: manifest.StateExists, Bytes: 4 << 20})
	d.Close()
	second := out.String()
	if !strings.HasPrefix(second, "\x1b[3A") || strings.Contains(second, a.Digest.Short()) || !strings.Contains(second, "total 2/2 blobs  14.0 MiB / 14.0 MiB") {
		t.Fatalf("final frame:\n%q", second)
	}
}

func TestPlainLines(t *testing.T) {
	var out bytes.Buffer
	c := &clock{t: time.Unix(0, 0)}
	d := newDisplay(&out, Plain, c.now)
	a := desc(1536, "a")
	d.Event(manifest.Event{Desc: a, State: manifest.StateStart})
	d.Event(manifest.Event{Desc: a, State: manifest.StateProgress, Bytes: 1000})
	c.add(1500 * time.Millisecond)
	d.Event(manifest.Event{Desc: a, State: manifest.StateDone, Bytes: 1536})
	d.Event(manifest.Event{Desc: desc(7, "m"), State: manifest.StateMounted, Bytes: 7})
	d.Close()
	want := "done    " + string(a.Digest) + " 1.5 KiB in 1.5s\nmounted " + string(manifest.FromString("m")) + " 7 B in 0s\n"
	if out.String() != want {
		t.Fatalf("plain output:\n%q\nwant\n%q", out.String(), want)
	}
}

func TestOffAndNil(t *testing.T) {
	var out bytes.Buffer
	d := New(&out, Off)
	d.Event(manifest.Event{Desc: desc(1, "a"), State: manifest.StateDone})
	d.Close()
	var none *Display
	none.Event(manifest.Event{})
	none.Close()
	if out.Len() != 0 {
		t.Fatalf("Off wrote %q", out.String())
	}
}

type memFetcher map[manifest.Digest][]byte

func (m memFetcher) Fetch(_ context.Context, d manifest.Descriptor) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(m[d.Digest])), nil
}

func TestFetcherReports(t *testing.T) {
	var out bytes.Buffer
	d := newDisplay(&out, Plain, time.Now)
	data := bytes.Repeat([]byte("x"), 5000)
	dsc := manifest.DescriptorFor(manifest.MediaTypeOCILayerGzip, data)
	rc, err := manifest.ObserveFetcher(memFetcher{dsc.Digest: data}, d.Event).Fetch(t.Context(), dsc)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, data) || !strings.HasPrefix(out.String(), "done    "+string(dsc.Digest)+" 4.9 KiB") {
		t.Fatalf("%d bytes, output %q", len(got), out.String())
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestLog: on a terminal a logged line replaces the drawing, which is
// drawn again under it; elsewhere it is just a line.
func TestLog(t *testing.T) {
	var out bytes.Buffer
	c := &clock{t: time.Unix(0, 0)}
	d := newDisplay(&out, TTY, c.now)
	d.Event(manifest.Event{Desc: desc(100, "a"), State: manifest.StateStart})
	d.draw()
	out.Reset()
	d.Log("skiff: o/app:1 copied")
	got := out.String()
	if !strings.HasPrefix(got, "\x1b[2A\x1b[Jskiff: o/app:1 copied\n") || !strings.Contains(got, "total 0/1 blobs") {
		t.Fatalf("TTY log:\n%q", got)
	}
	out.Reset()
	d.Log("next")
	if !strings.HasPrefix(out.String(), "\x1b[2A\x1b[Jnext\n") {
		t.Fatalf("a second log line does not replace the redrawn total:\n%q", out.String())
	}
	d.ticking = false
	d.Close()
	out.Reset()
	d.Log("total")
	if out.String() != "\x1b[2A\x1b[Jtotal\n" {
		t.Fatalf("after Close the line replaces the drawing:\n%q", out.String())
	}
	var plain bytes.Buffer
	newDisplay(&plain, Off, c.now).Log("line")
	var none *Display
	none.Log("nothing")
	if plain.String() != "line\n" {
		t.Fatalf("off: %q", plain.String())
	}
}
