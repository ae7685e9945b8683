package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
)

// RT-S1. A PATCH's Content-Range "0-9223372036854775807" announces
// 2^63 bytes: b-a+1 overflows to a negative length, which the server
// takes for "no Content-Range", so a chunked body of 5 bytes is appended
// under a range that says otherwise. The range must be refused (416 or
// 400); the session must stay empty. Fixed: such a range is refused
// with 416.
func TestRedteamPatchRangeOverflow(t *testing.T) {
	s := start(t, nil)
	loc := s.do(http.MethodPost, "/v2/a/b/blobs/uploads/", nil).want(t, http.StatusAccepted).Header.Get("Location")
	// io.NopCloser hides the length: the body goes chunked, with no Content-Length.
	r, err := s.tryReader(http.MethodPatch, loc, io.NopCloser(strings.NewReader("hello")),
		"Content-Type", "application/octet-stream", "Content-Range", "0-9223372036854775807")
	if err != nil {
		t.Fatal(err)
	}
	if r.StatusCode < 400 {
		t.Errorf("PATCH with Content-Range 0-9223372036854775807 and 5 bytes: %s, Range %s", r.Status, r.Header.Get("Range"))
	}
	sum := sha256.Sum256([]byte("hello"))
	put := s.do(http.MethodPut, loc+"&digest=sha256:"+hex.EncodeToString(sum[:]), nil)
	if put.StatusCode == http.StatusCreated {
		t.Errorf("the 5 bytes became a blob")
	}
}
