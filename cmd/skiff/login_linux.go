//go:build linux

package main

import (
	"errors"
	"os"
	"syscall"
	"unsafe"
)

// loginReadPassword reads a line from the terminal tty with echo turned off,
// and turns echo back on whatever happens.
func loginReadPassword(tty *os.File) (string, error) {
	fd := tty.Fd()
	var old syscall.Termios
	if err := loginTermios(fd, syscall.TCGETS, &old); err != nil {
		return "", errors.New("cannot turn off the terminal's echo; pipe the password with --password-stdin")
	}
	noEcho := old
	noEcho.Lflag &^= syscall.ECHO
	noEcho.Lflag |= syscall.ICANON | syscall.ISIG
	if err := loginTermios(fd, syscall.TCSETS, &noEcho); err != nil {
		return "", errors.New("cannot turn off the terminal's echo; pipe the password with --password-stdin")
	}
	defer loginTermios(fd, syscall.TCSETS, &old)
	return loginReadLine(tty)
}

func loginTermios(fd uintptr, req uintptr, t *syscall.Termios) error {
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(unsafe.Pointer(t)))
	if errno != 0 {
		return errno
	}
	return nil
}
