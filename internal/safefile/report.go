package safefile

import "sync/atomic"

var reporter atomic.Pointer[func(string)]

// SetReporter makes report receive one line for each thing removed from
// under a name skiff invents because it was not a file of skiff's own (a
// planted link, another user's file). cmd/skiff sends the lines to
// stderr; with no reporter they are dropped. It returns a function that
// restores the previous reporter.
func SetReporter(report func(line string)) (restore func()) {
	var p *func(string)
	if report != nil {
		p = &report
	}
	old := reporter.Swap(p)
	return func() { reporter.Store(old) }
}

func reportf(line string) {
	if p := reporter.Load(); p != nil {
		(*p)(line)
	}
}
