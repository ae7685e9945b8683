package main

import (
	"bufio"
	"context"
	"crypto/sha1"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/skiffoci/skiff/internal/h1server"
	"github.com/skiffoci/skiff/registry/server"
)

func init() {
	commands["registry"] = registryCommand
	subcommands["registry serve"] = serveCommand
	subcommands["registry gc"] = gcCommand
}

var registryCommand = &command{
	summary: "run a registry that keeps its images as OCI layouts on disk; collect its garbage",
	usage:   "serve|gc [flags]",
	help: `"skiff registry serve" runs the registry; "skiff registry gc" removes the blobs no
image in it references any more. Run "skiff registry serve --help" or
"skiff registry gc --help" for their flags.

examples:
  skiff registry serve --root ./images
  skiff registry gc --root ./images --dry-run`,
	run: runRegistry,
}

var serveCommand = &command{
	summary: "run a registry that keeps its images as OCI layouts on disk",
	usage:   "[flags]",
	help: `"skiff registry serve" speaks the OCI distribution API (push, pull, tags, catalog,
referrers, delete) with no configuration, for a lab, a CI cache or a small device that
serves images to others. Each repository is an OCI image layout under --root, so the
same directory is readable by "skiff copy oci:ROOT/REPO:TAG …", "skopeo inspect
oci:ROOT/REPO:TAG" and "umoci stat --image ROOT/REPO:TAG" -- for images pushed with
OCI media types. An image pushed with Docker's (docker push, crane push of a docker
save) is stored as pushed, and umoci and skopeo up to at least 1.9 find no such tag
(skopeo: "no descriptor found"). "skiff sync --oci-media-types REGISTRY oci:DIR" gives
them a copy with OCI types (new digests). It listens on loopback unless
--addr says otherwise; there it answers only requests addressed to a loopback name
or address, or to a NAME --allow-host gives, and none that a web page of another
origin sends (such a page could otherwise reach it by DNS rebinding and read, push
and delete images). --htpasswd takes a file of "user:{SHA}base64-sha1" lines
(htpasswd -s) or "user:password" lines; bcrypt entries are refused, since the standard
library has no bcrypt.

Memory stays small (about 32 MiB at most) whatever the size of what is pushed or
pulled: uploads stream to files in ROOT/.uploads while they are hashed, and a blob is
moved into place only once its digest verifies, and flushed to disk before the
upload is confirmed; downloads stream from disk. A blob of a layout already under
ROOT is hashed before it is served; one whose bytes do not match its name is left
out and reported once on stderr. An upload
session without a request for --upload-idle-timeout is removed with its file (a
request whose body sends nothing for that long is cut, and so is a response the
client takes nothing of for 2 minutes); beyond
--max-upload-sessions a new upload is refused with 429 TOOMANYREQUESTS and a
Retry-After; a blob larger than --max-blob-size with 413 SIZE_INVALID; a push that
would grow a repository's index.json past 64 MiB (some 300,000 tags), the most the
server reads back, with 403 DENIED (delete manifests to make room). A blob or
manifest that a manifest of its repository references cannot be deleted (405 DENIED).

The server holds ROOT/.lock while it runs: a second server, or "skiff registry gc", on
the same root is refused. Files an interrupted run left are removed at start. Deleted
images free no disk until "skiff registry gc --root ROOT" runs, with the server
stopped. Interrupt to stop: requests in flight finish first.

examples:
  skiff registry serve --root ./images
  skiff registry serve --addr 0.0.0.0:5443 --tls-cert cert.pem --tls-key key.pem --htpasswd users
  skiff registry serve --max-blob-size 2GiB --max-upload-sessions 20 --upload-idle-timeout 10m`,
}

func runRegistry(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "serve":
			return runServe(ctx, e, args[1:])
		case "gc":
			return runGC(ctx, e, args[1:])
		}
	}
	if err := parse(e, newFlagSet(e, "registry"), args); err != nil {
		return err // --help lands here
	}
	return usagef("the subcommands are serve and gc")
}

// serveFlags are the flags of "registry serve".
type serveFlags struct {
	addr, root, cert, key, users, maxBlob string
	idle                                  time.Duration
	maxSessions                           int
	allowHosts                            listFlag
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "addr", "127.0.0.1:5000", "listen on `HOST:PORT` (port 0 picks a free one)")
	fs.StringVar(&f.root, "root", "skiff-registry", "keep the images in `DIR`")
	fs.StringVar(&f.cert, "tls-cert", "", "serve HTTPS with this certificate `FILE` (PEM)")
	fs.StringVar(&f.key, "tls-key", "", "the certificate's private key `FILE` (PEM)")
	fs.StringVar(&f.users, "htpasswd", "", "require basic auth with the users of `FILE`")
	fs.DurationVar(&f.idle, "upload-idle-timeout", server.DefaultUploadIdleTimeout,
		"remove an upload session and its file after `DURATION` without a request (0: never)")
	fs.IntVar(&f.maxSessions, "max-upload-sessions", server.DefaultMaxUploadSessions,
		"refuse a new upload with 429 while `N` sessions are open (0: no limit)")
	fs.Var(&f.allowHosts, "allow-host", "on a loopback address, also answer requests addressed to `NAME` (repeatable)")
	fs.StringVar(&f.maxBlob, "max-blob-size", "16GiB",
		"refuse a blob larger than `SIZE` with 413: bytes, or a number with KiB, MiB, GiB or TiB (0: no limit)")
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "registry serve")
	var f serveFlags
	f.register(fs)
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 || (f.cert == "") != (f.key == "") {
		return usagef("serve takes flags only, and --tls-cert and --tls-key together")
	}
	opts, err := f.options()
	if err == nil {
		opts.ErrorLog = log.New(e.stderr, "skiff: ", 0)
	}
	if err != nil {
		return err
	}
	if opts.Auth, err = f.auth(); err != nil {
		return err
	}
	opts.ErrorLog = log.New(e.stderr, "skiff: ", 0)
	if err := os.MkdirAll(f.root, 0o755); err != nil {
		return err
	}
	lock, err := server.LockRoot(f.root, true)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	left, err := server.RemoveTemporary(f.root)
	if err != nil {
		return err
	}
	if len(left) > 0 {
		fmt.Fprintf(e.stderr, "skiff: removed %d temporary files an interrupted run left in %s\n", len(left), f.root)
	}
	srv := server.New(opts)
	defer srv.Close()
	go expireUploads(ctx, srv, f.idle)
	return serve(ctx, e, srv, &f)
}

// options turns the flags into the server's options; 0 means no limit.
func (f *serveFlags) options() (*server.Options, error) {
	size, err := parseSize(f.maxBlob)
	if err != nil {
		return nil, usagef("--max-blob-size: %v", err)
	}
	if f.idle < 0 || f.maxSessions < 0 {
		return nil, usagef("--upload-idle-timeout and --max-upload-sessions must not be negative")
	}
	return &server.Options{
		Storage:           server.NewLayoutStorage(f.root),
		UploadDir:         filepath.Join(f.root, server.UploadsDir),
		MaxBlobSize:       noLimit(size),
		MaxUploadSessions: int(noLimit(int64(f.maxSessions))),
		UploadIdleTimeout: time.Duration(noLimit(int64(f.idle))),
	}, nil
}

// noLimit turns the flags' 0 (no limit) into the options' -1.
func noLimit(v int64) int64 {
	if v == 0 {
		return -1
	}
	return v
}

// auth returns basic auth with the users of --htpasswd, or nil.
func (f *serveFlags) auth() (server.Authorizer, error) {
	if f.users == "" {
		return nil, nil
	}
	check, err := loadHtpasswd(f.users)
	if err != nil {
		return nil, err
	}
	return &server.BasicAuth{CheckPassword: check}, nil
}

// expireUploads removes idle upload sessions every minute (or every idle
// period, if shorter) until ctx ends.
func expireUploads(ctx context.Context, srv *server.Server, idle time.Duration) {
	if idle <= 0 {
		return
	}
	t := time.NewTicker(min(idle, time.Minute))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			srv.ExpireUploads()
		}
	}
}

// parseSize reads "1048576", "512KiB", "1.5GiB" or "0".
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		n      float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}, {"", 1}}
	for _, u := range units {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || v < 0 || v*u.n >= 1<<63 {
			break
		}
		return int64(v * u.n), nil
	}
	return 0, fmt.Errorf("%q is not a size such as 1048576, 512MiB or 2GiB", s)
}

// serveWriteTimeout cuts a response its client takes nothing of for this
// long (twice nginx's send_timeout), so that a client that asks for a blob
// and never reads cannot hold a goroutine, a socket and the blob's open
// file for ever; a client that paused that long continues with Range.
const serveWriteTimeout = 2 * time.Minute

// loopbackRefusal is what a server on a loopback address answers a
// request addressed to another name, or sent by a web page.
const loopbackRefusal = "this registry listens on a loopback address and answers only requests addressed to one (or to a name --allow-host gives), from no web page of another origin"

// refuseDenied answers 403 with msg as the distribution spec's DENIED
// error.
func refuseDenied(msg string) http.HandlerFunc {
	body, _ := json.Marshal(map[string][]map[string]string{"errors": {{"code": "DENIED", "message": msg}}})
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write(body)
	}
}

// serve listens on f's address and serves h until ctx ends. On a loopback
// address it answers only requests addressed to this machine (or to a
// name of --allow-host) and sent by no web page of another origin: a web
// page the user opens could otherwise reach it by DNS rebinding, and read,
// push and delete images. A request body that sends nothing for
// --upload-idle-timeout is cut, so that a stalled
// client cannot hold an upload session, which is not idle while a request
// works on it, for ever; so is a response its client takes nothing of for
// serveWriteTimeout.
func serve(ctx context.Context, e *env, h http.Handler, f *serveFlags) error {
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	if a, ok := ln.Addr().(*net.TCPAddr); ok && a.IP.IsLoopback() {
		h = loopbackOnly(h, refuseDenied(loopbackRefusal), f.allowHosts...)
	}
	// HTTP/1.1 only, as the client, through h1server: http.Server would
	// link Go's HTTP/2 server, a third of a MiB of an 8 MiB budget.
	srv := &h1server.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, BodyReadTimeout: f.idle,
		BodyWriteTimeout: serveWriteTimeout}
	scheme := "http"
	if f.cert != "" {
		pair, err := tls.LoadX509KeyPair(f.cert, f.key)
		if err != nil {
			ln.Close()
			return fmt.Errorf("TLS: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12})
		scheme = "https"
	}
	fmt.Fprintf(e.stderr, "skiff: serving %s://%s, images in %s\n", scheme, ln.Addr(), f.root)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, h1server.ErrServerClosed) {
		return err
	}
	return nil
}

// loadHtpasswd reads "user:{SHA}base64" and "user:password" lines.
func loadHtpasswd(path string) (func(user, pass string) bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" || hash == "" {
			return nil, fmt.Errorf("%s:%d: want user:password", path, n)
		}
		if strings.HasPrefix(hash, "$") {
			return nil, fmt.Errorf("%s:%d: %s's entry is bcrypt or crypt, which skiff cannot check (no bcrypt in the standard library); make it with htpasswd -s", path, n, user)
		}
		entries[user] = hash
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	check := func(user, pass string) bool {
		want, ok := entries[user]
		return ok && subtle.ConstantTimeCompare([]byte(hashLike(want, pass)), []byte(want)) == 1
	}
	return check, nil
}

// hashLike hashes pass the way the stored entry want is hashed.
func hashLike(want, pass string) string {
	if strings.HasPrefix(want, "{SHA}") {
		sum := sha1.Sum([]byte(pass))
		return "{SHA}" + base64.StdEncoding.EncodeToString(sum[:])
	}
	return pass
}
