//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/skiffoci/skiff/manifest"
)

// sample is one timed run of one tool.
type sample struct {
	wall time.Duration
	rss  int64 // peak resident set size of the child, bytes
}

// rootBlobInfoCache is where skopeo (containers/image) keeps its
// blob-location cache when it runs as root.
const rootBlobInfoCache = "/var/lib/containers/cache/blob-info-cache-v1.boltdb"

// runner starts the tools through the rusage helper, which reports their
// wall time and peak RSS, with a private HOME, so that no credentials,
// helpers or configuration of the machine's user take part. HOME is
// emptied before every run, and skopeo's root cache removed: skopeo keeps
// a blob-location cache and would mount, from a repository it saw before,
// the blobs every other tool uploads, so no run learns from the one before.
type runner struct {
	rusage string // the helper binary
	home   string
	env    []string
	dir    string // working directory of the children
	stderr string // file that receives a child's stderr
	result string // file that receives the helper's measurement
}

func newRunner(work, rusage string) (*runner, error) {
	home := work + "/home"
	tmp := work + "/tmp"
	for _, d := range []string{home, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	env := []string{"HOME=" + home, "DOCKER_CONFIG=" + home + "/.docker", "XDG_CONFIG_HOME=" + home + "/.config",
		"XDG_RUNTIME_DIR=" + home + "/run", "TMPDIR=" + tmp, "PATH=" + os.Getenv("PATH")}
	return &runner{rusage: rusage, home: home, env: env, dir: work, stderr: work + "/stderr.log", result: work + "/rusage.out"}, nil
}

// measure runs path with args and returns its wall time and peak RSS.
// stdout is discarded; stderr is kept in a file and its tail is returned
// with the error when the command fails.
func (r *runner) measure(ctx context.Context, path string, args ...string) (sample, error) {
	_, s, err := r.output(ctx, path, args...)
	return s, err
}

// output is measure that also returns stderr.
func (r *runner) output(ctx context.Context, path string, args ...string) (string, sample, error) {
	if err := emptyDir(r.home); err != nil {
		return "", sample{}, err
	}
	// Run as root, skopeo keeps that cache system-wide instead of in HOME.
	if err := os.Remove(rootBlobInfoCache); err != nil && !os.IsNotExist(err) && os.Geteuid() == 0 {
		return "", sample{}, err
	}
	errf, err := os.Create(r.stderr)
	if err != nil {
		return "", sample{}, err
	}
	defer errf.Close()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return "", sample{}, err
	}
	defer null.Close()
	os.Remove(r.result)
	cmd := exec.CommandContext(ctx, r.rusage, append([]string{r.result, path}, args...)...)
	cmd.Env, cmd.Dir, cmd.Stdin, cmd.Stdout, cmd.Stderr = r.env, r.dir, null, null, errf
	err = cmd.Run()
	stderr, _ := os.ReadFile(r.stderr)
	if err != nil {
		return string(stderr), sample{}, fmt.Errorf("%s %s: %v\n%s", path, strings.Join(args, " "), err, tail(string(stderr), 2000))
	}
	s, err := readSample(r.result)
	return string(stderr), s, err
}

func readSample(path string) (sample, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return sample{}, err
	}
	var ns, kib int64
	if _, err := fmt.Sscanf(string(b), "%d %d", &ns, &kib); err != nil {
		return sample{}, fmt.Errorf("reading %s: %w", path, err)
	}
	return sample{wall: time.Duration(ns), rss: kib * 1024}, nil
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
