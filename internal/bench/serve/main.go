//go:build linux

// Command serve measures the peak memory of "skiff registry serve" while
// it receives a large blob (one PATCH, a monolithic PUT ?digest=, chunked
// PATCHes, a single POST ?digest=) and while it serves ten pulls of it at
// once, and writes the numbers to a section of internal/bench/RESULTS.md:
//
//	go run ./internal/bench/serve                       # 1 GiB, ten pulls
//	go run ./internal/bench/serve -size 64MiB -out -    # a quick look
//
// Every case runs against a fresh server process, built from this
// repository (or -skiff), whose peak resident set is read from
// /proc/PID/status (VmHWM) before it is stopped; the target is 32 MiB.
// The blob is made of pseudo-random bytes generated as they are sent, so
// the harness holds none of it either.
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const targetKiB = 32 << 10

type options struct {
	size, chunk int64
	pulls       int
	skiff, out  string
	note        string
}

func main() {
	var o options
	var size, chunk string
	flag.StringVar(&size, "size", "1GiB", "the blob's size (KiB, MiB, GiB suffixes)")
	flag.StringVar(&chunk, "chunk", "64MiB", "the size of each PATCH in the chunked case")
	flag.IntVar(&o.pulls, "pulls", 10, "pulls served at once")
	flag.StringVar(&o.skiff, "skiff", "", "the skiff binary to measure (default: build this repository's)")
	flag.StringVar(&o.note, "note", "", "a note to print with the results")
	flag.StringVar(&o.out, "out", "internal/bench/RESULTS.md", `the file whose serve section to write ("-": stdout only)`)
	flag.Parse()
	var err error
	if o.size, err = parseSize(size); err == nil {
		o.chunk, err = parseSize(chunk)
	}
	if err == nil {
		err = run(context.Background(), &o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "serve bench:", err)
		os.Exit(1)
	}
}

// result is one measured case.
type result struct {
	name     string
	wall     time.Duration
	peakKiB  int64
	bytes    int64
	failures string
}

func run(ctx context.Context, o *options) error {
	work, err := os.MkdirTemp("", "skiff-serve-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if o.skiff == "" {
		if o.skiff, err = build(ctx, work); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "hashing the %d-byte blob\n", o.size)
	d := blobDigest(o.size)
	var results []result
	for _, c := range uploadCases(o, d) {
		res, err := measure(ctx, o.skiff, filepath.Join(work, "root-"+c.slug), c.name, c.run)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		results = append(results, res)
		if c.slug != "patch" {
			os.RemoveAll(filepath.Join(work, "root-"+c.slug))
		}
	}
	pull := fmt.Sprintf("%d pulls of the blob at once", o.pulls)
	res, err := measure(ctx, o.skiff, filepath.Join(work, "root-patch"), pull, func(base string) (int64, error) {
		return pullAll(base, d, o.pulls, o.size)
	})
	if err != nil {
		return fmt.Errorf("pulls: %w", err)
	}
	results = append(results, res)
	return report(o, results)
}

// build compiles skiff as CI's plain stripped build does.
func build(ctx context.Context, work string) (string, error) {
	bin := filepath.Join(work, "skiff")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/skiff")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return bin, cmd.Run()
}

type uploadCase struct {
	name, slug string
	run        func(base string) (int64, error)
}

func uploadCases(o *options, d string) []uploadCase {
	mib := func(n int64) string { return strconv.FormatInt(n>>20, 10) + " MiB" }
	return []uploadCase{
		{"receive " + mib(o.size) + " by one PATCH, then PUT", "patch", func(base string) (int64, error) {
			return uploadPatch(base, d, o.size, o.size)
		}},
		{"receive " + mib(o.size) + " by a monolithic PUT ?digest=", "put", func(base string) (int64, error) {
			return uploadPut(base, d, o.size)
		}},
		{"receive " + mib(o.size) + " by PATCHes of " + mib(o.chunk), "chunks", func(base string) (int64, error) {
			return uploadPatch(base, d, o.size, o.chunk)
		}},
		{"receive " + mib(o.size) + " by a single POST ?digest=", "post", func(base string) (int64, error) {
			return do("POST", base+"/v2/bench/blob/blobs/uploads/?digest="+d, newBlob(0, o.size), o.size, 201)
		}},
	}
}

// measure starts a server on root, runs work against it, and reads the
// server's peak RSS before stopping it.
func measure(ctx context.Context, skiff, root, name string, work func(base string) (int64, error)) (result, error) {
	fmt.Fprintf(os.Stderr, "%s\n", name)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, skiff, "registry", "serve", "--root", root, "--addr", "127.0.0.1:0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return result{}, err
	}
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer func() {
		cancel() // SIGTERM
		cmd.Wait()
	}()
	base, err := listening(stderr)
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	n, werr := work(base)
	res := result{name: name, wall: time.Since(start), bytes: n}
	if res.peakKiB, err = peakRSS(cmd.Process.Pid); err != nil {
		return res, err
	}
	if werr != nil {
		res.failures = werr.Error()
	}
	return res, nil
}

// listening reads the server's stderr until it says where it listens,
// then drains the rest in the background.
func listening(r io.Reader) (string, error) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", fmt.Errorf("the server did not start: %w", err)
		}
		if _, rest, ok := strings.Cut(line, "serving "); ok {
			go io.Copy(io.Discard, br)
			base, _, _ := strings.Cut(rest, ",")
			return base, nil
		}
	}
}

// peakRSS reads VmHWM, the process's peak resident set, in KiB.
func peakRSS(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, errors.New("no VmHWM in /proc/PID/status")
}

// uploadPatch opens a session, sends the blob in PATCHes of chunk bytes
// with Content-Range, and closes it with an empty PUT ?digest=.
func uploadPatch(base, d string, size, chunk int64) (int64, error) {
	loc, err := startSession(base)
	if err != nil {
		return 0, err
	}
	for off := int64(0); off < size; off += chunk {
		n := min(chunk, size-off)
		req, _ := http.NewRequest("PATCH", loc, newBlob(off, n))
		req.ContentLength = n
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", off, off+n-1))
		if loc, err = send(req, 202); err != nil {
			return off, err
		}
	}
	_, err = do("PUT", addQuery(loc, "digest="+d), nil, 0, 201)
	return size, err
}

// uploadPut opens a session and sends the whole blob with its PUT.
func uploadPut(base, d string, size int64) (int64, error) {
	loc, err := startSession(base)
	if err != nil {
		return 0, err
	}
	return do("PUT", addQuery(loc, "digest="+d), newBlob(0, size), size, 201)
}

func startSession(base string) (string, error) {
	req, _ := http.NewRequest("POST", base+"/v2/bench/blob/blobs/uploads/", nil)
	return send(req, 202)
}

func addQuery(loc, q string) string {
	if strings.Contains(loc, "?") {
		return loc + "&" + q
	}
	return loc + "?" + q
}

// do sends body (n bytes) and wants status.
func do(method, url string, body io.Reader, n int64, status int) (int64, error) {
	req, _ := http.NewRequest(method, url, body)
	req.ContentLength = n
	if body == nil {
		req.Body = http.NoBody
	}
	_, err := send(req, status)
	return n, err
}

// send returns the answer's Location, or an error unless its status is
// want.
func send(req *http.Request, want int) (string, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != want {
		return "", fmt.Errorf("%s %s: %s %s", req.Method, req.URL.Path, resp.Status, msg)
	}
	return resp.Header.Get("Location"), nil
}

// pullAll GETs the blob pulls times at once and checks every byte count.
func pullAll(base, d string, pulls int, size int64) (int64, error) {
	var wg sync.WaitGroup
	errs := make([]error, pulls)
	for i := range pulls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = pull(base+"/v2/bench/blob/blobs/"+d, size)
		}()
	}
	wg.Wait()
	return int64(pulls) * size, errors.Join(errs...)
}

func pull(url string, size int64) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil && (resp.StatusCode != 200 || n != size) {
		err = fmt.Errorf("GET: %s, %d bytes of %d", resp.Status, n, size)
	}
	return err
}

// blob yields n pseudo-random bytes of the blob from offset off: the same
// bytes for the same offsets, made as they are read.
type blob struct{ off, end int64 }

func newBlob(off, n int64) io.Reader { return &blob{off: off, end: off + n} }

func (b *blob) Read(p []byte) (int, error) {
	if b.off >= b.end {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), b.end-b.off)]
	for i := range p {
		x := uint64(b.off+int64(i)) * 0x9e3779b97f4a7c15
		p[i] = byte(x>>56 ^ x>>29)
	}
	b.off += int64(len(p))
	return len(p), nil
}

func blobDigest(size int64) string {
	h := sha256.New()
	io.CopyBuffer(h, newBlob(0, size), make([]byte, 1<<20))
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func parseSize(s string) (int64, error) {
	for suffix, n := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if num, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseInt(num, 10, 64)
			return v * n, err
		}
	}
	return strconv.ParseInt(s, 10, 64)
}
