package registry

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"2", 2 * time.Second, true},
		{" 0 ", 0, true},
		{"3600", time.Hour, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"", 0, false},
		{"-1", 0, false},
		{"soon", 0, false},
		{"1.5", 0, false},
		{"99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestContentRangeStart(t *testing.T) {
	good := map[string]int64{"bytes 0-9/10": 0, "bytes 6-9/10": 6, "bytes 9-9/*": 9}
	for in, want := range good {
		if got, err := contentRangeStart(in, 10); err != nil || got != want {
			t.Errorf("contentRangeStart(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "bytes 6-8/10", "bytes 6-9/11", "bytes 6-9", "bytes -1-9/10", "bytes 9-6/10",
		"items 6-9/10", "bytes a-9/10", "bytes 6-10/10"} {
		if _, err := contentRangeStart(bad, 10); err == nil {
			t.Errorf("contentRangeStart(%q) accepted", bad)
		}
	}
}

func TestNextLink(t *testing.T) {
	base, _ := url.Parse("https://r.example/v2/a/tags/list")
	tests := []struct {
		values []string
		want   string
		err    bool
	}{
		{[]string{`</v2/a/tags/list?last=b&n=2>; rel="next"`}, "https://r.example/v2/a/tags/list?last=b&n=2", false},
		{[]string{`</v2/a/tags/list?last=b,c&n=2>; rel=next`}, "https://r.example/v2/a/tags/list?last=b,c&n=2", false},
		{[]string{`</prev>; rel="prev", </v2/next>; rel="next"`}, "https://r.example/v2/next", false},
		{[]string{`</prev>; rel="prev"`, `</v2/next>; type="x"; rel="next last"`}, "https://r.example/v2/next", false},
		{[]string{`<https://r.example/v2/abs>; rel="next"`}, "https://r.example/v2/abs", false},
		{[]string{`<https://evil.example/v2/x>; rel="next"`}, "", true},
		{[]string{`<http://r.example/v2/x>; rel="next"`}, "", true},
		{[]string{`garbage`, `<unterminated; rel="next"`}, "", false},
		{nil, "", false},
	}
	for _, tt := range tests {
		got, err := nextLink(base, tt.values)
		if (err != nil) != tt.err {
			t.Errorf("nextLink(%q) error = %v", tt.values, err)
			continue
		}
		gotS := ""
		if got != nil {
			gotS = got.String()
		}
		if gotS != tt.want {
			t.Errorf("nextLink(%q) = %q, want %q", tt.values, gotS, tt.want)
		}
	}
}

func TestBackoffBounded(t *testing.T) {
	p := RetryPolicy{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	for attempt := range 70 {
		d := p.backoff(attempt)
		if d <= 0 || d > time.Second {
			t.Fatalf("backoff(%d) = %v", attempt, d)
		}
	}
	if d := p.backoff(0); d < 50*time.Millisecond {
		t.Fatalf("first backoff %v below half the minimum", d)
	}
}

func FuzzLink(f *testing.F) {
	f.Add(`</v2/a/tags/list?last=b&n=2>; rel="next"`)
	f.Add(`<a>; rel=next, <b>; rel="prev"`)
	base, _ := url.Parse("https://r.example/v2/a/tags/list")
	f.Fuzz(func(t *testing.T, v string) {
		u, err := nextLink(base, []string{v})
		if err == nil && u != nil && (u.Host != base.Host || u.Scheme != base.Scheme) {
			t.Fatalf("next link %s leaves the registry", u)
		}
	})
}

func FuzzContentRange(f *testing.F) {
	f.Add("bytes 0-9/10", int64(10))
	f.Add("bytes 5-9/*", int64(10))
	f.Fuzz(func(t *testing.T, v string, size int64) {
		a, err := contentRangeStart(v, size)
		if err == nil && (a < 0 || a >= size) {
			t.Fatalf("start %d outside a %d-byte blob", a, size)
		}
	})
}

func FuzzRetryAfter(f *testing.F) {
	f.Add("120")
	f.Add("Wed, 21 Oct 2015 07:28:00 GMT")
	now := time.Now()
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := parseRetryAfter(v, now)
		if d < 0 || !ok && d != 0 || ok && strings.TrimSpace(v) == "" {
			t.Fatalf("parseRetryAfter(%q) = %v, %v", v, d, ok)
		}
	})
}
