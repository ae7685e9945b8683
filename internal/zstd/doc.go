// Package zstd decodes Zstandard streams (RFC 8878) with nothing but the
// standard library. It is the reader behind skiff's zstd layers
// (application/vnd.oci.image.layer.v1.tar+zstd).
//
// A Reader decodes one or more concatenated frames: raw, RLE and compressed
// blocks; raw, RLE and Huffman-coded literals (one or four streams, and the
// tree-less mode that repeats the previous tree); FSE-coded sequences in
// predefined, RLE, compressed and repeat modes; repeat offsets; and the
// optional content checksum (XXH64), which is verified. Skippable frames
// (RFC 8878 section 3.1.2), where zstd:chunked keeps its metadata, are read
// past and ignored. Frames that need a dictionary are refused with
// ErrDictionary, naming the dictionary's ID.
//
// # Bounds
//
// Memory follows the frame's window: a Reader holds at most the window
// (capped by the frame's content size when the header gives one), plus a
// few buffers of one block (128 KiB) each, however long the stream. A frame
// whose window is larger than Options.MaxWindow (DefaultMaxWindow, 128 MiB,
// when zero) is refused with ErrWindowTooLarge before anything is
// allocated. Hostile input gets an error wrapping ErrCorrupt, ErrChecksum
// or io.ErrUnexpectedEOF, never a panic: every table index, bit count,
// offset and length is checked, and every loop either consumes input or
// produces output.
//
// See https://www.rfc-editor.org/rfc/rfc8878 for the format and
// https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md for XXH64.
package zstd
