package spill

import "fmt"

// DefaultMemBytes is how many bytes a Log holds in memory before it moves
// them to a file.
const DefaultMemBytes = 1 << 20

// A Log is an append-only sequence of bytes: records appended and read
// back by their offset. The zero value is an empty log that keeps
// DefaultMemBytes in memory and the rest in a file of os.TempDir. Close
// removes the file.
type Log struct {
	// MemBytes bounds the bytes held in memory; zero means
	// DefaultMemBytes. Set it before the first Append.
	MemBytes int
	// Dir is where the file goes; empty means os.TempDir().
	Dir string

	mem  []byte
	file *tempFile
	size int64
	err  error
}

// Append adds p at the end of the log and returns its offset. After an
// error it does nothing.
func (l *Log) Append(p []byte) int64 {
	off := l.size
	if l.err != nil {
		return off
	}
	limit := l.MemBytes
	if limit <= 0 {
		limit = DefaultMemBytes
	}
	if l.file == nil && len(l.mem)+len(p) > limit {
		l.toDisk()
	}
	switch {
	case l.err != nil:
	case l.file == nil:
		l.mem = append(l.mem, p...)
	default:
		l.WriteAt(p, off)
	}
	l.size += int64(len(p))
	return off
}

// toDisk moves the bytes held in memory to a file.
func (l *Log) toDisk() {
	f, err := createTemp(l.Dir)
	if err == nil {
		if _, err = f.WriteAt(l.mem, 0); err != nil {
			f.close()
			err = fmt.Errorf("spill: %w", err)
		}
	}
	if err != nil {
		l.err = err
		return
	}
	l.file, l.mem = f, nil
}

// ReadAt reads len(p) bytes that were appended, from offset off. Its
// errors, like those of Append, are sticky.
func (l *Log) ReadAt(p []byte, off int64) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if off < 0 || off+int64(len(p)) > l.size {
		l.err = fmt.Errorf("spill: reading %d bytes at %d of a log of %d", len(p), off, l.size)
		return 0, l.err
	}
	if l.file == nil {
		return copy(p, l.mem[off:]), nil
	}
	n, err := l.file.ReadAt(p, off)
	if err != nil {
		l.err = fmt.Errorf("spill: %w", err)
	}
	return n, l.err
}

// WriteAt replaces bytes already appended, from offset off, with p. After
// an error it does nothing.
func (l *Log) WriteAt(p []byte, off int64) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if l.file == nil {
		return copy(l.mem[off:], p), nil
	}
	n, err := l.file.WriteAt(p, off)
	if err != nil {
		l.err = fmt.Errorf("spill: %w", err)
	}
	return n, l.err
}

// Size returns the number of bytes appended.
func (l *Log) Size() int64 { return l.size }

// Err returns the first error of the log's file, if any.
func (l *Log) Err() error { return l.err }

// Close releases the log and removes its file; it is empty afterwards.
func (l *Log) Close() error {
	var err error
	if l.file != nil {
		err = l.file.close()
	}
	l.mem, l.file, l.size, l.err = nil, nil, 0, nil
	return err
}
