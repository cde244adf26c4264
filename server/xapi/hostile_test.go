package xapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/testenv"
	"github.com/reach-london/reach/lrs"
)

// stored counts the statements borough-a holds.
func (h *harness) stored(t *testing.T) int {
	t.Helper()
	resp := h.do(t, "GET", "/xapi/statements?limit=0", "a", "1.0.3", "", nil)
	body := readAll(t, resp)
	var res struct{ Statements []json.RawMessage }
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &res) != nil {
		t.Fatalf("GET statements: %d %s", resp.StatusCode, body)
	}
	return len(res.Statements)
}

func batchOf(n int, stmt func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = stmt(i)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// TestStatementCaps: the caps on statements per request, bytes per
// statement and statements JSON per request answer 413 naming the cap,
// and store nothing (issue 13).
func TestStatementCaps(t *testing.T) {
	h := newHarnessWith(t, testenv.SQLiteURL(t), func(d *Deps) {
		d.Limits = lrs.Limits{MaxStatements: 3, MaxStatementBytes: 400}
		d.MaxBatchBytes = 1500
	})
	plain := func(int) string { return statementJSON("ada", "http://example.org/cap") }
	padded := `{"actor":{"mbox":"mailto:ada@example.org"},"verb":{"id":"http://example.org/verbs/did"},"object":{"id":"http://example.org/` + strings.Repeat("x", 400) + `"}}`
	tests := []struct {
		name, body, want string
	}{
		{"too many statements", batchOf(4, plain), "statements[3]: a request may hold at most 3 statements"},
		{"statement too large", padded, "a statement may have at most 400 bytes"},
		{"statement in a batch too large", "[" + plain(0) + "," + padded + "]", "statements[1] is 526 bytes; a statement may have at most 400 bytes"},
		{"batch JSON too large", batchOf(3, plain) + strings.Repeat(" ", 1500), "larger than 1500 bytes"},
	}
	for _, tt := range tests {
		resp := h.do(t, "POST", "/xapi/statements", "a", "1.0.3", tt.body, nil)
		body := readAll(t, resp)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, tt.want) {
			t.Errorf("%s: got %d %s, want 413 with %q", tt.name, resp.StatusCode, body, tt.want)
		}
	}
	if n := h.stored(t); n != 0 {
		t.Fatalf("%d statements stored after refused requests", n)
	}
	resp := h.do(t, "POST", "/xapi/statements", "a", "1.0.3", batchOf(3, plain), nil)
	if body := readAll(t, resp); resp.StatusCode != http.StatusOK {
		t.Fatalf("a batch within the caps: got %d %s", resp.StatusCode, body)
	}
}

// TestMemoryBudget: a body whose decoded form would take more memory than
// one request may use is refused before it is parsed, though within every
// size cap; an ordinary body of the same size is taken (issue 13).
func TestMemoryBudget(t *testing.T) {
	h := newHarnessWith(t, testenv.SQLiteURL(t), func(d *Deps) { d.MemoryBudget = 4 << 20 })
	tiny := `{"actor":{"mbox":"mailto:ada@example.org"},"verb":{"id":"http://example.org/verbs/did"},"object":{"id":"http://example.org/tiny"},"result":{"extensions":{"http://example.org/x":[` +
		strings.TrimSuffix(strings.Repeat(`{"a":1},`, 30000), ",") + `]}}}`
	resp := h.do(t, "POST", "/xapi/statements", "a", "1.0.3", tiny, nil)
	if body := readAll(t, resp); resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "more than the 4 MiB one request may use") {
		t.Fatalf("tiny objects: got %d %s, want 413 naming the budget", resp.StatusCode, body)
	}
	plain := `{"actor":{"mbox":"mailto:ada@example.org"},"verb":{"id":"http://example.org/verbs/did"},"object":{"id":"http://example.org/plain"},"result":{"response":"` + strings.Repeat("r", len(tiny)) + `"}}`
	resp = h.do(t, "POST", "/xapi/statements", "a", "1.0.3", plain, nil)
	if body := readAll(t, resp); resp.StatusCode != http.StatusOK {
		t.Fatalf("plain statement of the same size: got %d %s", resp.StatusCode, body)
	}
}

// TestLearnerBodyCap: every body sent with a launch token is capped at
// MaxLearnerBodyBytes (by the group's middleware, so documents too), while
// other credentials keep the larger caps (issue 13).
func TestLearnerBodyCap(t *testing.T) {
	actor := `{"mbox":"mailto:ada@example.org"}`
	h := newHarnessWith(t, testenv.SQLiteURL(t), func(d *Deps) {
		d.MaxLearnerBodyBytes = 2000
		learner := principalFor("borough-a", "learner", auth.ScopeStatementsWrite, auth.ScopeState)
		learner.Kind, learner.Actor = auth.KindLaunch, json.RawMessage(actor)
		d.Auth.(testAuth)["learner:learner"] = learner
	})
	big := batchOf(20, func(int) string { return statementJSON("ada", "http://example.org/learner") })
	for _, user := range []string{"learner", "a"} {
		resp := h.do(t, "POST", "/xapi/statements", user, "1.0.3", big, nil)
		body := readAll(t, resp)
		if user == "learner" && (resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "at most 2000 bytes")) {
			t.Errorf("learner batch of %d bytes: got %d %s, want 413 naming the cap", len(big), resp.StatusCode, body)
		}
		if user == "a" && resp.StatusCode != http.StatusOK {
			t.Errorf("LMS batch: got %d %s", resp.StatusCode, body)
		}
	}
	// Chunked (no Content-Length): the cap holds while reading.
	req, _ := http.NewRequest("POST", h.URL+"/xapi/statements", strings.NewReader(big))
	req.ContentLength = -1
	req.Header.Set("Authorization", basic("learner"))
	req.Header.Set(HeaderVersion, "1.0.3")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, res); res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked learner batch: got %d %s, want 413", res.StatusCode, body)
	}
}

// TestStatementTextRefused: invalid UTF-8 and NUL characters (raw or as
// \u0000) in a statement answer 400 naming where, on both backends, and
// store nothing; PostgreSQL used to answer 500 and SQLite to store U+FFFD
// (issue 13).
func TestStatementTextRefused(t *testing.T) {
	eachDB(t, func(t *testing.T, h *harness) {
		tests := []struct{ name, body, want string }{
			{"NUL escape in a verb display", `{"actor":{"mbox":"mailto:ada@example.org"},"verb":{"id":"http://example.org/verbs/did","display":{"en":"a\u0000b"}},"object":{"id":"http://example.org/a"}}`, "statement.verb.display.en: must not contain the NUL character"},
			{"NUL escape in an actor name", `{"actor":{"name":"x\u0000","mbox":"mailto:ada@example.org"},"verb":{"id":"http://example.org/verbs/did"},"object":{"id":"http://example.org/a"}}`, "statement.actor.name: must not contain the NUL"},
			{"NUL escape in an extension key", `[{"actor":{"mbox":"mailto:ada@example.org"},"verb":{"id":"http://example.org/verbs/did"},"object":{"id":"http://example.org/a"},"result":{"extensions":{"http://example.org/x":{"k\u0000":1}}}}]`, "statements[0].result.extensions.http://example.org/x: property names must not contain the NUL"},
			{"invalid UTF-8 in a response", "{\"actor\":{\"mbox\":\"mailto:ada@example.org\"},\"verb\":{\"id\":\"http://example.org/verbs/did\"},\"object\":{\"id\":\"http://example.org/a\"},\"result\":{\"response\":\"\xff\xfe\"}}", "statement: is not valid UTF-8"},
			{"raw NUL", "{\"actor\":{\"mbox\":\"mailto:ada@example.org\"},\"verb\":{\"id\":\"http://example.org/verbs/did\"},\"object\":{\"id\":\"http://example.org/a\x00\"}}", "not valid JSON"},
		}
		for _, tt := range tests {
			for _, method := range []string{"POST", "PUT"} {
				path := "/xapi/statements"
				body := tt.body
				if method == "PUT" {
					if strings.HasPrefix(body, "[") {
						continue
					}
					path += "?statementId=" + sid1
				}
				resp := h.do(t, method, path, "a", "1.0.3", body, nil)
				got := readAll(t, resp)
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(got, tt.want) {
					t.Errorf("%s %s: got %d %s, want 400 with %q", method, tt.name, resp.StatusCode, got, tt.want)
				}
			}
		}
		if n := h.stored(t); n != 0 {
			t.Fatalf("%d statements stored after refused requests", n)
		}
	})
}
