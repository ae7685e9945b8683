package resume

import (
	"math"
	"os"
	"testing"
)

// TestMain makes every source of the package's tests a slow one, whose
// first connection is measured over its first buffer of 32 KiB: the tests of ranges
// are about several connections at once, which a fetch into a file opens
// only where one is slow (measuredOne). TestRangesFastConnectionStaysAlone
// puts the shipped values back.
func TestMain(m *testing.M) {
	oneConnFast, measureTime, rangeBufSize = math.Inf(1), 0, 32<<10
	os.Exit(m.Run())
}
