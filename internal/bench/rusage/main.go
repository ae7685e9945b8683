//go:build linux

// Command rusage runs a command and writes its wall time, peak RSS and CPU
// time to a file, for the comparison benchmarks:
//
//	rusage RESULT COMMAND [ARG...]
//
// RESULT receives "WALL_NANOSECONDS MAXRSS_KIB USER_NANOSECONDS
// SYSTEM_NANOSECONDS\n" (ru_maxrss, ru_utime and ru_stime of the command
// and the children it waited for); rusage exits with the command's status. It exists because a child's ru_maxrss can be no less
// than the high-water RSS of the process that started it: Go starts
// children with vfork, and exec records the shared address space's peak.
// Started from the benchmark harness, which holds whole images in memory,
// every tool would seem to need hundreds of MiB; started from this small
// program, the floor is about 2 MiB.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: rusage RESULT COMMAND [ARG...]")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // die with the harness
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "rusage:", err)
		os.Exit(127)
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	var maxrss, user, sys int64
	if ru != nil {
		maxrss, user, sys = ru.Maxrss, ru.Utime.Nano(), ru.Stime.Nano()
	}
	line := fmt.Appendf(nil, "%d %d %d %d\n", wall.Nanoseconds(), maxrss, user, sys)
	if err := os.WriteFile(os.Args[1], line, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "rusage:", err)
		os.Exit(1)
	}
	code := cmd.ProcessState.ExitCode()
	if code < 0 {
		code = 1
	}
	os.Exit(code)
}
