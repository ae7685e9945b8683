//go:build linux

package main

import (
	"testing"
	"time"
)

// req makes a request sent at ms milliseconds that ended at endMs.
func req(ms, endMs int, first bool, method, path string) reqRecord {
	t0 := time.Unix(1000, 0)
	return reqRecord{sent: t0.Add(time.Duration(ms) * time.Millisecond), end: t0.Add(time.Duration(endMs) * time.Millisecond),
		first: first, method: method, path: path, status: 200}
}

// opened is r on a connection opened at ms milliseconds.
func opened(ms int, r reqRecord) reqRecord {
	r.opened = time.Unix(1000, 0).Add(time.Duration(ms) * time.Millisecond)
	return r
}

func TestCriticalPath(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reqs  []reqRecord
		want  int
		chain int // requests on the chain
	}{
		{"none", nil, 0, 0},
		{"one on a new connection", []reqRecord{req(0, 10, true, "GET", "/v2/")}, 2, 1},
		{"one on a reused connection", []reqRecord{req(0, 10, false, "GET", "/v2/")}, 1, 1},
		{"sequential on one connection", []reqRecord{
			req(0, 10, true, "GET", "/v2/"), req(11, 20, false, "GET", "/a"), req(21, 30, false, "GET", "/b"),
		}, 4, 3},
		{"at once on new connections, then one more", []reqRecord{
			req(0, 10, true, "GET", "/a"), req(0, 12, true, "GET", "/b"), req(1, 9, true, "GET", "/c"), req(13, 20, false, "GET", "/d"),
		}, 3, 2},
		{"overlapping requests do not wait for each other", []reqRecord{
			req(0, 10, true, "GET", "/a"), req(5, 15, true, "GET", "/b"),
		}, 2, 1},
		{"the longer of two branches", []reqRecord{
			req(0, 10, true, "HEAD", "/m"),
			req(11, 20, false, "GET", "/x"), req(21, 30, false, "GET", "/y"), req(31, 40, false, "GET", "/z"),
			req(11, 35, true, "GET", "/w"),
		}, 5, 4},
		{"a connection opened while the request before was in flight", []reqRecord{
			req(0, 10, true, "GET", "/m"), opened(1, req(11, 20, true, "GET", "/b")),
		}, 3, 2},
		{"a connection opened once the request before had ended", []reqRecord{
			req(0, 10, true, "GET", "/m"), opened(11, req(12, 20, true, "GET", "/b")),
		}, 4, 2},
		{"a connection opened ahead, used after a longer chain", []reqRecord{
			req(0, 10, true, "GET", "/m"), opened(1, req(0, 9, true, "GET", "/other")),
			req(11, 20, false, "GET", "/a"), req(21, 30, false, "GET", "/b"),
			opened(1, req(31, 40, true, "GET", "/c")),
		}, 5, 4},
		{"given out of order", []reqRecord{
			req(21, 30, false, "GET", "/b"), req(0, 10, true, "GET", "/v2/"), req(11, 20, false, "GET", "/a"),
		}, 4, 3},
	} {
		got, chain := criticalPath(tc.reqs)
		if got != tc.want || len(chain) != tc.chain {
			t.Errorf("%s: %d round trips over %d requests, want %d over %d", tc.name, got, len(chain), tc.want, tc.chain)
		}
		for i := 1; i < len(chain); i++ {
			if !chain[i-1].end.Before(chain[i].sent) {
				t.Errorf("%s: the chain's request %d was sent before the one before it ended", tc.name, i)
			}
		}
	}
}

func TestDescribeChain(t *testing.T) {
	_, chain := criticalPath([]reqRecord{
		req(0, 1, true, "GET", "/v2/"),
		req(2, 3, false, "HEAD", "/v2/bench/tiny/manifests/1"),
		req(4, 5, false, "GET", "/v2/bench/tiny/blobs/sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
		req(6, 7, false, "GET", "/v2/bench/tiny/blobs/sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"),
		req(8, 9, true, "POST", "/v2/bench/tiny/blobs/uploads/"),
		req(10, 11, false, "PUT", "/v2/bench/tiny/blobs/uploads/0b4d9f0e-1111-2222-3333-444455556666"),
		opened(1, req(12, 13, true, "PUT", "/v2/bench/tiny/manifests/1")),
	})
	want := "new GET /v2/ 200 → HEAD manifests/1 200 → 2 × GET blobs/sha256:… 200 → new POST blobs/uploads/ 200 → PUT blobs/uploads/… 200 → pre PUT manifests/1 200"
	if got := describeChain(chain); got != want {
		t.Errorf("describeChain =\n%s\nwant\n%s", got, want)
	}
}
