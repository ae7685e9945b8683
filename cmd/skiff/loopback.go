package main

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// loopbackOnly serves h only to requests addressed to a loopback name (or
// to one of allow, names the user reaches the server by) and sent by no
// web page of another origin: a browser on this machine, led there by DNS
// rebinding or a cross-site form, must not reach a server that trusts
// that only this machine can connect. refuse answers the others.
func loopbackOnly(h http.Handler, refuse http.HandlerFunc, allow ...string) http.Handler {
	ours := func(hostport string) bool { return isLoopbackHost(hostport) || isAllowedHost(hostport, allow) }
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := ""
		if o := r.Header.Get("Origin"); o != "" {
			origin = "null" // an opaque origin ("null"): a web page all the same
			if u, err := url.Parse(o); err == nil && u.Host != "" {
				origin = u.Host
			}
		}
		if !ours(r.Host) || origin != "" && !ours(origin) {
			refuse(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// isLoopbackHost reports whether hostport, a Host header's value, names
// this machine: localhost or a loopback address, with any port.
func isLoopbackHost(hostport string) bool {
	host := hostName(hostport)
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return strings.EqualFold(host, "localhost") || ip != nil && ip.IsLoopback()
}

// isAllowedHost reports whether hostport's host is one of names, with any
// port, whatever its case.
func isAllowedHost(hostport string, names []string) bool {
	host := strings.Trim(hostName(hostport), "[]")
	return host != "" && slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(strings.Trim(n, "[]"), host) })
}

// refuseText answers 403 with msg.
func refuseText(msg string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { http.Error(w, msg, http.StatusForbidden) }
}

// hostName is hostport without its port, if it has one.
func hostName(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}
