package layout_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/skiffoci/skiff/layout"
)

// Index, Tags and Resolve read index.json anew: changing what they
// returned changes nothing of the layout, or of what a Reader over it
// answers next.
func TestLayoutAccessorsAreCopies(t *testing.T) {
	ctx := context.Background()
	l, dir := create(t)
	pushImage(t, l, buildImage(t, "amd64", map[string]string{"a": "a"}, true), "v1")
	r, err := layout.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	state := func() string {
		idx, err := l.Index()
		if err != nil {
			t.Fatal(err)
		}
		tags, _ := l.Tags(ctx)
		d, _ := l.Resolve(ctx, "v1")
		b, _ := json.Marshal([]any{idx, tags, d})
		return string(b)
	}
	before := state()
	idx, _ := l.Index()
	idx.Manifests[0].Annotations[layout.RefNameAnnotation] = "changed"
	idx.Manifests = idx.Manifests[:0]
	tags, _ := l.Tags(ctx)
	tags[0] = "changed"
	d, _ := l.Resolve(ctx, "v1")
	d.Annotations[layout.RefNameAnnotation] = "changed"
	d, _ = r.Resolve(ctx, "v1")
	d.Annotations[layout.RefNameAnnotation] = "changed"
	if after := state(); after != before {
		t.Errorf("changing what the layout returned changed it:\nbefore %s\nafter  %s", before, after)
	}
}
