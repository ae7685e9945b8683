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
// # Large blobs in ranges
//
// One TCP connection moves at most its window per round trip, and CDNs cap
// each connection: a large blob from a source that serves bounded ranges
// (Slot.Ranges, a registry) is fetched as ranges of RangeSize over several
// connections at once, each written at its offset in the slot. The prefix
// of bytes written without a gap is hashed in order as it grows: the
// connection that writes at its end hashes its own buffer, and bytes that
// ranges wrote further on are read back from the file when the prefix
// reaches them, never more than a window (12 ranges) ahead. The blob is
// verified at the end as a streamed one is, and the spans written beyond
// the prefix are checkpointed with their CRC-32C, so that the next run
// keeps every range and fetches only the gaps. A source that answers
// ranges with the whole blob, or with other bytes, gets one stream.
//
// How many connections: a ranged fetch starts with one and measures it
// over the first 100 ms of its first range. A connection faster than
// 50 MB/s (loopback, a LAN) fetches the whole blob alone, the rest in one
// bounded range: more would only make the prefix's hash read back what
// they wrote ahead (measured: a loopback pull of two 1 GiB layers took
// 1.2–1.6 times as long). A slower one (a CDN's per-connection cap, a
// long link) gets four; then the fetch doubles them while the throughput
// grows by at least a quarter of what the new connections would carry
// (see adaptation), up to 8, and goes back when it does not. The connections come from the
// transfer's Conns, skiff's -j: every blob being filled holds one, and a
// ranged fetch borrows the free ones, range by range, giving each back
// when its range is written, so a blob waiting to start gets it first.
// With -j 4 and one large layer, the layer gets up to four connections;
// with four blobs in flight, a large one gets none more until the others
// are done.
//
// A reader that takes a blob in one stream, in order (an upload to
// another registry), gets it from a Stream, which starts as one stream
// and costs nothing more while the source keeps up with the reader. Once
// the reader waited for the source at least half of an epoch, in each of
// its halves, at less than a rate that holds a copy back, the rest comes as ranges of 2 MiB fetched into
// memory just beyond what it took, a range per connection, so that its
// memory stays under 6.5 MiB, over four connections, which give way to
// one stream again when they carry no more than 1.75 times what the one
// did. It keeps no state: its reader verifies.
//
// Partial files are named after their output, ".NAME.skiff-partial" with
// ".NAME.skiff-state" beside it, so any number of interrupted runs leave
// one set; Sweep removes the sets older than an age limit. They are
// opened through a safefile.Dir: an earlier run's file is continued only
// when it is a regular file of the user running skiff with one link, and
// anything else under those names is removed, never followed.
package resume
