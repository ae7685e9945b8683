//go:build linux || darwin || freebsd || netbsd || openbsd

package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

// skiffBinary builds cmd/skiff into a temporary directory, for the tests
// that need a real process.
func skiffBinary(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("socketpair test needs a unix system")
	}
	bin := filepath.Join(t.TempDir(), "skiff")
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proxyProcess is a "skiff proxy --sockfd 3" child and an HTTP client
// that speaks to it over the other end of a socketpair.
type proxyProcess struct {
	cmd    *exec.Cmd
	client *http.Client
	stderr testtool.SyncBuffer
}

func startProxy(t *testing.T, args ...string) *proxyProcess {
	t.Helper()
	bin := skiffBinary(t)
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	child, parent := os.NewFile(uintptr(fds[0]), "child"), os.NewFile(uintptr(fds[1]), "parent")
	defer parent.Close()
	conf := filepath.Join(t.TempDir(), "registries.conf")
	os.WriteFile(conf, nil, 0o644)
	p := &proxyProcess{cmd: exec.Command(bin, append([]string{"proxy", "--sockfd", "3"}, args...)...)}
	p.cmd.ExtraFiles = []*os.File{child}
	p.cmd.Env = append(os.Environ(), "CONTAINERS_REGISTRIES_CONF="+conf, "DOCKER_CONFIG="+t.TempDir(), "REGISTRY_AUTH_FILE="+conf)
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child.Close()
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	conn, err := net.FileConn(parent)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	dial := func(context.Context, string, string) (net.Conn, error) {
		var c net.Conn
		once.Do(func() { c = conn })
		if c == nil {
			return nil, errors.New("the socketpair carries one connection only")
		}
		return c, nil
	}
	p.client = &http.Client{Transport: &http.Transport{DialContext: dial, MaxConnsPerHost: 1, DisableCompression: true}, Timeout: time.Minute}
	return p
}

func (p *proxyProcess) get(t *testing.T, path string) (*http.Response, []byte, error) {
	t.Helper()
	resp, err := p.client.Get("http://skiff-proxy" + path)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// wait waits for the process to exit and checks that it exited 0.
func (p *proxyProcess) wait(t *testing.T) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("skiff proxy exited with %v; stderr:\n%s", err, p.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Errorf("skiff proxy did not exit; stderr:\n%s", p.stderr.String())
	}
}

func TestProxySocketpair(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	ims, _ := multiArch(t, srv.Host, "app:1")
	p := startProxy(t, "--platform", "linux/arm64", srv.Host+"/app:1")
	resp, body, err := p.get(t, "/manifest")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /manifest: %v %v; stderr:\n%s", resp, err, p.stderr.String())
	}
	if got := resp.Header.Get("Manifest-Digest"); got != string(ims[1].Manifest.Digest) {
		t.Errorf("Manifest-Digest %s, want arm64's %s", got, ims[1].Manifest.Digest)
	}
	doc, err := manifest.Parse(body, resp.Header.Get("Content-Type"))
	if err != nil || doc.MediaType != manifest.MediaTypeOCIManifest {
		t.Fatalf("manifest: %v", err)
	}
	for _, d := range append(doc.Manifest.Layers, doc.Manifest.Config) {
		resp, blob, err := p.get(t, "/blobs/"+string(d.Digest))
		if err != nil || resp.StatusCode != 200 || manifest.FromBytes(blob) != d.Digest {
			t.Errorf("blob %s: %v %v", d.Digest.Short(), resp.Status, err)
		}
	}
	if resp, _, err := p.get(t, "/blobs/sha256:..%2F..%2Fetc"); err != nil || resp.StatusCode != 400 {
		t.Errorf("invalid digest: %v %v", resp, err)
	}
	req, _ := http.NewRequest("POST", "http://skiff-proxy/quit", nil)
	if resp, err := p.client.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST /quit: %v %v", resp, err)
	}
	p.wait(t)
}

// TestProxySocketpairWrongBytes is RELIABILITY #36 through a real process:
// the client's read fails, and the proxy exits when the client hangs up.
func TestProxySocketpairWrongBytes(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	im := pushImage(t, srv.Host+"/app:1", 1<<20)
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"), WrongBytes: true})
	p := startProxy(t, srv.Host+"/app:1")
	layer := im.Manifest.Manifest.Layers[0]
	resp, body, err := p.get(t, "/blobs/"+string(layer.Digest))
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) || int64(len(body)) >= layer.Size {
		t.Fatalf("read %d of %d bytes, err %v; want a short body", len(body), layer.Size, err)
	}
	if resp.ContentLength != layer.Size {
		t.Errorf("Content-Length %d, want %d", resp.ContentLength, layer.Size)
	}
	p.client.CloseIdleConnections()
	p.wait(t)
	if !strings.Contains(p.stderr.String(), "digest") {
		t.Errorf("stderr does not explain the failure:\n%s", p.stderr.String())
	}
}

func pushImage(t *testing.T, name string, sizes ...int) *testimage.Image {
	t.Helper()
	im, err := testimage.New(testimage.Options{LayerSizes: sizes})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := reference.Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := testimage.Push(t.Context(), (&registry.Client{}).Repository(ref), im, ref.Tag); err != nil {
		t.Fatal(err)
	}
	return im
}

// runProxyInProcess runs skiff proxy with env vars from vars until it
// exits, returning its exit code and stderr on done.
func runProxyInProcess(t *testing.T, vars map[string]string, args ...string) (done <-chan int, stderr *testtool.SyncBuffer) {
	stderr = &testtool.SyncBuffer{}
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: stderr, getenv: func(k string) string { return vars[k] }}
	ch := make(chan int, 1)
	go func() { ch <- e.run(t.Context(), append([]string{"proxy"}, args...)) }()
	return ch, stderr
}

func TestProxyUnixSocket(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	im := pushImage(t, srv.Host+"/app:1", 1000)
	sock := filepath.Join(t.TempDir(), "proxy.sock")
	done, stderr := runProxyInProcess(t, nil, "--listen", "unix:"+sock, srv.Host+"/app:1")
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	waitFor(t, stderr, "serving")
	resp, err := client.Get("http://proxy/manifest")
	if err != nil || resp.Header.Get("Manifest-Digest") != string(im.Manifest.Digest) {
		t.Fatalf("GET /manifest: %v %v", resp, err)
	}
	resp.Body.Close()
	if resp, err := client.Post("http://proxy/quit", "", nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST /quit: %v %v", resp, err)
	}
	if code := <-done; code != exitOK {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
}

// waitFor waits until w's output contains s.
func waitFor(t *testing.T, w *testtool.SyncBuffer, s string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(w.String(), s) {
			return
		}
	}
	t.Fatalf("no %q in %q", s, w.String())
}

func TestProxyUsage(t *testing.T) {
	for _, args := range [][]string{
		{"proxy", "alpine"},
		{"proxy", "--listen", "127.0.0.1:0", "--sockfd", "3", "alpine"},
		{"proxy", "--listen", "0.0.0.0:0", "alpine"},
		{"proxy", "--listen", "192.168.1.1:80", "alpine"},
		{"proxy", "--listen", "example.com:80", "alpine"},
		{"proxy", "--listen", "unix:", "alpine"},
		{"proxy", "--listen", "127.0.0.1:0"},
		{"proxy", "--listen", "127.0.0.1:0", "--platform", "linux", "alpine"},
	} {
		if code, _, stderr := runSkiff(t, t.Context(), "", args...); code != exitUsage {
			t.Errorf("skiff %q: exit %d, %s", args, code, stderr)
		}
	}
}

// TestProxyRegistriesConf: pulls go to a mirror first, and a blocked
// registry is refused, as registries.conf says.
func TestProxyRegistriesConf(t *testing.T) {
	origin, mirror := registrytest.NewServer(t, nil), registrytest.NewServer(t, nil)
	pushImage(t, origin.Host+"/app:1", 1000)
	im := pushImage(t, mirror.Host+"/cache/app:1", 1000)
	origin.Log.Reset()
	conf := filepath.Join(t.TempDir(), "registries.conf")
	os.WriteFile(conf, []byte("[[registry]]\nlocation = \""+origin.Host+"\"\n[[registry.mirror]]\nlocation = \""+mirror.Host+"/cache\"\n"+
		"[[registry]]\nprefix = \"blocked.example\"\nblocked = true\n"), 0o644)
	vars := map[string]string{"CONTAINERS_REGISTRIES_CONF": conf}
	done, stderr := runProxyInProcess(t, vars, "--listen", "127.0.0.1:0", origin.Host+"/app:1")
	addr := waitForAddr(t, stderr)
	resp, err := http.Post("http://"+addr+"/quit", "", nil)
	if err != nil || resp.StatusCode != 200 || <-done != exitOK {
		t.Fatalf("quit: %v %v; %s", resp, err, stderr.String())
	}
	if !strings.Contains(stderr.String(), string(im.Manifest.Digest)) || origin.Log.Count(nil) != 0 || mirror.Log.Count(nil) == 0 {
		t.Errorf("the mirror was not used: origin %d requests, mirror %d; %s", origin.Log.Count(nil), mirror.Log.Count(nil), stderr.String())
	}
	done, stderr = runProxyInProcess(t, vars, "--listen", "127.0.0.1:0", "blocked.example/app:1")
	if code := <-done; code != exitError || !strings.Contains(stderr.String(), "blocked") {
		t.Errorf("blocked registry: exit %d, %s", code, stderr.String())
	}
}

// waitForAddr returns the address the proxy says it serves on.
func waitForAddr(t *testing.T, w *testtool.SyncBuffer) string {
	t.Helper()
	waitFor(t, w, "\n")
	line, _ := bufio.NewReader(strings.NewReader(w.String())).ReadString('\n')
	_, addr, ok := strings.Cut(strings.TrimSpace(line), ") on ")
	if !ok {
		t.Fatalf("no address in %q", line)
	}
	return addr
}

// TestProxyInheritedListener passes a listening unix socket as fd 3: the
// proxy accepts connections on it until POST /quit.
func TestProxyInheritedListener(t *testing.T) {
	bin := skiffBinary(t)
	srv := registrytest.NewServer(t, nil)
	im := pushImage(t, srv.Host+"/app:1", 1000)
	sock := filepath.Join(t.TempDir(), "l.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	f, err := ln.(*net.UnixListener).File()
	ln.Close()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "proxy", "--sockfd", "3", srv.Host+"/app:1")
	cmd.ExtraFiles = []*os.File{f}
	cmd.Env = append(os.Environ(), "CONTAINERS_REGISTRIES_CONF="+filepath.Join(t.TempDir(), "none"))
	p := &proxyProcess{cmd: cmd, client: &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}}
	cmd.Stderr = &p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	f.Close()
	for range 2 { // two connections
		resp, _, err := p.get(t, "/manifest")
		if err != nil || resp.Header.Get("Manifest-Digest") != string(im.Manifest.Digest) {
			t.Fatalf("GET /manifest: %v %v; %s", resp, err, p.stderr.String())
		}
		p.client.CloseIdleConnections()
	}
	if resp, err := p.client.Post("http://proxy/quit", "", nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST /quit: %v %v", resp, err)
	}
	p.wait(t)
}
