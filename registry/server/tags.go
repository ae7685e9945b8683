package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
)

// Page sizes of the catalog: its default and the largest n accepted, as
// in distribution.
const (
	catalogPageSize = 100
	catalogMaxN     = 1000
)

// serveTags lists a repository's tags in lexical order (end-8a, end-8b).
func (s *Server) serveTags(w http.ResponseWriter, r *http.Request, rt Route) {
	links, err := s.store.List(rt.Name, KindTag)
	if err != nil {
		s.storageError(w, err, CodeNameUnknown, map[string]string{"name": rt.Name})
		return
	}
	tags := make([]string, len(links))
	for i, l := range links {
		tags[i] = l.Name
	}
	page, ok := paginate(w, r, tags, -1, "/v2/"+rt.Name+"/tags/list")
	if ok {
		writeJSON(w, struct {
			Name string   `json:"name"`
			Tags []string `json:"tags"`
		}{rt.Name, page})
	}
}

// serveCatalog lists repositories, 100 at a time unless n says otherwise.
func (s *Server) serveCatalog(w http.ResponseWriter, r *http.Request) {
	repos, err := s.store.Repositories()
	if err != nil {
		s.internalError(w, err)
		return
	}
	page, ok := paginate(w, r, repos, catalogPageSize, "/v2/_catalog")
	if ok {
		writeJSON(w, struct {
			Repositories []string `json:"repositories"`
		}{page})
	}
}

// paginate applies the n and last parameters to a sorted list. When more
// entries follow the page it sets distribution's Link header,
// `</path?last=X&n=N>; rel="next"`. A bad n answers 400
// PAGINATION_NUMBER_INVALID. defaultN < 0 means everything.
func paginate(w http.ResponseWriter, r *http.Request, all []string, defaultN int, path string) ([]string, bool) {
	q := r.URL.Query()
	n, ok := pageSize(q, defaultN, path == "/v2/_catalog")
	if !ok {
		writeError(w, http.StatusBadRequest, CodePaginationInvalid, map[string]string{"n": truncate(q.Get("n"), 50)})
		return nil, false
	}
	if q.Has("last") {
		last := q.Get("last")
		all = all[sort.Search(len(all), func(i int) bool { return all[i] > last }):]
	}
	if n < 0 || n >= len(all) {
		return append([]string{}, all...), true
	}
	page := all[:n]
	if n > 0 {
		next := url.Values{"last": {page[n-1]}, "n": {strconv.Itoa(n)}}
		w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, path, next.Encode()))
	}
	return append([]string{}, page...), true
}

func pageSize(q url.Values, defaultN int, catalog bool) (int, bool) {
	if !q.Has("n") {
		return defaultN, true
	}
	n, err := strconv.Atoi(q.Get("n"))
	if err != nil || n < 0 || (catalog && n > catalogMaxN) {
		return 0, false
	}
	return n, true
}

// writeJSON answers 200 with v, as application/json unless a
// Content-Type is set already.
func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}
