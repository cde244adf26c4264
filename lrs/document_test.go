package lrs

import (
	"strings"
	"testing"
)

func TestETagListMatches(t *testing.T) {
	cur := &Document{ETag: ETagOf([]byte("hello"))}
	quoted := `"` + cur.ETag + `"`
	tests := []struct {
		header string
		cur    *Document
		weak   bool
		want   bool
	}{
		{"*", cur, false, true},
		{"*", nil, false, false},
		{quoted, cur, false, true},
		{quoted, nil, false, false},
		{cur.ETag, cur, false, true}, // unquoted, accepted
		{strings.ToUpper(quoted), cur, false, true},
		{`"1234", ` + quoted, cur, false, true},
		{`"1234"`, cur, false, false},
		{"W/" + quoted, cur, false, false}, // If-Match compares strongly
		{"W/" + quoted, cur, true, true},   // If-None-Match weakly
		{`""`, cur, false, false},
	}
	for _, tt := range tests {
		if got := etagListMatches(tt.header, tt.cur, tt.weak); got != tt.want {
			t.Errorf("etagListMatches(%q, exists=%v, weak=%v) = %v, want %v", tt.header, tt.cur != nil, tt.weak, got, tt.want)
		}
	}
}

func TestIsJSONMediaType(t *testing.T) {
	tests := map[string]bool{
		"application/json":                true,
		"application/json; charset=utf-8": true,
		"Application/JSON":                true,
		"application/json;":               true,
		"application/octet-stream":        false,
		"application/jsonx":               false,
		"text/json":                       false,
		"":                                false,
	}
	for ct, want := range tests {
		if got := isJSONMediaType(ct); got != want {
			t.Errorf("isJSONMediaType(%q) = %v, want %v", ct, got, want)
		}
	}
}

func TestDecodeJSONObject(t *testing.T) {
	tests := []struct {
		in   string
		want int // number of properties, -1 for an error
	}{
		{`{}`, 0},
		{` {"a":1,"b":{"c":[1,2]}} `, 2},
		{`[]`, -1},
		{`"x"`, -1},
		{`null`, -1},
		{`{"a":1}{`, -1},
		{`{"a":1} {"b":2}`, -1},
		{`{"a":`, -1},
		{``, -1},
	}
	for _, tt := range tests {
		m, err := decodeJSONObject([]byte(tt.in))
		switch {
		case tt.want < 0 && err == nil:
			t.Errorf("decodeJSONObject(%q) = %v, want an error", tt.in, m)
		case tt.want >= 0 && (err != nil || len(m) != tt.want):
			t.Errorf("decodeJSONObject(%q) = %v, %v; want %d properties", tt.in, m, err, tt.want)
		}
	}
}

func TestETagOf(t *testing.T) {
	// The SHA-1 of "hello", as xAPI 1.0.3 requires the ETag to be.
	if got, want := ETagOf([]byte("hello")), "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"; got != want {
		t.Errorf("ETagOf(hello) = %s, want %s", got, want)
	}
}

// FuzzDocumentRequest feeds arbitrary parameters, headers and bodies to
// the request validation and the merge input checks: they must return an
// error or a key, never panic, and a key must satisfy the length limits.
func FuzzDocumentRequest(f *testing.F) {
	f.Add("http://example.org/a", `{"mbox":"mailto:a@b.c"}`, "", "s1", `"abc"`, []byte(`{"a":1}`))
	f.Add("urn:x", `{"objectType":"Group","account":{"homePage":"http://h","name":"n"}}`, "6F2A0D6C-54D1-4C77-9B8E-3E5D0C7A1B22", "é", "W/*", []byte(`[1]`))
	f.Add("", "true", "x", "", ",,", []byte{0xff})
	f.Fuzz(func(t *testing.T, activity, agent, reg, id, ifMatch string, body []byte) {
		for _, kind := range []DocumentKind{StateDocument, ActivityProfileDocument, AgentProfileDocument} {
			r := DocumentRequest{Kind: kind, ActivityID: activity, Agent: agent, Registration: reg, ID: id, IfMatch: ifMatch}
			k, err := r.key(true)
			if err == nil && (len(k.ActivityID) > maxActivityIDLen || len(k.ID) > maxDocIDLen || len(k.AgentKey) > maxAgentKeyLen || k.ID == "") {
				t.Fatalf("key %+v breaks the limits", k)
			}
		}
		doc := &Document{ETag: ETagOf(body)}
		etagListMatches(ifMatch, doc, false)
		etagListMatches(ifMatch, doc, true)
		if m, err := decodeJSONObject(body); err == nil && m == nil {
			t.Fatal("nil map without error")
		}
		_, _ = checkDocumentContent("application/json", body)
	})
}
