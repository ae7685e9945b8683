//go:build linux

package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/skiffoci/skiff/manifest"
)

// sample is one timed run of one tool.
type sample struct {
	wall time.Duration
	rss  int64         // peak resident set size of the child, bytes
	user time.Duration // user CPU time of the child
	sys  time.Duration // system CPU time of the child
	// Through the link simulator only: the sequential round trips of the
	// run's requests (see criticalPath) and their number.
	rtts, reqs int
	// Through the capped link only: the response bytes it carried.
	fetched int64
}

// cpu is the child's user and system CPU time together.
func (s sample) cpu() time.Duration { return s.user + s.sys }

// rootBlobInfoCache is where skopeo (containers/image) keeps its
// blob-location cache when it runs as root.
const rootBlobInfoCache = "/var/lib/containers/cache/blob-info-cache-v1.boltdb"

// runner starts the tools through the rusage helper, which reports their
// wall time, peak RSS and CPU time, with a private HOME, so that no
// credentials, helpers or configuration of the machine's user take part.
// HOME is emptied before every run, and skopeo's root cache removed: skopeo
// keeps a blob-location cache and would mount, from a repository it saw
// before, the blobs every other tool uploads, so no run learns from the one
// before. A child's stderr goes where the invocation says: a terminal, a
// pipe or /dev/null.
type runner struct {
	rusage string // the helper binary
	home   string
	env    []string
	dir    string     // working directory of the children
	result string     // file that receives the helper's measurement
	mode   stderrMode // where stderr goes unless an invocation says
}

// invocation is one run of a tool.
type invocation struct {
	path   string
	args   []string
	stderr stderrMode // "" is the runner's mode
	keep   int        // bytes of stderr's end kept; 0 is 64 KiB
}

func newRunner(work, rusage string, mode stderrMode) (*runner, error) {
	home := work + "/home"
	tmp := work + "/tmp"
	for _, d := range []string{home, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	env := []string{"HOME=" + home, "DOCKER_CONFIG=" + home + "/.docker", "XDG_CONFIG_HOME=" + home + "/.config",
		"XDG_RUNTIME_DIR=" + home + "/run", "TMPDIR=" + tmp, "PATH=" + os.Getenv("PATH")}
	return &runner{rusage: rusage, home: home, env: env, dir: work, result: work + "/rusage.out", mode: mode}, nil
}

// measure runs path with args, stderr where the runner's mode says, and
// returns its measurement; the tail of stderr comes with the error when the
// command fails.
func (r *runner) measure(ctx context.Context, path string, args ...string) (sample, error) {
	_, s, err := r.run(ctx, invocation{path: path, args: args})
	return s, err
}

// output is measure with stderr in a pipe, returned whole (up to 16 MiB).
func (r *runner) output(ctx context.Context, path string, args ...string) (string, sample, error) {
	return r.run(ctx, invocation{path: path, args: args, stderr: stderrPipe, keep: 16 * mib})
}

// run runs one invocation and returns its stderr (the kept tail) and its
// measurement.
func (r *runner) run(ctx context.Context, inv invocation) (string, sample, error) {
	if err := emptyDir(r.home); err != nil {
		return "", sample{}, err
	}
	// Run as root, skopeo keeps that cache system-wide instead of in HOME.
	if err := os.Remove(rootBlobInfoCache); err != nil && !os.IsNotExist(err) && os.Geteuid() == 0 {
		return "", sample{}, err
	}
	mode, keep := cmp.Or(inv.stderr, r.mode), cmp.Or(inv.keep, 64*kib)
	sink, err := openStderr(mode, keep)
	if err != nil {
		return "", sample{}, err
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		sink.finish()
		return "", sample{}, err
	}
	defer null.Close()
	os.Remove(r.result)
	cmd := exec.CommandContext(ctx, r.rusage, append([]string{r.result, inv.path}, inv.args...)...)
	cmd.Env, cmd.Dir, cmd.Stdin, cmd.Stdout, cmd.Stderr = r.env, r.dir, null, null, sink.child
	if mode == stderrTTY {
		cmd.Env = append(slices.Clip(r.env), "TERM=xterm")
	}
	err = cmd.Start()
	sink.started()
	if err == nil {
		err = cmd.Wait()
	}
	stderr := sink.finish()
	if err != nil {
		if mode == stderrNull {
			stderr = "(stderr went to /dev/null)"
		}
		return stderr, sample{}, fmt.Errorf("%s %s: %v\n%s", inv.path, strings.Join(inv.args, " "), err, tail(stderr, 2000))
	}
	s, err := readSample(r.result)
	return stderr, s, err
}

func readSample(path string) (sample, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return sample{}, err
	}
	var ns, kib, user, sys int64
	if _, err := fmt.Sscanf(string(b), "%d %d %d %d", &ns, &kib, &user, &sys); err != nil {
		return sample{}, fmt.Errorf("reading %s: %w", path, err)
	}
	return sample{wall: time.Duration(ns), rss: kib * 1024, user: time.Duration(user), sys: time.Duration(sys)}, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// rawFetch fetches every blob of repo on host at once over plain HTTP, on a
// fresh connection each, hashing nothing and discarding the bytes: the
// transfer limit any client meets.
func rawFetch(ctx context.Context, host, repo string, blobs []manifest.Descriptor) (time.Duration, error) {
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: len(blobs)}}
	defer client.CloseIdleConnections()
	return allAtOnce(blobs, func(d manifest.Descriptor) error {
		url := "http://" + host + "/v2/" + repo + "/blobs/" + string(d.Digest)
		body, err := openBlob(ctx, client, url)
		if err != nil {
			return err
		}
		defer body.Close()
		n, err := io.Copy(io.Discard, body)
		if err == nil && n != d.Size {
			err = fmt.Errorf("GET %s: %d bytes, want %d", url, n, d.Size)
		}
		return err
	})
}

// rawCopy copies every blob of repo on host into repository dstRepo of dst,
// all at once, each GET body streamed into a monolithic upload (POST, then
// PUT with the body), hashing nothing: the limit any copying client meets,
// set by what the two registries do with the bytes.
func rawCopy(ctx context.Context, host, repo, dst, dstRepo string, blobs []manifest.Descriptor) (time.Duration, error) {
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 2 * len(blobs)}}
	defer client.CloseIdleConnections()
	return allAtOnce(blobs, func(d manifest.Descriptor) error {
		return copyBlob(ctx, client, "http://"+host+"/v2/"+repo+"/blobs/"+string(d.Digest), "http://"+dst+"/v2/"+dstRepo, d)
	})
}

// allAtOnce runs do for every blob at the same time and returns the wall
// time they took together.
func allAtOnce(blobs []manifest.Descriptor, do func(manifest.Descriptor) error) (time.Duration, error) {
	errs := make([]error, len(blobs))
	var wg sync.WaitGroup
	start := time.Now()
	for i, d := range blobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = do(d)
		}()
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}

func copyBlob(ctx context.Context, client *http.Client, from, to string, d manifest.Descriptor) error {
	resp, err := send(ctx, client, http.MethodPost, to+"/blobs/uploads/", nil, http.StatusAccepted)
	if err != nil {
		return err
	}
	loc, err := resp.Location()
	if err != nil {
		return fmt.Errorf("POST %s: %w", to, err)
	}
	body, err := openBlob(ctx, client, from)
	if err != nil {
		return err
	}
	defer body.Close()
	q := loc.Query()
	q.Set("digest", string(d.Digest))
	loc.RawQuery = q.Encode()
	_, err = send(ctx, client, http.MethodPut, loc.String(), &sized{body, d.Size}, http.StatusCreated)
	return err
}

// sized is a request body of known length.
type sized struct {
	io.Reader
	n int64
}

// send sends one request and closes the response, which must have status
// want.
func send(ctx context.Context, client *http.Client, method, url string, body *sized, want int) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		r = body.Reader
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = body.n
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %s", method, url, resp.Status)
	}
	return resp, nil
}

// openBlob GETs url and returns the body of its 200 response.
func openBlob(ctx context.Context, client *http.Client, url string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return resp.Body, nil
}
