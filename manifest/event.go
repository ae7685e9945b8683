package manifest

import "strconv"

// Event reports the progress of one blob or manifest, and of the whole
// transfer it is part of.
type Event struct {
	Desc  Descriptor
	State State
	Bytes int64 // bytes of Desc moved so far, for StateProgress and StateDone

	// Transfer sums up the whole transfer as of this event: a copy
	// (images.Copy, CopyGraph, CopyBlobs), an image or index written
	// (Image.Write, Index.Write) or a tarball (tarball.Write, WriteFile,
	// WriteDir) fill it in; it is zero in the events of ObserveFetcher
	// and ObserveReader alone.
	Transfer Totals
}

// Totals sum up a transfer's blobs (configs, layers and other blobs;
// not manifests or indexes): how many there are and their bytes, and how
// many are done and how many of their bytes. A blob is done once moved,
// found in the destination, mounted or skipped; a blob found, mounted or
// skipped counts all its bytes. The counts only grow, and once the
// transfer is done an event has BlobsDone == Blobs and BytesDone == Bytes;
// events of transfers running at once may arrive out of order, so the
// largest counts seen are the latest.
type Totals struct {
	Blobs, BlobsDone int
	Bytes, BytesDone int64
}

// State is the stage of a transfer an Event reports.
type State int

// The states of a transfer.
const (
	StateStart    State = iota // bytes are about to move
	StateProgress              // Bytes moved so far
	StateDone                  // all bytes moved and verified
	StateExists                // the destination had it
	StateMounted               // the destination mounted it from the source
	StateSkipped               // a foreign layer left out
)

var stateNames = [...]string{"start", "progress", "done", "exists", "mounted", "skipped"}

// String returns the state's name: "start", "progress", "done", "exists",
// "mounted" or "skipped".
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}
