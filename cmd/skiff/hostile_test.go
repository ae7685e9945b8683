//go:build linux || darwin

package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestReliability46_NothingFromLoggers: a registry that sends an oversized
// manifest, and more bytes than its responses declare, gets a one-line
// error from skiff: nothing from net/http's logger reaches stderr, and
// the connections it spoiled are not used again.
func TestReliability46_NothingFromLoggers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	huge := strings.Repeat("x", 5<<20)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serveHostile(conn, huge)
		}
	}()
	cmd, stderr := child(t, "manifest", ln.Addr().String()+"/demo/app:1")
	err = cmd.Wait()
	if err == nil {
		t.Fatal("an oversized manifest was accepted")
	}
	msg := stderr.String()
	if strings.Count(msg, "\n") != 1 || strings.Contains(msg, "Unsolicited") || !strings.Contains(msg, "limit") {
		t.Fatalf("stderr: %.500q", msg)
	}
}

// serveHostile answers every request on conn with a manifest over the
// size limit, and sends it after the headers of a HEAD too.
func serveHostile(conn net.Conn, body string) {
	defer conn.Close()
	br := bufio.NewReader(conn)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.URL.Path == "/v2/" {
			fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
			continue
		}
		fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\n"+
			"Docker-Content-Digest: sha256:%064d\r\nContent-Length: %d\r\n\r\n%s", 0, len(body), body)
	}
}
