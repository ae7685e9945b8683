package manifest

// Event reports the progress of one blob or manifest.
type Event struct {
	Desc  Descriptor
	State State
	Bytes int64 // bytes moved so far, for StateProgress and StateDone
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
