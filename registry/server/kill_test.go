//go:build unix

package server_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/server"
)

// serveRootEnv names the root TestHelperServeRoot serves, when the test
// binary runs as the server another test kills.
const serveRootEnv = "SKIFF_TEST_SERVE_ROOT"

// TestHelperServeRoot is not a test: run with serveRootEnv set, it serves
// that root on loopback, prints the address, and serves until killed.
func TestHelperServeRoot(t *testing.T) {
	root := os.Getenv(serveRootEnv)
	if root == "" {
		t.Skip("the server of TestKilledServerLeavesValidLayout")
	}
	srv := server.New(&server.Options{Storage: server.NewLayoutStorage(root), UploadDir: filepath.Join(root, server.UploadsDir)})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("listening %s\n", l.Addr())
	http.Serve(l, srv)
}

// TestKilledServerLeavesValidLayout: a server killed with SIGKILL while
// clients push tags (each a manifest of its own, so that every push
// edits index.json, its journal and the facts) leaves a valid layout,
// with every tag it answered 201 for, whatever the moment of the kill.
func TestKilledServerLeavesValidLayout(t *testing.T) {
	root := t.TempDir()
	base := newImage("killed", 500, nil)
	var acked []string
	for round := range 6 {
		addr, stop := startServerProcess(t, root)
		c := &http.Client{}
		put := func(path string, body []byte, ct string) int {
			req, _ := http.NewRequest(http.MethodPost, "http://"+addr+path, strings.NewReader(string(body)))
			if ct != "" {
				req.Method = http.MethodPut
				req.Header.Set("Content-Type", ct)
			}
			resp, err := c.Do(req)
			if err != nil {
				return 0
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		for _, b := range [][]byte{base.config, base.layer} {
			if code := put("/v2/k/app/blobs/uploads/?digest="+string(manifest.FromBytes(b)), b, ""); code != 201 {
				t.Fatalf("blob POST: %d", code)
			}
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for w := range 3 {
			wg.Go(func() {
				for i := 0; ; i++ {
					tag := fmt.Sprintf("r%d-w%d-%03d", round, w, i)
					im := newImage("killed", 500, map[string]any{"annotations": map[string]string{"tag": tag}})
					if put("/v2/k/app/manifests/"+tag, im.raw, manifest.MediaTypeOCIManifest) != 201 {
						return // killed
					}
					mu.Lock()
					acked = append(acked, tag)
					n := len(acked)
					mu.Unlock()
					if n >= 40*(round+1)+7*round {
						stop()
					}
				}
			})
		}
		wg.Wait()
		stop()
	}
	s := startAt(t, root, nil)
	have := map[string]bool{}
	for _, tag := range s.tags("k/app") {
		have[tag] = true
	}
	for _, tag := range acked {
		if !have[tag] {
			t.Errorf("tag %s, answered 201 before a kill, is gone", tag)
		}
	}
	checkLayout(t, root, "k/app")
	if len(acked) < 6*40 {
		t.Fatalf("only %d pushes answered", len(acked))
	}
}

// startServerProcess runs this test binary as a server of root, and
// returns its address and a function that kills it (SIGKILL) once.
func startServerProcess(t *testing.T, root string) (string, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServeRoot$", "-test.count=1")
	cmd.Env = append(os.Environ(), serveRootEnv+"="+root)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
	}
	t.Cleanup(stop)
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		t.Fatalf("the server process said %q: %v", line, err)
	}
	return addr, stop
}
