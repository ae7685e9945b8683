package cosign

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/skiffoci/skiff/manifest"
)

// maxJSONDepth bounds the nesting of every JSON document read here; cosign
// writes at most four levels.
const maxJSONDepth = 32

// decodeStrict decodes raw, one JSON value of at most limit bytes, into v
// and refuses what encoding/json would let through silently: unknown
// fields, data after the value, keys repeated in one object (compared
// without case, as encoding/json matches them), and deep nesting.
func decodeStrict(raw []byte, limit int, what string, v any) error {
	if len(raw) > limit {
		return &manifest.LimitError{What: "cosign " + what, Limit: int64(limit)}
	}
	if err := checkKeys(raw); err != nil {
		return wrap(what, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return wrap(what+": invalid JSON", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("cosign: " + what + ": data after the JSON value")
	}
	return nil
}

// checkKeys walks raw's tokens and refuses repeated keys and nesting
// deeper than maxJSONDepth.
func checkKeys(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	type frame struct {
		keys      map[string]bool // nil for an array
		expectKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return errors.New("invalid JSON: " + err.Error())
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		d, isDelim := tok.(json.Delim)
		switch {
		case isDelim && (d == '}' || d == ']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].keys != nil {
				stack[len(stack)-1].expectKey = true
			}
		case top != nil && top.expectKey:
			k := strings.ToLower(tok.(string)) // the decoder allows only strings here
			if top.keys[k] {
				return errors.New("key " + strconv.Quote(truncate(tok.(string), 64)) + " appears twice in one object")
			}
			top.keys[k], top.expectKey = true, false
		case isDelim:
			if len(stack) == maxJSONDepth {
				return errors.New("JSON nested deeper than " + strconv.Itoa(maxJSONDepth) + " levels")
			}
			f := &frame{}
			if d == '{' {
				f.keys, f.expectKey = map[string]bool{}, true
			}
			stack = append(stack, f)
		case top != nil && top.keys != nil:
			top.expectKey = true
		}
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
