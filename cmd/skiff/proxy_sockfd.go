//go:build linux || darwin || freebsd || netbsd || openbsd

package main

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// fdListener serves on inherited file descriptor fd: a listening socket
// as is, a connected one as a single connection.
func fdListener(fd int) (net.Listener, <-chan struct{}, error) {
	listening, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN)
	if err != nil {
		return nil, nil, fmt.Errorf("--sockfd %d is not a usable socket: %w", fd, err)
	}
	f := os.NewFile(uintptr(fd), "sockfd")
	defer f.Close() // FileListener and FileConn work on duplicates
	if listening != 0 {
		ln, err := net.FileListener(f)
		return ln, nil, err
	}
	conn, err := net.FileConn(f)
	if err != nil {
		return nil, nil, fmt.Errorf("--sockfd %d: %w", fd, err)
	}
	ln, hangup := newConnListener(conn)
	return ln, hangup, nil
}
