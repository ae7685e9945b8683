// Package spill remembers more than fits in memory: a [Table] from keys
// to numbers and an append-only [Log], each held in memory up to a bound
// and beyond it in a temporary file that is removed when it is closed (at
// once, on systems that let an open file be removed). Flatten uses them
// to remember every path of a filesystem and every hard link waiting for
// its target, so that its memory does not grow with the number of entries
// of a layer.
//
// Keys are 128-bit fingerprints of strings ([KeyOf]), so a table holds 24
// bytes per entry whatever the length of the path; the seeds of the hash
// are chosen at random for each process, so no input can be made to
// collide on purpose.
//
// Errors of the temporary file (a full disk) are sticky: the methods that
// cannot return one make the table or log return nothing more, and Err
// reports it.
package spill
