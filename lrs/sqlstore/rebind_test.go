package sqlstore

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/reach-london/reach/lrs"
)

func TestRebind(t *testing.T) {
	tests := []struct {
		q        string
		args     []any
		wantQ    string
		wantArgs string
	}{
		{"SELECT 1", nil, "SELECT 1", "[]"},
		{"a = $1 AND b = $2", []any{"x", "y"}, "a = ? AND b = ?", "[x y]"},
		{"a = $2 AND b = $1 AND c = $2", []any{"x", "y"}, "a = ? AND b = ? AND c = ?", "[y x y]"},
		{"a IN ($1, $10, $2)", []any{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, "a IN (?, ?, ?)", "[1 10 2]"},
		{"price = '$'", nil, "price = '$'", "[]"},
	}
	for _, tt := range tests {
		q, args := rebind(tt.q, tt.args)
		if q != tt.wantQ || fmt.Sprint(args) != tt.wantArgs {
			t.Errorf("rebind(%q) = %q %v, want %q %s", tt.q, q, args, tt.wantQ, tt.wantArgs)
		}
	}
}

func TestDefCacheCovers(t *testing.T) {
	var c defCache
	c.put(map[string]map[string]any{defKey("b", "http://x.org/a"): {"name": map[string]any{"en": "A", "fr": "A"}}})
	tests := []struct {
		def  map[string]any
		want bool
	}{
		{map[string]any{"name": map[string]any{"en": "A"}}, true},
		{map[string]any{"name": map[string]any{"de": "A"}}, false},
		{map[string]any{"type": "http://x.org/t"}, false},
	}
	for _, tt := range tests {
		if got := c.covers("b", "http://x.org/a", tt.def); got != tt.want {
			t.Errorf("covers(%v) = %v, want %v", tt.def, got, tt.want)
		}
	}
	if c.covers("other", "http://x.org/a", map[string]any{"name": map[string]any{"en": "A"}}) {
		t.Error("the cache answered for another borough")
	}
}

// mergesToSame must answer as comparing the merged definition would.
func TestMergesToSame(t *testing.T) {
	have := map[string]any{
		"name":       map[string]any{"en": "A", "fr": "A"},
		"type":       "http://x.org/t",
		"extensions": map[string]any{"http://x.org/e": []any{"1", map[string]any{"k": "v"}}},
		"choices":    []any{map[string]any{"id": "a"}},
	}
	for _, d := range []map[string]any{
		{},
		{"name": map[string]any{"en": "A"}},
		{"name": map[string]any{"en": "B"}},
		{"name": map[string]any{"de": "A"}},
		{"name": "A"},
		{"type": "http://x.org/t"},
		{"type": "http://x.org/u"},
		{"description": map[string]any{"en": "A"}},
		{"extensions": map[string]any{"http://x.org/e": []any{"1", map[string]any{"k": "v"}}}},
		{"extensions": map[string]any{"http://x.org/e": []any{"1"}}},
		{"choices": []any{map[string]any{"id": "a"}}},
		{"choices": []any{map[string]any{"id": "b"}}},
		{"moreInfo": nil},
	} {
		want := reflect.DeepEqual(lrs.MergeDefinition(have, d), have)
		if got := mergesToSame(have, d); got != want {
			t.Errorf("mergesToSame(%v) = %v, want %v", d, got, want)
		}
	}
}
