package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/skiffoci/skiff/internal/h1server"
	"github.com/skiffoci/skiff/internal/proxy"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
)

func init() { commands["proxy"] = proxyCommand }

var proxyCommand = &command{
	summary: "serve one image's manifest and blobs to another process over HTTP",
	usage:   "[flags] --sockfd N | --listen unix:PATH | --listen 127.0.0.1:PORT  REF",
	help: `The proxy speaks HTTP/1.1 with no authentication, so it listens only where the
process it serves can reach it: an inherited socket (--sockfd; a listening socket, or
one end of a socketpair carrying a single connection), a unix socket, or loopback TCP.
The client never sees the registry, its URLs or its credentials.

  GET  /manifest         the manifest in OCI form (an index is resolved to --platform,
                         the host's by default); header Manifest-Digest is the digest
                         of the manifest as the registry stores it
  GET  /blobs/DIGEST     a config or layer of the image, as stored, verified while it
                         streams: wrong bytes upstream cut the response short, so the
                         client sees an error; other digests get 404, malformed ones 400
  POST /quit             finish the responses in flight and exit 0

With --sockfd and a connected socket, the proxy also exits when the client hangs up.
REF may also be oci:DIR[:TAG], docker-archive:FILE[:REF] or oci-archive:FILE[:TAG].

examples:
  skiff proxy --listen 127.0.0.1:8080 alpine:3.20 &
  curl -sD- -o manifest.json http://127.0.0.1:8080/manifest
  curl -s http://127.0.0.1:8080/blobs/sha256:… | tar tz
  curl -X POST http://127.0.0.1:8080/quit
  skiff proxy --listen unix:/run/app/image.sock --platform linux/arm64 ghcr.io/o/app:1.0
  skiff proxy --sockfd 3 registry.example.com/app@sha256:…   # fd 3: a socketpair end`,
	run: runProxy,
}

func runProxy(ctx context.Context, e *env, args []string) error {
	var o options
	fs := newFlagSet(e, "proxy")
	o.register(fs)
	fs.StringVar(&o.platform, "platform", "", "`OS/ARCH[/VARIANT]` to pick from an index (default: the host's)")
	sockfd := fs.Int("sockfd", -1, "serve on the inherited socket `N` (listening, or one connected end)")
	listen := fs.String("listen", "", "serve on `ADDR`: unix:PATH, or a loopback HOST:PORT (port 0 picks one)")
	o.registerVerifyKey(fs)
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want REF, got %d arguments", fs.NArg())
	}
	if (*sockfd >= 0) == (*listen != "") {
		return usagef("give one of --sockfd and --listen")
	}
	platform, err := proxyPlatform(o.platform)
	if err != nil {
		return err
	}
	loc, err := parseLocation(fs.Arg(0))
	if err != nil {
		return err
	}
	ln, hangup, err := proxyListener(*sockfd, *listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	return proxyServe(ctx, e, &o, loc, platform, ln, hangup)
}

// proxyPlatform parses --platform, which names one platform or none.
func proxyPlatform(s string) (manifest.Platform, error) {
	if s == "" {
		return manifest.HostPlatform(), nil
	}
	p, err := manifest.ParsePlatform(s)
	if err != nil {
		return p, usagef("--platform: %v", err)
	}
	return p, nil
}

// proxyListener opens where --sockfd or --listen say to serve. hangup,
// for a single inherited connection, is closed when that connection is.
func proxyListener(fd int, listen string) (ln net.Listener, hangup <-chan struct{}, err error) {
	if fd >= 0 {
		return fdListener(fd)
	}
	if path, ok := strings.CutPrefix(listen, "unix:"); ok {
		if path == "" {
			return nil, nil, usagef("--listen unix: needs a path")
		}
		ln, err = net.Listen("unix", path)
		return ln, nil, err
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, nil, usagef("--listen %q: want unix:PATH or HOST:PORT", listen)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, nil, usagef("--listen %q: only loopback addresses or unix:PATH (the proxy has no authentication)", listen)
	}
	ln, err = net.Listen("tcp", listen)
	return ln, nil, err
}

// proxyServe opens loc and serves it on ln until POST /quit, a hang-up of
// a single connection, or ctx's end.
func proxyServe(ctx context.Context, e *env, o *options, loc images.Location, platform manifest.Platform, ln net.Listener, hangup <-chan struct{}) error {
	c, err := o.client(e, hostsOf(loc))
	if err != nil {
		return err
	}
	src, err := images.OpenSource(ctx, loc, &images.Options{Client: c})
	if err != nil {
		return err
	}
	defer src.Close()
	if err := verifySources(ctx, e, o, []*images.Source{src}, []manifest.Platform{platform}); err != nil {
		return err
	}
	quit := make(chan struct{})
	logger := log.New(e.stderr, "skiff proxy: ", 0)
	h, err := proxy.New(ctx, src.Store, src.Root, &proxy.Options{Platform: platform, OnQuit: func() { close(quit) }, ErrorLog: logger})
	if err != nil {
		return fmt.Errorf("%s: %w", loc, err)
	}
	if !o.quiet {
		fmt.Fprintf(e.stderr, "skiff: serving %s (manifest %s) on %s\n", loc, h.ManifestDigest(), ln.Addr())
	}
	var handler http.Handler = h
	if _, tcp := ln.Addr().(*net.TCPAddr); tcp {
		handler = loopbackOnly(h, refuseText("skiff proxy: only requests to a loopback address, from no web page, are served"))
	}
	srv := &h1server.Server{Handler: handler, ReadHeaderTimeout: time.Minute, IdleTimeout: 10 * time.Minute, ErrorLog: logger}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-quit:
	case <-hangup:
	case <-ctx.Done():
	}
	return proxyShutdown(ctx, srv, done)
}

// proxyShutdown lets the responses in flight finish, unless ctx ended
// (a signal), which leaves them 10 seconds.
func proxyShutdown(ctx context.Context, srv *h1server.Server, done <-chan error) error {
	sctx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
	}
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	<-done
	return nil
}
