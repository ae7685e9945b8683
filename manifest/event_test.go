package manifest_test

import (
	"testing"

	"github.com/skiffoci/skiff/manifest"
)

func TestStateString(t *testing.T) {
	for s, want := range map[manifest.State]string{
		manifest.StateStart: "start", manifest.StateProgress: "progress", manifest.StateDone: "done",
		manifest.StateExists: "exists", manifest.StateMounted: "mounted", manifest.StateSkipped: "skipped",
		manifest.State(42): "State(42)", manifest.State(-1): "State(-1)",
	} {
		if got := s.String(); got != want {
			t.Errorf("State(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}
