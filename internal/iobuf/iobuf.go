// Package iobuf copies blobs through large pooled buffers.
//
// io.Copy moves 32 KiB at a time, and an *os.File destination makes it
// ignore any buffer it is given (File.ReadFrom falls back to 32 KiB
// too). A layer is hundreds of MiB: at 32 KiB each read, hash and write
// is a system call or a call into SHA-256 eight times more often than at
// 256 KiB, which measured as a fifth of the wall time of a pull.
package iobuf

import (
	"context"
	"io"
	"sync"
)

// Size is the size of the buffers Copy uses.
const Size = 256 << 10

var pool = sync.Pool{New: func() any { b := make([]byte, Size); return &b }}

// Copy copies from r to w until EOF or an error, as io.Copy does, in
// reads of up to Size bytes. It never uses w's ReadFrom or r's WriteTo,
// so the buffer size holds whatever w and r are.
func Copy(w io.Writer, r io.Reader) (int64, error) {
	buf := pool.Get().(*[]byte)
	defer pool.Put(buf)
	return io.CopyBuffer(writerOnly{w}, readerOnly{r}, *buf)
}

type writerOnly struct{ io.Writer }

type readerOnly struct{ io.Reader }

// ContextReader returns a reader of r whose reads fail with ctx's error
// once ctx is done, so a long copy stops between two reads.
func ContextReader(ctx context.Context, r io.Reader) io.Reader {
	return ctxReader{ctx, r}
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
