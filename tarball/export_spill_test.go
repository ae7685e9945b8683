package tarball_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"path"
	"testing"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/tarball"
)

// randomLayers makes layers of entries on a few names, so that they
// overlap: files, directories, symlinks, whiteouts, opaque markers and
// hard links, mostly to files made before.
func randomLayers(t testing.TB, rng *rand.Rand, layers, entries int) [][]byte {
	names := []string{"a", "b", "c", "d/e", "d/f", "d/g/h", "i/j", "k"}
	name := func() string { return names[rng.IntN(len(names))] + fmt.Sprint(rng.IntN(3)) }
	files := []string{"nowhere"} // a link to it dangles
	var out [][]byte
	for range layers {
		var es []tEntry
		for range entries {
			switch n := name(); rng.IntN(12) {
			case 0:
				es = append(es, tDir(n+"/"))
			case 1:
				es = append(es, tSym(n, name()))
			case 2, 3:
				es = append(es, tHard(n, files[len(files)-1-rng.IntN(min(len(files), 4))]))
				files = append(files, n)
			case 4:
				es = append(es, tReg(path.Join(path.Dir(n), ".wh."+path.Base(n)), ""))
			case 5:
				es = append(es, tReg(path.Join(path.Dir(n), ".wh..wh..opq"), ""))
			default:
				es = append(es, tReg(n, "data of "+n))
				files = append(files, n)
			}
		}
		out = append(out, testtool.Tar(t, es...))
	}
	return out
}

// TestFlattenSpillsTheSame: with room in memory for 4 paths and 256 bytes
// of hard links, so that both move to temporary files at once, Flatten
// writes byte for byte what it writes with everything in memory, or
// fails with the same error, over layers of whiteouts, opaque
// directories and hard links of every kind.
func TestFlattenSpillsTheSame(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 5))
	const cases = 300
	failed := 0
	for i := range cases {
		layers := randomLayers(t, rng, 1+rng.IntN(4), 1+rng.IntN(40))
		var inMem, spilled bytes.Buffer
		err1 := tarball.Flatten(context.Background(), &inMem, openers(layers...), nil)
		restore := tarball.SetSpill(4, 256)
		err2 := tarball.Flatten(context.Background(), &spilled, openers(layers...), nil)
		restore()
		if fmt.Sprint(err1) != fmt.Sprint(err2) || !bytes.Equal(inMem.Bytes(), spilled.Bytes()) {
			t.Fatalf("case %d: in memory %v, %d bytes; spilled %v, %d bytes", i, err1, inMem.Len(), err2, spilled.Len())
		}
		if err1 != nil {
			failed++
		}
	}
	if failed > cases/3 {
		t.Fatalf("%d of %d cases failed to flatten: too few compare outputs", failed, cases)
	}
}
