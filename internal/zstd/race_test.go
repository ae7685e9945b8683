//go:build race

package zstd_test

// raceEnabled is true under -race, where decoding is several times slower:
// the largest differential cases are left to the runs without it.
const raceEnabled = true
