package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/internal/h1client"
)

// Sentinel errors for requests that got no answer from a registry.
var (
	// ErrUnreachable matches the error of a request that reached no
	// registry: a connection refused or timed out, no route to the host,
	// a name that does not resolve, a TLS handshake that failed or a
	// certificate that did not verify.
	ErrUnreachable = errors.New("registry unreachable")
	// ErrPlainHTTP matches the error of an HTTPS request that the
	// registry answered in plain HTTP; it also matches ErrUnreachable.
	// Such a registry is reached by listing its host in Client.Insecure.
	ErrPlainHTTP = errors.New("registry speaks plain HTTP")
)

// requestError is a request that got no answer, or whose answer broke
// off: the transport's error with the method and the URL (secrets
// removed) of the request, so that a cancelled or timed-out request says
// which one it was. errors.Is sees through it (to context.Canceled,
// context.DeadlineExceeded, a *net.OpError…) and matches ErrUnreachable
// and ErrPlainHTTP where they apply.
type requestError struct {
	method string // "" for a connection made to learn a host's scheme
	url    string // redacted; the host alone when method is ""
	err    error
}

// newRequestError wraps err, the failure of req, unless it already names
// its request. A *url.Error gives way to the hop it names.
func newRequestError(req *http.Request, err error) error {
	var re *Error
	var qe *requestError
	if err == nil || req == nil || errors.As(err, &re) || errors.As(err, &qe) {
		return err
	}
	e := &requestError{method: req.Method, url: auth.RedactURL(req.URL), err: err}
	if e.method == "" {
		e.method = http.MethodGet
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		e.method, e.err = strings.ToUpper(ue.Op), ue.Err
		if u, perr := url.Parse(ue.URL); perr == nil {
			e.url = auth.RedactURL(u)
		} else {
			e.url = auth.Redact(ue.URL)
		}
	}
	return e
}

func (e *requestError) Error() string {
	what := "registry: " + e.method + " " + e.url
	if e.method == "" {
		what = "registry: cannot reach " + e.url
	}
	if plainHTTP(e.err) {
		host := e.url
		if u, err := url.Parse(e.url); err == nil && u.Host != "" {
			host = u.Host
		}
		return what + ": " + host + " answered in plain HTTP, not HTTPS; to reach it over HTTP, list it in Client.Insecure"
	}
	return what + ": " + auth.Redact(e.err.Error())
}

func (e *requestError) Unwrap() error { return e.err }

// Is matches ErrUnreachable and ErrPlainHTTP.
func (e *requestError) Is(target error) bool {
	switch target {
	case ErrUnreachable:
		return unreachable(e.err)
	case ErrPlainHTTP:
		return plainHTTP(e.err)
	}
	return false
}

// plainHTTP reports a TLS handshake that met an HTTP response, as
// net/http's "server gave HTTP response to HTTPS client" does.
func plainHTTP(err error) bool {
	var rh tls.RecordHeaderError
	return errors.As(err, &rh) && string(rh.RecordHeader[:]) == "HTTP/"
}

// unreachable reports an error that came before any answer of a
// registry: dialling, resolving, or the TLS handshake. A context that
// ended is not one, even while dialling.
func unreachable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var (
		oe  *net.OpError
		dns *net.DNSError
		rh  tls.RecordHeaderError
		cv  *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		al  tls.AlertError
		te  *h1client.TimeoutError
	)
	switch {
	case errors.As(err, &oe) && oe.Op == "dial", errors.As(err, &dns):
		return true
	case errors.As(err, &rh), errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci), errors.As(err, &al):
		return true
	case errors.As(err, &te):
		return te.What == h1client.WaitHandshake
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH)
}
