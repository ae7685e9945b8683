package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/skiffoci/skiff/manifest"
)

// maxListPages bounds how many pages of tags or repositories are followed
// (RELIABILITY #45): at the default page size of 100 that is 100,000 names.
const maxListPages = 1000

// maxListBody bounds one page of a tag or catalog listing.
const maxListBody = 8 << 20

// maxListTotal bounds the pages of one listing together: without it
// maxListPages pages of maxListBody would keep 8 GB of names in memory.
// A million tags of 30 characters take 32 MiB.
const maxListTotal = 64 << 20

// Tags lists every tag of the repository, following Link pagination.
func (r *Repository) Tags(ctx context.Context) ([]string, error) {
	u, err := r.url(ctx, "tags/list")
	if err != nil {
		return nil, err
	}
	var tags []string
	err = r.client.list(ctx, u, func(raw []byte) error {
		var page struct {
			Tags []string `json:"tags"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return fmt.Errorf("registry: tags of %s: %w", r.name, err)
		}
		tags = append(tags, page.Tags...)
		return nil
	})
	return tags, err
}

// Catalog lists the repositories on host, following Link pagination.
// Many registries refuse it or list only what the caller may see.
func (c *Client) Catalog(ctx context.Context, host string) ([]string, error) {
	host = apiHost(host)
	c.init()
	c.authT.AddHost(host)
	base, err := c.baseURL(ctx, host)
	if err != nil {
		return nil, err
	}
	var repos []string
	err = c.list(ctx, base.JoinPath("v2", "_catalog"), func(raw []byte) error {
		var page struct {
			Repositories []string `json:"repositories"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return fmt.Errorf("registry: catalog of %s: %w", host, err)
		}
		repos = append(repos, page.Repositories...)
		return nil
	})
	return repos, err
}

// list GETs u and every page its Link headers lead to, handing each body
// to page.
func (c *Client) list(ctx context.Context, u *url.URL, page func([]byte) error) error {
	seen := map[string]int{}
	total := 0
	for n := range maxListPages {
		if first, ok := seen[u.String()]; ok {
			return fmt.Errorf("registry: listing %s loops: page %d links back to page %d", u.Redacted(), n+1, first+1)
		}
		seen[u.String()] = n
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return err
		}
		resp, raw, err := c.readBody(req, c.sendOK, maxListBody, "listing page of "+u.Host)
		if total += len(raw); err == nil && total > maxListTotal {
			err = &manifest.LimitError{What: "listing from " + u.Host + " (all its pages)", Limit: maxListTotal}
		}
		if err == nil {
			err = page(raw)
		}
		if err != nil {
			return err
		}
		next, err := nextLink(u, resp.Header.Values("Link"))
		if err != nil || next == nil {
			return err
		}
		u = next
	}
	return fmt.Errorf("registry: listing %s: more than %d pages", u.Redacted(), maxListPages)
}

// nextLink finds the rel="next" target among Link header values (RFC
// 8288), resolved against base; it must stay on base's scheme and host.
func nextLink(base *url.URL, values []string) (*url.URL, error) {
	for _, v := range values {
		for _, link := range splitLinks(v) {
			target, params, ok := parseLink(link)
			if !ok || !hasRelNext(params) {
				continue
			}
			u, err := base.Parse(target)
			if err != nil {
				return nil, fmt.Errorf("registry: bad Link %q: %w", truncate(link, 200), err)
			}
			if u.Scheme != base.Scheme || u.Host != base.Host {
				return nil, fmt.Errorf("registry: Link leads to another host: %s", u.Redacted())
			}
			return u, nil
		}
	}
	return nil, nil
}

// splitLinks splits a Link header value at the commas between links,
// ignoring commas inside <…> and quotes.
func splitLinks(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"' && depth == 0:
			quoted = !quoted
		case c == '<' && !quoted:
			depth++
		case c == '>' && !quoted && depth > 0:
			depth--
		case c == ',' && !quoted && depth == 0:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// parseLink splits `<target>; k=v; k="v"` into its parts.
func parseLink(link string) (string, map[string]string, bool) {
	link = strings.TrimSpace(link)
	if !strings.HasPrefix(link, "<") {
		return "", nil, false
	}
	end := strings.IndexByte(link, '>')
	if end < 0 {
		return "", nil, false
	}
	params := map[string]string{}
	for _, p := range strings.Split(link[end+1:], ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if k != "" {
			params[strings.ToLower(k)] = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return link[1:end], params, true
}

func hasRelNext(params map[string]string) bool {
	for _, rel := range strings.Fields(params["rel"]) {
		if strings.EqualFold(rel, "next") {
			return true
		}
	}
	return false
}
