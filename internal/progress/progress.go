// Package progress shows transfers on stderr: on a terminal, one line per
// blob in flight with bytes, rate and time left, plus a total, redrawn in
// place; in plain mode (CI logs), one line per finished blob. It consumes
// the events of images.Copy and tarball's WriteOptions.Progress. It
// never writes to stdout.
package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffoci/skiff/manifest"
)

// Mode says how progress is shown.
type Mode int

// The modes.
const (
	Off   Mode = iota // nothing
	Plain             // a line per finished blob, for logs
	TTY               // lines redrawn in place, for terminals
)

// refresh is how often a terminal display is redrawn.
const refresh = 150 * time.Millisecond

// Display collects transfer events and shows them on w.
type Display struct {
	w    io.Writer
	mode Mode
	now  func() time.Time

	// byDigest finds a blob without a lock: progress events arrive on
	// every Read of every transfer. mu guards the rest.
	byDigest sync.Map // manifest.Digest → *blob

	mu      sync.Mutex
	blobs   map[manifest.Digest]*blob
	order   []manifest.Digest
	start   time.Time
	lines   int // lines drawn last time, to move back over them
	stop    chan struct{}
	closed  chan struct{}
	ticking bool // a goroutine redraws; tests draw by hand
}

type blob struct {
	desc  manifest.Descriptor
	done  atomic.Int64 // bytes so far, raised without d.mu
	state manifest.State
	start time.Time
	end   time.Time
}

// New returns a Display writing to w. In TTY mode it redraws until Close.
func New(w io.Writer, mode Mode) *Display {
	d := newDisplay(w, mode, time.Now)
	if mode == TTY {
		d.ticking = true
		go d.loop()
	}
	return d
}

func newDisplay(w io.Writer, mode Mode, now func() time.Time) *Display {
	d := &Display{w: w, mode: mode, now: now, blobs: map[manifest.Digest]*blob{}}
	d.start = d.now()
	d.stop, d.closed = make(chan struct{}), make(chan struct{})
	return d
}

func (d *Display) loop() {
	defer close(d.closed)
	t := time.NewTicker(refresh)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			d.mu.Lock()
			d.draw()
			d.mu.Unlock()
		}
	}
}

// Event records e; it suits images.CopyOptions.Progress. Progress
// events take no lock: they only raise the blob's byte count, which the
// display reads when it redraws.
func (d *Display) Event(e manifest.Event) {
	if d == nil || d.mode == Off {
		return
	}
	if e.State == manifest.StateProgress {
		if b, ok := d.byDigest.Load(e.Desc.Digest); ok {
			raise(&b.(*blob).done, e.Bytes)
			return
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	b := d.blobs[e.Desc.Digest]
	if b == nil {
		b = &blob{desc: e.Desc, start: d.now()}
		d.blobs[e.Desc.Digest] = b
		d.order = append(d.order, e.Desc.Digest)
		d.byDigest.Store(e.Desc.Digest, b)
	}
	raise(&b.done, e.Bytes)
	if e.State == manifest.StateProgress {
		return
	}
	b.state = e.State
	if e.State != manifest.StateStart && b.end.IsZero() {
		b.end = d.now()
		if d.mode == Plain {
			fmt.Fprintln(d.w, plainLine(b))
		}
	}
}

// Log writes line to w as a line of its own: on a terminal above the
// transfers being drawn, which are drawn again below it (after Close,
// the line replaces the last drawing). A nil Display writes nothing.
func (d *Display) Log(line string) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mode != TTY {
		fmt.Fprintln(d.w, line)
		return
	}
	if d.lines > 0 {
		fmt.Fprintf(d.w, "\x1b[%dA\x1b[J", d.lines) // up over the drawing, and clear it
		d.lines = 0
	}
	fmt.Fprintf(d.w, "%s\n", line)
	select {
	case <-d.stop: // closed: the line replaces the final drawing
	default:
		d.draw()
	}
}

// raise sets n to v unless it already holds more.
func raise(n *atomic.Int64, v int64) {
	for {
		old := n.Load()
		if v <= old || n.CompareAndSwap(old, v) {
			return
		}
	}
}

// Mode returns how d shows progress; a nil Display shows nothing.
func (d *Display) Mode() Mode {
	if d == nil {
		return Off
	}
	return d.mode
}

// Close draws the final state and stops redrawing.
func (d *Display) Close() {
	if d == nil || d.mode != TTY {
		return
	}
	close(d.stop)
	if d.ticking {
		<-d.closed
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.draw()
}

// draw redraws every line: blobs in flight, then the total. d.mu is held.
func (d *Display) draw() {
	var b strings.Builder
	if d.lines > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", d.lines) // back to the first line
	}
	lines := 0
	for _, dg := range d.order {
		bl := d.blobs[dg]
		if bl.end.IsZero() {
			fmt.Fprintf(&b, "\x1b[2K%s\n", d.ttyLine(bl))
			lines++
		}
	}
	fmt.Fprintf(&b, "\x1b[2K%s\n", d.total())
	lines++
	for i := lines; i < d.lines; i++ {
		b.WriteString("\x1b[2K\n") // blank lines left from a longer draw
	}
	d.lines = max(lines, d.lines)
	io.WriteString(d.w, b.String())
}

func (d *Display) ttyLine(b *blob) string {
	elapsed := d.now().Sub(b.start)
	done := b.done.Load()
	rate := float64(done) / max(elapsed.Seconds(), 1e-3)
	eta := "--"
	if rate > 0 && b.desc.Size > done {
		eta = time.Duration(float64(b.desc.Size-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("%s %9s / %-9s %9s/s  eta %s", b.desc.Digest.Short(), Bytes(done), Bytes(b.desc.Size), Bytes(int64(rate)), eta)
}

// total sums every blob seen: bytes moved of bytes to move.
func (d *Display) total() string {
	var done, size int64
	finished := 0
	for _, b := range d.blobs {
		done, size = done+b.done.Load(), size+b.desc.Size
		if !b.end.IsZero() {
			finished++
		}
	}
	elapsed := d.now().Sub(d.start)
	rate := float64(done) / max(elapsed.Seconds(), 1e-3)
	return fmt.Sprintf("total %d/%d blobs %9s / %-9s %9s/s  %s", finished, len(d.blobs), Bytes(done), Bytes(size), Bytes(int64(rate)), elapsed.Round(100*time.Millisecond))
}

var stateWords = map[manifest.State]string{
	manifest.StateDone: "done", manifest.StateExists: "exists", manifest.StateMounted: "mounted", manifest.StateSkipped: "skipped",
}

func plainLine(b *blob) string {
	elapsed := b.end.Sub(b.start).Round(time.Millisecond)
	return fmt.Sprintf("%-7s %s %s in %s", stateWords[b.state], b.desc.Digest, Bytes(b.desc.Size), elapsed)
}

// Bytes formats n as "512 B", "1.5 KiB", "12.3 MiB".
func Bytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f, i = f/1024, i+1
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}
