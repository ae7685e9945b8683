//go:build !linux

package main

import (
	"errors"
	"os"
)

// loginReadPassword refuses to read a password from a terminal where skiff
// cannot turn the echo off with the standard library alone.
func loginReadPassword(tty *os.File) (string, error) {
	return "", errors.New("reading a password from the terminal is only supported on Linux; pipe it with -u USER --password-stdin")
}
