package resume

import (
	"math"
	"os"
	"testing"
)

// TestMain makes every source of the package's tests a slow one, whose
// first connection is measured over its first 32 KiB, one buffer of a range: the tests of ranges
// are about several connections at once, which a fetch into a file opens
// only where one is slow (measuredOne). TestRangesFastConnectionStaysAlone
// puts the shipped values back.
func TestMain(m *testing.M) {
	oneConnFast, measureBytes, rangeBufSize = math.Inf(1), 32<<10, 32<<10
	os.Exit(m.Run())
}
