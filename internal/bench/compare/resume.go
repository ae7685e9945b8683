//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// resumeSample is one tool's pull of the big image killed (SIGKILL) once
// half of it arrived, then run again to the same file.
type resumeSample struct {
	first  int64 // bytes served before the kill
	second int64 // bytes served to the run after it
	err    error
}

// groupResume names the killed-and-resumed pull, measured once per tool.
const groupResume = "resume"

// resumes pulls the big image with every tool through a proxy that counts
// what registry A serves, kills the tool with SIGKILL once half the image
// went out, and runs the same command again: the second run's bytes show
// what the tool fetched again.
func (h *harness) resumes(ctx context.Context, res *results) error {
	cp, err := startByteCounter(h.fix.a)
	if err != nil {
		return err
	}
	defer cp.close()
	ref := strings.Replace(h.fix.big.ref, h.fix.a, cp.host, 1)
	o := h.fix.pullTar("resume", "pull big, killed at 50%, run again", ref, h.fix.big.least(), "")
	res.resume = map[string]resumeSample{}
	out := filepath.Join(h.work, "out")
	for _, t := range h.tools {
		if err := emptyDir(out); err != nil {
			return err
		}
		args := o.cmd[t.name](out, "resume-"+t.name)
		if t.name == "regctl" { // regctl reaches a plain-HTTP host only when told
			args = append([]string{"--host", "reg=" + cp.host + ",tls=disabled"}, args...)
		}
		s := h.resumeOnce(ctx, cp, t, args)
		res.resume[t.name] = s
		fmt.Fprintf(os.Stderr, "resume  %-6s killed after %s, then fetched %s (%v)\n", t.name, fmtBytes(s.first), fmtBytes(s.second), s.err)
	}
	res.resumeSize = h.fix.big.size
	return nil
}

// resumeOnce runs one tool twice as resumes describes.
func (h *harness) resumeOnce(ctx context.Context, cp *byteCounter, t tool, args []string) resumeSample {
	cmd := exec.CommandContext(ctx, t.path, args...)
	cmd.Env, cmd.Dir = h.run.env, h.run.dir
	if err := emptyDir(h.run.home); err != nil {
		return resumeSample{err: err}
	}
	os.Remove(rootBlobInfoCache)
	cp.arm(h.fix.big.size/2, func() { cmd.Process.Signal(syscall.SIGKILL) })
	if err := cmd.Start(); err != nil {
		return resumeSample{err: err}
	}
	err := cmd.Wait()
	first := cp.take()
	if err == nil {
		return resumeSample{first: first, err: fmt.Errorf("finished before half the image arrived")}
	}
	again := exec.CommandContext(ctx, t.path, args...)
	again.Env, again.Dir = h.run.env, h.run.dir
	msg, err := again.CombinedOutput()
	s := resumeSample{first: first, second: cp.take()}
	if err != nil {
		s.err = fmt.Errorf("the run after the kill: %v: %s", err, tail(string(msg), 300))
	}
	return s
}

// byteCounter is a reverse proxy that counts the response bytes it serves and
// calls a function once a threshold is reached.
type byteCounter struct {
	host     string
	srv      *http.Server
	handlers sync.WaitGroup // the requests being served
	mu       sync.Mutex
	n        int64
	at       int64
	hit      func()
}

func startByteCounter(target string) (*byteCounter, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &byteCounter{host: l.Addr().String()}
	u := &url.URL{Scheme: "http", Host: target}
	rp := &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.Out.Host = pr.In.Host },
		Transport:     &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64},
		FlushInterval: -1,
		ErrorLog:      log.New(io.Discard, "", 0),
	}
	c.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.handlers.Add(1)
		defer c.handlers.Done()
		rp.ServeHTTP(&countingWriter{ResponseWriter: w, c: c}, r)
	}), ErrorLog: log.New(io.Discard, "", 0)}
	go c.srv.Serve(l)
	return c, nil
}

// arm makes the byteCounter call hit once at bytes have been served.
func (c *byteCounter) arm(at int64, hit func()) {
	c.mu.Lock()
	c.n, c.at, c.hit = 0, at, hit
	c.mu.Unlock()
}

// take returns the bytes served since arm or the last take, and disarms,
// once the requests being served ended: a handler writes its last bytes
// after the client may have them, and a killed client's go on until the
// proxy finds the connection gone.
func (c *byteCounter) take() int64 {
	c.handlers.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n, c.hit = 0, nil
	return n
}

func (c *byteCounter) add(n int) {
	c.mu.Lock()
	c.n += int64(n)
	hit := c.hit
	if hit != nil && c.n >= c.at {
		c.hit = nil
	} else {
		hit = nil
	}
	c.mu.Unlock()
	if hit != nil {
		hit()
	}
}

func (c *byteCounter) close() { c.srv.Close() }

type countingWriter struct {
	http.ResponseWriter
	c *byteCounter
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.c.add(n)
	return n, err
}

func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// resumeTable renders the killed-and-resumed pulls.
func (r *results) resumeTable() string {
	var b strings.Builder
	row(&b, []string{"tool", "served before the kill", "served to the next run", "fetched again", "next run ÷ image"})
	row(&b, alignRow(5))
	for _, t := range r.tools {
		s, ok := r.resume[t]
		if !ok {
			continue
		}
		if s.err != nil {
			row(&b, []string{t, fmtBytes(s.first), "failed: " + tail(strings.Join(strings.Fields(s.err.Error()), " "), 120), "", ""})
			continue
		}
		again := max(s.first+s.second-r.resumeSize, 0)
		row(&b, []string{t, fmtBytes(s.first), fmtBytes(s.second), fmtBytes(again), fmt.Sprintf("%.2f", float64(s.second)/float64(r.resumeSize))})
	}
	return b.String()
}
