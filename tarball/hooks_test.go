package tarball

// SetSpill makes Flatten keep at most entries paths and bytes of hard
// links in memory before it moves them to a temporary file, until the
// returned function restores the defaults.
func SetSpill(entries, bytes int) (restore func()) {
	spillEntries, spillBytes = entries, bytes
	return func() { spillEntries, spillBytes = 0, 0 }
}
