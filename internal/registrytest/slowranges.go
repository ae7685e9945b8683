package registrytest

import (
	"net/http"
	"time"
)

// SlowRangeBytes is how much of every ranged answer SlowRanges sends
// slowly: for about 190 ms, longer than the 100 ms over which a fetch
// into a file measures its first connection before it adds more.
const SlowRangeBytes = 3 << 20

// SlowRanges answers ranged requests as a registry behind a slow link
// does: the first SlowRangeBytes of each body at about 16 MB/s (64 KiB
// every 4 ms), the rest at once. A fetch into a file asks such a registry
// for several ranges at once, where a fast one's single connection
// stays alone.
func SlowRanges(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") == "" {
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(&slowRangeWriter{ResponseWriter: w}, r)
	})
}

type slowRangeWriter struct {
	http.ResponseWriter
	sent int
}

func (w *slowRangeWriter) Write(p []byte) (int, error) {
	total := 0
	for len(p) > 0 && w.sent < SlowRangeBytes {
		n := min(len(p), 64<<10)
		m, err := w.ResponseWriter.Write(p[:n])
		total += m
		w.sent += m
		if err != nil {
			return total, err
		}
		http.NewResponseController(w.ResponseWriter).Flush()
		time.Sleep(4 * time.Millisecond) // the link's pace, not a wait for another goroutine
		p = p[n:]
	}
	if len(p) == 0 {
		return total, nil
	}
	m, err := w.ResponseWriter.Write(p)
	return total + m, err
}

// Unwrap gives http.ResponseController the writer beneath.
func (w *slowRangeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
