// Package resume keeps the state of interrupted transfers on disk, so that
// the next run of the same transfer continues where the last one stopped,
// even after the process was killed or the power was cut.
//
// A transfer writes each blob into a region of a file (a slot in a
// tarball, or a blob file of its own) and, every Interval bytes, saves a
// Checkpoint for it: how many bytes are written and the hash state of
// those bytes. The checkpoints of one output live in a State file, found
// by a name derived from the output, with a key derived from what is
// being written: a run for other content discards them. On the next run,
// Fill hashes the bytes on disk again and continues from a checkpoint only
// when the hash matches, so bytes damaged or lost between runs are fetched
// again and never reach a final name unverified.
//
// Partial files are named after their output, ".NAME.skiff-partial" with
// ".NAME.skiff-state" beside it, so any number of interrupted runs leave
// one set; Sweep removes the sets older than an age limit. They are
// opened through a safefile.Dir: an earlier run's file is continued only
// when it is a regular file of the user running skiff with one link, and
// anything else under those names is removed, never followed.
package resume
