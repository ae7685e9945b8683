// Package pgzip writes gzip streams (RFC 1952) on every core, the way pigz
// does.
//
// The input is cut into blocks of a fixed size. Each block is compressed on
// its own goroutine by compress/flate, primed with the 32 KiB of input that
// precede it as a preset dictionary, and ended with a sync flush (RFC 1951
// section 3.2.3: an empty stored block brings the stream to a byte
// boundary); the last block is ended with a final block instead. Written
// one after another, the blocks form a single deflate stream that any gzip
// reader accepts, and the CRC-32 and length of the whole input close it.
//
// The output depends only on the input, the block size and the level: not
// on how many goroutines compress it, on the order they finish in, or on
// how the input is split across calls to Write. Like the gzip writers the
// rest of skiff uses, the header has a zero modification time, no name and
// the OS byte 255 ("unknown"), so the same layer gives the same digest
// everywhere.
//
// At most about twice as many blocks as workers are held in memory at once,
// however long the input.
//
// See https://www.rfc-editor.org/rfc/rfc1952 and
// https://www.rfc-editor.org/rfc/rfc1951.
package pgzip
