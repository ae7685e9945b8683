//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

// groupServe names skiff sync of a repository of serveTags tags from
// registry A into skiff's own registry server and into the CNCF
// distribution registry, timed side by side in each run (issue 29).
const groupServe = "serve"

// serveTags is how many tags the mirrored repository holds: each one a
// manifest, a config and a small layer of its own over a shared base, so
// that the time goes to what a registry does per tag.
const serveTags = 1000

// maxServeRatio is issue 29's target: skiff sync into skiff registry serve
// takes at most this many times as long as into distribution 2.8.
const maxServeRatio = 1.5

// serveDest is a registry skiff syncs into.
type serveDest struct {
	name string
	proc *registryProc
}

// The destinations, by name in the report.
const (
	destDistribution = "distribution 2.8 (docker-registry)"
	destV3           = "distribution 3"
	destSkiff        = "skiff registry serve"
)

// serveSyncs seeds the repository, starts the destinations afresh, and
// syncs the repository into each of them once per run, in an order that
// rotates from run to run, each time into a namespace of its own.
func (h *harness) serveSyncs(ctx context.Context, res *results) error {
	src := h.fix.a + "/bench/tags"
	fmt.Fprintf(os.Stderr, "seeding %d tags into %s\n", serveTags, src)
	if err := seedManyTags(ctx, src, serveTags); err != nil {
		return err
	}
	dests, err := h.startServeDests(ctx)
	defer func() {
		for _, d := range dests {
			d.proc.stop()
		}
	}()
	if err != nil {
		return err
	}
	res.serve = map[string][]sample{}
	for r := range h.opts.runs {
		for i := range dests {
			d := dests[(i+r)%len(dests)]
			ns := fmt.Sprintf("%s/run%d", d.proc.host, r)
			s, err := h.run.measure(ctx, h.toolPath("skiff"), "sync", src, ns)
			if err == nil {
				err = checkTags(ctx, ns+"/bench/tags", serveTags)
			}
			if err != nil {
				return fmt.Errorf("sync into %s: %w", d.name, err)
			}
			res.serve[d.name] = append(res.serve[d.name], s)
			fmt.Fprintf(os.Stderr, "serve   run %d  %-36s %s\n", r+1, d.name, s.wall.Round(time.Millisecond))
		}
	}
	for _, d := range dests {
		res.serveDests = append(res.serveDests, d.name)
	}
	return nil
}

// startServeDests starts a fresh docker-registry, distribution v3 when it
// is installed, and skiff registry serve.
func (h *harness) startServeDests(ctx context.Context) ([]serveDest, error) {
	var dests []serveDest
	reg, err := exec.LookPath("docker-registry")
	if err != nil {
		return nil, err
	}
	p, err := startRegistry(ctx, reg, filepath.Join(h.work, "serve-distribution"))
	if err != nil {
		return nil, err
	}
	dests = append(dests, serveDest{destDistribution, p})
	if v3 := findV3(); v3 != "" {
		p, err := startRegistry(ctx, v3, filepath.Join(h.work, "serve-v3"))
		if err != nil {
			fmt.Fprintf(os.Stderr, "distribution v3 (%s) did not start, left out: %v\n", v3, err)
		} else {
			dests = append(dests, serveDest{destV3, p})
		}
	}
	p, err = startSkiffServe(ctx, h.toolPath("skiff"), filepath.Join(h.work, "serve-skiff"))
	if err != nil {
		return dests, err
	}
	return append(dests, serveDest{destSkiff, p}), nil
}

// findV3 is distribution v3's binary: on PATH, as .ci/run puts it, or
// where this machine keeps it.
func findV3() string {
	if p, err := exec.LookPath("distribution-registry-v3"); err == nil {
		return p
	}
	if _, err := os.Stat("/opt/tools/v3/distribution-registry-v3"); err == nil {
		return "/opt/tools/v3/distribution-registry-v3"
	}
	return ""
}

// startSkiffServe runs skiff registry serve on a fresh root and waits
// until it answers GET /v2/.
func startSkiffServe(ctx context.Context, skiff, dir string) (*registryProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r := &registryProc{host: fmt.Sprintf("127.0.0.1:%d", port), log: &bytes.Buffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(skiff, "registry", "serve", "--root", dir, "--addr", r.host)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting skiff registry serve: %w", err)
	}
	go func() { r.cmd.Wait(); close(r.done) }()
	if err := r.waitReady(ctx); err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}

// seedManyTags pushes n tags to src, eight at a time: a shared 64 KiB
// base layer, then for every tag a 2 KiB layer of its own, a config and a
// manifest.
func seedManyTags(ctx context.Context, src string, n int) error {
	ref, err := reference.ParseName(src)
	if err != nil {
		return err
	}
	repo := (&registry.Client{}).Repository(ref)
	base, baseID, err := pushLayer(ctx, repo, random(64*kib), 600)
	if err != nil {
		return err
	}
	p, _ := manifest.ParsePlatform("linux/amd64")
	work := make(chan int)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for t := range work {
				if err := seedTag(ctx, repo, base, baseID, p, t); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for t := 0; t < n; t++ {
		select {
		case work <- t:
		case err := <-errs:
			close(work)
			wg.Wait()
			return err
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func seedTag(ctx context.Context, repo *registry.Repository, base manifest.Descriptor, baseID manifest.Digest, p manifest.Platform, t int) error {
	own, ownID, err := pushLayer(ctx, repo, random(2*kib), 10000+uint64(t))
	if err != nil {
		return err
	}
	doc, cfg, err := compose([]manifest.Digest{baseID, ownID}, []manifest.Descriptor{base, own}, p)
	if err == nil {
		err = repo.Push(ctx, doc.Manifest.Config, bytes.NewReader(cfg))
	}
	if err == nil {
		err = testimage.PushDocument(ctx, repo, doc, fmt.Sprintf("1.0.%d", t))
	}
	if err != nil {
		return fmt.Errorf("seeding tag %d: %w", t, err)
	}
	return nil
}

// checkTags fails unless the repository name holds want tags.
func checkTags(ctx context.Context, name string, want int) error {
	ref, err := reference.ParseName(name)
	if err != nil {
		return err
	}
	tags, err := (&registry.Client{}).Repository(ref).Tags(ctx)
	if err != nil {
		return err
	}
	if len(tags) != want {
		return fmt.Errorf("%s has %d tags, want %d", name, len(tags), want)
	}
	return nil
}

// serveTable shows each destination's median wall time and its ratio to
// distribution 2.8's.
func (r *results) serveTable() string {
	var b strings.Builder
	row(&b, []string{"destination", "median wall", "runs", "× " + destDistribution})
	row(&b, []string{"---", "---:", "---", "---:"})
	ref := medianWall(r.serve[destDistribution])
	for _, name := range r.serveDests {
		ss := r.serve[name]
		m := medianWall(ss)
		var walls []string
		for _, s := range ss {
			walls = append(walls, fmtSeconds(s.wall))
		}
		row(&b, []string{name, fmtSeconds(m), strings.Join(walls, ", "), fmt.Sprintf("%.2f×", m.Seconds()/ref.Seconds())})
	}
	return b.String()
}

// serveTarget checks issue 29's target for skiff registry serve.
func (r *results) serveTarget() target {
	t := target{goal: fmt.Sprintf("issue 29: skiff sync of %d tags into skiff registry serve: wall ≤ %.2g× into %s", serveTags, maxServeRatio, destDistribution)}
	skiff, dist := r.serve[destSkiff], r.serve[destDistribution]
	if len(skiff) == 0 || len(dist) == 0 {
		return t
	}
	x := medianWall(skiff).Seconds() / medianWall(dist).Seconds()
	t.known, t.pass, t.measured = true, x <= maxServeRatio, fmt.Sprintf("%.2f× (%s against %s)", x, fmtSeconds(medianWall(skiff)), fmtSeconds(medianWall(dist)))
	return t
}

func medianWall(ss []sample) time.Duration {
	if len(ss) == 0 {
		return 0
	}
	walls := make([]time.Duration, len(ss))
	for i, s := range ss {
		walls[i] = s.wall
	}
	slices.Sort(walls)
	return walls[len(walls)/2]
}

func fmtSeconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
