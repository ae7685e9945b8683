// Command seed pushes a generated test image to a registry, for the
// comparison benchmarks: go run ./internal/bench/seed -layers 64,64,64,64,64 HOST/REPO:TAG
// Sizes are MiB of random (incompressible) data unless -compressible.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

func main() {
	layers := flag.String("layers", "64,64,64,64,64", "comma-separated layer sizes in MiB")
	kib := flag.Bool("kib", false, "sizes are KiB, not MiB")
	compressible := flag.Bool("compressible", false, "repetitive layer data instead of random")
	seed := flag.Uint64("seed", 1, "varies the contents")
	flag.Parse()
	if err := run(flag.Arg(0), *layers, *kib, *compressible, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func run(name, layers string, kib, compressible bool, seed uint64) error {
	ref, err := reference.Parse(name)
	if err != nil {
		return err
	}
	unit := 1 << 20
	if kib {
		unit = 1 << 10
	}
	var sizes []int
	for _, s := range strings.Split(layers, ",") {
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("bad size %q", s)
		}
		sizes = append(sizes, n*unit)
	}
	im, err := testimage.New(testimage.Options{LayerSizes: sizes, Compressible: compressible, Seed: seed, Docker: true})
	if err != nil {
		return err
	}
	repo := (&registry.Client{}).Repository(ref)
	if err := testimage.Push(context.Background(), repo, im, ref.Tag); err != nil {
		return err
	}
	var total int64
	for _, l := range im.Layers {
		total += int64(len(l))
	}
	fmt.Printf("%s %s %d layers %d bytes compressed\n", ref, im.Manifest.Digest, len(im.Layers), total)
	return nil
}
