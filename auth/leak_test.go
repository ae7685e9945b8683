package auth_test

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

// Every secret the tests use contains secretMarker, and every error the
// tests see is recorded; TestMain fails the run if any recorded error
// contains a secret, in clear or base64 (RELIABILITY.md #27).
const secretMarker = "SECRET"

var leaks struct {
	sync.Mutex
	secrets []string
	errs    []string
}

// secret registers s (which must contain secretMarker) as a secret.
func secret(s string) string {
	if !strings.Contains(s, secretMarker) {
		panic("secret without marker: " + s)
	}
	leaks.Lock()
	defer leaks.Unlock()
	leaks.secrets = append(leaks.secrets, s)
	return s
}

// basicSecret registers the base64 form an Authorization header and
// config.json use for user and password.
func basicSecret(user, pass string) string {
	b := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	leaks.Lock()
	defer leaks.Unlock()
	leaks.secrets = append(leaks.secrets, b)
	return b
}

// noteErr records the text of err for the leak check.
func noteErr(err error) {
	if err == nil {
		return
	}
	leaks.Lock()
	defer leaks.Unlock()
	leaks.errs = append(leaks.errs, err.Error())
}

// wantErr records err and fails t if it is nil.
func wantErr(t *testing.T, err error) error {
	t.Helper()
	noteErr(err)
	if err == nil {
		t.Fatal("got no error, want one")
	}
	return err
}

// noErr records err and fails t if it is not nil.
func noErr(t *testing.T, err error) {
	t.Helper()
	noteErr(err)
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func findLeaks() []string {
	leaks.Lock()
	defer leaks.Unlock()
	var out []string
	for _, e := range leaks.errs {
		if strings.Contains(e, secretMarker) {
			out = append(out, e)
			continue
		}
		for _, s := range leaks.secrets {
			if strings.Contains(e, s) || strings.Contains(e, base64.StdEncoding.EncodeToString([]byte(s))) {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

func TestMain(m *testing.M) {
	code := m.Run()
	leaks.Lock()
	n := len(leaks.errs)
	leaks.Unlock()
	if found := findLeaks(); len(found) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d error strings contain secrets:\n", len(found))
		for _, e := range found {
			fmt.Fprintln(os.Stderr, "  ", e)
		}
		code = 1
	} else if code == 0 && testing.Verbose() {
		fmt.Fprintf(os.Stderr, "leak check: %d error strings, no secrets\n", n)
	}
	os.Exit(code)
}

// TestLeakCheckCatches proves the leak check would notice a leak.
func TestLeakCheckCatches(t *testing.T) {
	s := secret("pw-SECRET-probe")
	leaks.Lock()
	saved := leaks.errs
	leaks.errs = []string{"auth: oops " + base64.StdEncoding.EncodeToString([]byte(s))}
	leaks.Unlock()
	found := findLeaks()
	leaks.Lock()
	leaks.errs = saved
	leaks.Unlock()
	if len(found) != 1 {
		t.Fatalf("leak check found %d leaks in a leaking error, want 1", len(found))
	}
}
