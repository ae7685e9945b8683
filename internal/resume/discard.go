package resume

import (
	"errors"
	"io/fs"
	"os"
)

// Discard removes the file at path, if there is one, so that a partial
// file is started anew by creating it. Partial files are never emptied by
// truncating them to zero: ext4 (auto_da_alloc, on by default) then takes
// the file for one being replaced and, when it is closed, allocates and
// starts writing back every dirty page of it in the closing thread. That
// close took 110 ms at the end of a pull of a 470 MiB image, a fifth of
// the pull.
func Discard(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
