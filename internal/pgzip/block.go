package pgzip

import (
	"bytes"
	"compress/flate"
	"sync"
)

// A block is one piece of the input and, once compressed, its piece of the
// deflate stream.
type block struct {
	data  []byte // input
	dict  []byte // up to dictSize bytes of input just before data
	final bool   // the last block: ends the deflate stream

	out  bytes.Buffer  // compressed; the first block's starts with the header
	err  error         // from compress/flate
	done chan struct{} // receives once when out and err are set
}

// compress deflates the block with the given level. A block other than the
// last ends with a sync flush, so the next block's bytes can follow it.
//
// Below level 2 (BestSpeed, HuffmanOnly) compress/flate ignores a preset
// dictionary, so there fw, a
// compressor the calling goroutine kept from its last block, is Reset and
// reused instead of allocating a new one (as much memory as a block) each
// time. The compressor to keep is returned.
func (b *block) compress(level int, fw *flate.Writer) *flate.Writer {
	b.out.Grow(len(b.data) + len(b.data)>>6 + 64)
	usesDict := level >= 2 || level == flate.DefaultCompression
	var err error
	switch {
	case usesDict:
		fw, err = flate.NewWriterDict(&b.out, level, b.dict)
	case fw == nil:
		fw, err = flate.NewWriter(&b.out, level)
	default:
		fw.Reset(&b.out)
	}
	if err == nil {
		_, err = fw.Write(b.data)
	}
	if err == nil && b.final {
		err = fw.Close()
	} else if err == nil {
		err = fw.Flush()
	}
	b.err = err
	if usesDict || err != nil {
		return nil
	}
	return fw
}

// A pool compresses submitted blocks in order on at most max goroutines,
// started when there is work and gone when there is none, so an abandoned
// Writer leaves nothing running.
type pool struct {
	max   int
	level int

	mu      sync.Mutex
	queue   []*block
	running int
	spare   []*flate.Writer // kept by retired goroutines for the next ones
}

func (p *pool) submit(b *block) {
	p.mu.Lock()
	p.queue = append(p.queue, b)
	start := p.running < p.max
	if start {
		p.running++
	}
	p.mu.Unlock()
	if start {
		go p.work()
	}
}

func (p *pool) work() {
	var fw *flate.Writer
	for {
		var b *block
		if b, fw = p.next(fw); b == nil {
			return
		}
		fw = b.compress(p.level, fw)
		b.done <- struct{}{}
	}
}

// next takes the oldest waiting block, and a spare compressor if the
// goroutine has none. When no block waits it retires the goroutine, keeping
// its compressor.
func (p *pool) next(fw *flate.Writer) (*block, *flate.Writer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 {
		p.running--
		if fw != nil {
			p.spare = append(p.spare, fw)
		}
		return nil, nil
	}
	b := p.queue[0]
	p.queue[0] = nil
	p.queue = p.queue[1:]
	if n := len(p.spare); fw == nil && n > 0 {
		fw = p.spare[n-1]
		p.spare = p.spare[:n-1]
	}
	return b, fw
}
