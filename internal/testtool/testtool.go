// Package testtool is what skiff's tests share. It finds the external
// programs integration tests run (skopeo, umoci, crane, cosign, zstd): a
// test skips with a message when one is missing, and fails instead when
// SKIFF_INTEGRATION=1 (as in CI). It builds tars and gzip streams to feed
// the code under test, and reads back and checks what a store holds.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// Need returns the path of the program name, or ends the test: a skip
// that says how to run it, or a failure when SKIFF_INTEGRATION=1.
func Need(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("SKIFF_INTEGRATION") == "1" {
		t.Fatalf("%s is not on PATH, and SKIFF_INTEGRATION=1 requires the integration tests", name)
	}
	t.Skipf("%s is not on PATH; install it to run this test (SKIFF_INTEGRATION=1 turns this skip into a failure)", name)
	return ""
}
