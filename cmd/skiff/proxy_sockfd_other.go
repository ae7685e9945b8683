//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package main

import (
	"errors"
	"net"
)

// fdListener is unsupported where inherited sockets are not.
func fdListener(int) (net.Listener, <-chan struct{}, error) {
	return nil, nil, errors.New("--sockfd is not supported on this system; use --listen")
}
