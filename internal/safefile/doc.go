// Package safefile creates, reuses and replaces the files skiff names
// itself: partial files and their checkpoints beside an output, temporary
// files that become an output, a layout's blobs and index.json, the
// registry server's files, and skiff's own state. It is the one place
// where skiff writes a file, so every writer has the same guarantees.
//
// Other local users may be able to write where skiff writes (the system
// temporary directory, a shared mirror, a USB stick), and skiff often runs
// as root. So nothing here follows a symbolic link in the last element of
// a name, or writes through a hard link, and a file an earlier run left is
// reused only when it is a regular file owned by the effective user with
// one link, checked on the open file, not by a separate look beforehand.
// Anything else found under a name skiff invents (a symbolic link, dangling
// or not; a hard link; a FIFO, device or directory; another user's file)
// is removed without being followed, reported in one line (see
// SetReporter), and replaced by a new file created with O_EXCL. Names are
// resolved through an os.Root, so no name given to a Dir resolves outside
// it. A new file appears under its final name only by a rename, which
// replaces what is there and never writes through it.
//
// A directory skiff invents (a partial layout, --no-tar's partial output)
// is continued by ReuseDir only when it is the effective user's and no one
// else can write it, and files in it are then opened through it. A
// temporary file skiff reads again by name is checked to be the same
// file (Reopen). Directories skiff keeps its own state in are made by
// MkdirPrivate: mode 0700, and refused when another user owns them or can
// write them.
package safefile
