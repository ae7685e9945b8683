// Package traptest plants, for tests, what a hostile local user leaves
// under a name skiff writes by: a symbolic link to a victim file, a
// dangling one, a hard link to the victim, a FIFO, a directory, another
// user's file. A Scene holds the output directory the traps go in and,
// beside it, the victim; Check then proves nothing outside the output
// changed. It is test-only code (Unix only): product code never imports
// it.
package traptest
