package zstd_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/zstd"
)

// Hand-made frames, for what the zstd command never writes.
var magic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// blockHeader is the 3-byte header of a block (RFC 8878 section 3.1.1.2).
func blockHeader(last bool, kind, size int) []byte {
	h := kind<<1 | size<<3
	if last {
		h |= 1
	}
	return []byte{byte(h), byte(h >> 8), byte(h >> 16)}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// rawFrame is a frame with an 8 MiB window, no checksum and no content
// size, holding the blocks given.
func rawFrame(blocks ...[]byte) []byte {
	return cat(magic, []byte{0x00, 13 << 3}, cat(blocks...))
}

// isOurs checks that err is one of the decoder's own errors.
func isOurs(t *testing.T, err error, what string) {
	t.Helper()
	if !strings.HasPrefix(err.Error(), "zstd: ") {
		t.Fatalf("%s: error %q is not prefixed with zstd:", what, err)
	}
	for _, target := range []error{zstd.ErrCorrupt, zstd.ErrChecksum, zstd.ErrWindowTooLarge, zstd.ErrDictionary} {
		if errors.Is(err, target) {
			return
		}
	}
	t.Fatalf("%s: error %q wraps none of the package's errors", what, err)
}

// TestCorruptFlippedBytes flips bytes all over frames, with and without a
// checksum: decoding never panics, errors are the package's own, and with
// a checksum a decode that succeeds gave back exactly the input.
func TestCorruptFlippedBytes(t *testing.T) {
	data := layer(t, 10<<10, 12)
	for _, level := range []string{"-1", "-19"} {
		for _, check := range []string{"--check", "--no-check"} {
			z := compressFile(t, data, level, check)
			stride := max(1, len(z)/150)
			for i := 0; i < len(z); i += stride {
				for _, mask := range []byte{0x01, 0x10, 0xff} {
					bad := bytes.Clone(z)
					bad[i] ^= mask
					got, err := decode(bad, nil)
					what := level + check + " byte " + strconv.Itoa(i)
					switch {
					case err != nil:
						isOurs(t, err, what)
					case check == "--check" && !bytes.Equal(got, data):
						t.Fatalf("%s flipped by %#x: wrong output and no error", what, mask)
					case len(got) > len(data)+128<<10:
						t.Fatalf("%s flipped by %#x: %d bytes out of %d", what, mask, len(got), len(data))
					}
				}
			}
		}
	}
}

// TestCorruptTruncated cuts a multi-block frame at many places: every cut
// is an error that wraps io.ErrUnexpectedEOF and ErrCorrupt.
func TestCorruptTruncated(t *testing.T) {
	data := layer(t, 400<<10, 13)
	for _, z := range [][]byte{compressFile(t, data, "-3"), compressStdin(t, data, "-19", "--no-check")} {
		for cut := 0; cut < len(z); cut += 1 + cut/8 {
			_, err := decode(z[:cut], nil)
			if err == nil {
				t.Fatalf("cut at %d of %d: no error", cut, len(z))
			}
			wantError(t, err, zstd.ErrCorrupt)
			if cut > 0 && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("cut at %d of %d: %v does not wrap io.ErrUnexpectedEOF", cut, len(z), err)
			}
		}
	}
}

// TestCorruptChecksum changes the checksum at the end of a frame.
func TestCorruptChecksum(t *testing.T) {
	data := layer(t, 100<<10, 14)
	z := compressFile(t, data)
	z[len(z)-1] ^= 0x40
	got, err := decode(z, nil)
	wantError(t, err, zstd.ErrChecksum)
	if !bytes.Equal(got, data) {
		t.Errorf("the bytes before the checksum error: %d, want the whole %d", len(got), len(data))
	}
	want := binary.LittleEndian.Uint32(z[len(z)-4:])
	if !strings.Contains(err.Error(), strconv.FormatUint(uint64(want), 16)) {
		t.Errorf("error %q does not name the checksum the frame gives (%08x)", err, want)
	}
}

// TestCorruptDictionary decodes frames that need a dictionary: one made by
// the zstd command with a trained dictionary, and hand-made ones with
// every size of the dictionary ID field.
func TestCorruptDictionary(t *testing.T) {
	dir := t.TempDir()
	var samples []string
	text := layer(t, 600<<10, 30)
	for i := range 200 {
		p := filepath.Join(dir, "s"+strconv.Itoa(i))
		if err := os.WriteFile(p, text[i*3000:i*3000+2000+i*7], 0o644); err != nil {
			t.Fatal(err)
		}
		samples = append(samples, p)
	}
	dict := filepath.Join(dir, "dict")
	runZstd(t, nil, append([]string{"-q", "--train", "--dictID=40000", "--maxdict=16384", "-o", dict}, samples...)...)
	z := runZstd(t, bytes.NewReader(layer(t, 3000, 999)), "-q", "-c", "-D", dict)
	_, err := decode(z, nil)
	wantError(t, err, zstd.ErrDictionary)
	if !strings.Contains(err.Error(), "ID 40000") {
		t.Errorf("error %q does not name the dictionary ID", err)
	}
	for flag, id := range map[byte][]byte{1: {7}, 2: {0x34, 0x12}, 3: {0x78, 0x56, 0x34, 0x12}} {
		frame := cat(magic, []byte{flag, 13 << 3}, id, blockHeader(true, 0, 0))
		_, err := decode(frame, nil)
		wantError(t, err, zstd.ErrDictionary)
	}
	// A dictionary ID of zero means none.
	mustDecode(t, cat(magic, []byte{1, 13 << 3, 0}, blockHeader(true, 0, 2), []byte("ok")), []byte("ok"), nil)
}

// TestCorruptHugeWindow refuses windows above the limit before allocating
// anything for them.
func TestCorruptHugeWindow(t *testing.T) {
	for name, frame := range map[string][]byte{
		"window log 41":        cat(magic, []byte{0x00, 31<<3 | 7}, blockHeader(true, 1, 100), []byte{0}),
		"window 160 MiB":       cat(magic, []byte{0x00, 17<<3 | 2}, blockHeader(true, 0, 0)),
		"single segment 1 TiB": cat(magic, []byte{0xe0, 0, 0, 0, 0, 0, 1, 0, 0}, blockHeader(true, 0, 0)),
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := decode(frame, nil)
		runtime.ReadMemStats(&after)
		wantError(t, err, zstd.ErrWindowTooLarge)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Errorf("%s: %d bytes allocated to refuse it", name, grew)
		}
	}
}

// TestBoundedMemory decodes a frame that declares a 128 MiB window (the
// default limit) but holds 2 MiB: the decoder's memory follows what the
// frame holds, not what it declares.
func TestBoundedMemory(t *testing.T) {
	data := layer(t, 2<<20, 15)
	z := compressStdin(t, data, "--long=27")
	if wd := z[5]; wd>>3 != 17 {
		t.Fatalf("window descriptor %#x; want a 128 MiB window", wd)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n, err := io.Copy(io.Discard, zstd.NewReader(bytes.NewReader(z), nil))
	runtime.ReadMemStats(&after)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("decoded %d bytes, %v; want %d", n, err, len(data))
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 12<<20 {
		t.Errorf("%d MiB allocated to decode 2 MiB", grew>>20)
	}
}

// TestWindowMemory decodes a frame that fills its 128 MiB window (with
// RLE blocks, so its input is small): the decoder allocates at most 1.1
// times the window in all, where doubling its history up to the window
// allocated twice the window and held up to three times it.
func TestWindowMemory(t *testing.T) {
	if raceEnabled {
		t.Skip("128 MiB decoded under -race takes ten times as long; the run without it checks this")
	}
	const window, block = 128 << 20, 128 << 10
	blocks := window/block + 8
	frame := cat(magic, []byte{0x00, 17 << 3}) // a 128 MiB window, no size, no checksum
	for i := range blocks {
		frame = cat(frame, blockHeader(i == blocks-1, 1, block), []byte{byte(i)})
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n, err := io.Copy(io.Discard, zstd.NewReader(bytes.NewReader(frame), nil))
	runtime.ReadMemStats(&after)
	if err != nil || n != int64(blocks*block) {
		t.Fatalf("decoded %d bytes, %v; want %d", n, err, blocks*block)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > window*11/10 {
		t.Errorf("%.2f times the window allocated", float64(grew)/window)
	}
}

// TestCorruptFrames decodes hand-made frames that break one rule each,
// and checks that each is refused for that rule.
func TestCorruptFrames(t *testing.T) {
	// A compressed block with raw literals "ab" and one sequence whose
	// three codes are RLE: 2 literals, then 3 bytes from offset 2 (offset
	// code 2, extra bits 01) makes "ababa"; with offset code 5 (extra
	// bits 00000) the offset is 29, before the start of the frame.
	seqBlock := func(ofCode, bits byte) []byte {
		return cat(blockHeader(true, 2, 9), []byte{2 << 3, 'a', 'b', 1, 0x54, 2, ofCode, 0, bits})
	}
	mustDecode(t, rawFrame(seqBlock(2, 0x05)), []byte("ababa"), nil)
	for name, c := range map[string]struct {
		frame []byte
		want  string
	}{
		"reserved frame header bit": {cat(magic, []byte{0x08, 13 << 3}, blockHeader(true, 0, 0)), "reserved bit set in the frame header"},
		"reserved block type":       {rawFrame(blockHeader(true, 3, 0)), "reserved block type"},
		"raw block over 128 KiB":    {rawFrame(blockHeader(true, 0, 128<<10+1), make([]byte, 128<<10+1)), "block of 131073 bytes"},
		"RLE block over 128 KiB":    {rawFrame(blockHeader(true, 1, 128<<10+1), []byte{1}), "block of 131073 bytes"},
		"compressed over 128 KiB":   {rawFrame(blockHeader(true, 2, 128<<10+1), make([]byte, 128<<10+1)), "block of 131073 bytes"},
		"block over the window":     {cat(magic, []byte{0x00, 0x00}, blockHeader(true, 0, 1025), make([]byte, 1025)), "at most 1024"},
		"more than its size":        {cat(magic, []byte{0x80, 13 << 3, 3, 0, 0, 0}, blockHeader(true, 0, 4), []byte("abcd")), "more than the 3 bytes"},
		"less than its size":        {cat(magic, []byte{0x20, 5}, blockHeader(true, 0, 4), []byte("abcd")), "frame holds 4 bytes, its header declares 5"},
		"not a frame":               {[]byte("this is not zstd at all"), "not a zstd frame"},
		"garbage after a frame":     {cat(rawFrame(blockHeader(true, 0, 1), []byte("a")), []byte("junk")), "not a zstd frame"},
		"empty input":               {nil, "empty input"},
		"reserved sequence modes":   {rawFrame(blockHeader(true, 2, 6), []byte{2 << 3, 'a', 'b', 1, 0x01, 0x80}), "reserved bits set in the sequences header"},
		"repeat mode, no table":     {rawFrame(blockHeader(true, 2, 6), []byte{2 << 3, 'a', 'b', 1, 0xfc, 0x80}), "repeated sequence table without a previous one"},
		"no sequences, bytes after": {rawFrame(blockHeader(true, 2, 5), []byte{2 << 3, 'a', 'b', 0, 0}), "bytes after an empty sequences section"},
		"treeless, no tree":         {rawFrame(blockHeader(true, 2, 5), []byte{3, 0x10, 0, 0x80, 0}), "treeless literals without a previous Huffman tree"},
		"code out of range":         {rawFrame(blockHeader(true, 2, 7), []byte{0, 1, 0x54, 0x00, 0x20, 0x04, 0x01}), "sequence code 32 out of range"},
		"offset before the start":   {rawFrame(seqBlock(5, 0x20)), "offset 29 before the start of the frame"},
		"bits left over":            {rawFrame(seqBlock(2, 0x0a)), "does not end with the last sequence"},
		"literals over the block":   {cat(magic, []byte{0x00, 0x00}, blockHeader(true, 2, 3), []byte{0x0c, 0x7d, 0}), "2000 literals in a block of at most 1024 bytes"},
	} {
		got, err := decode(c.frame, nil)
		if err == nil {
			t.Errorf("%s: decoded %q, no error", name, got)
			continue
		}
		wantError(t, err, zstd.ErrCorrupt)
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want it to say %q", name, err, c.want)
		}
	}
}

// TestLiteralsAtBlockEnd decodes a hand-made 128 KiB compressed block
// whose raw literals run to within a few bytes of its end, with a short
// literal copy at their very end: the decoder's copies that read past the
// literals must stay inside its buffers.
func TestLiteralsAtBlockEnd(t *testing.T) {
	regen := 131055 // raw literals: most of the block
	lits := random(regen, 31)
	// Two sequences, literal lengths from the predefined table (state
	// 60 is code 35: 65536 and 16 extra bits; state 2 is code 1), offset
	// code 0 and match length code 0 as RLE: 131054 literals and 3 bytes
	// from offset 1, then 1 literal and 3 bytes from offset 1.
	const s0, extra, s1 = 60, 131054 - 65536, 2
	bits := uint32(1<<28 | s0<<22 | extra<<6 | s1)
	seqs := []byte{2, 0x14, 0, 0, byte(bits), byte(bits >> 8), byte(bits >> 16), byte(bits >> 24)}
	litHeader := []byte{byte(regen&15)<<4 | 0x0c, byte(regen >> 4), byte(regen >> 12)}
	block := cat(litHeader, lits, seqs)
	frame := rawFrame(blockHeader(true, 2, len(block)), block)
	a, b := lits[131053], lits[131054]
	want := cat(lits[:131054], []byte{a, a, a, b, b, b, b})
	mustDecode(t, frame, want, nil)
}
