package xapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"mime"
	"net/url"
	"strings"
	"testing"

	"github.com/reach-london/reach/lrs"
)

const (
	sid20  = "22222222-2222-4222-8222-222222222222"
	sid20b = "22222222-2222-4222-8222-333333333333"
)

type statementPage struct {
	Statements []json.RawMessage
	More       string
}

// A statement stored under 2.0 with contextAgents comes back unchanged to
// a 2.0 reader and in 1.0.3 form to a 1.0.3 reader: by id, in query
// pages and their more links, in every format and with attachments.
func TestStatementsStoredUnder20ReadBy103(t *testing.T) {
	eachDB(t, func(t *testing.T, h *harness) {
		data := []byte("an essay")
		sum := sha256.Sum256(data)
		sha := hex.EncodeToString(sum[:])
		with := `{"id":"` + sid20 + `","actor":{"mbox":"mailto:ada@example.org"},"verb":{"id":"http://example.org/verbs/did"},"object":{"id":"http://example.org/v2"},` +
			`"context":{"contextAgents":[{"objectType":"contextAgent","agent":{"mbox":"mailto:tutor@example.org"},"relevantTypes":["http://example.org/types/tutor"]}]},` +
			`"attachments":[{"usageType":"http://example.org/essay","display":{"en":"Essay"},"contentType":"text/plain","length":8,"sha2":"` + sha + `"}]}`
		body, ct := multipartRequest(t, with, map[string][]byte{"text/plain": data})
		if resp := h.do(t, "POST", "/xapi/statements", "a", "2.0.0", body, map[string]string{"Content-Type": ct}); resp.StatusCode != 200 {
			t.Fatalf("post under 2.0: got %d %s", resp.StatusCode, readAll(t, resp))
		} else {
			readAll(t, resp)
		}
		plain := `{"id":"` + sid20b + `","actor":{"mbox":"mailto:ada@example.org"},"verb":{"id":"http://example.org/verbs/did"},"object":{"id":"http://example.org/v2"}}`
		if resp := h.do(t, "PUT", "/xapi/statements?statementId="+sid20b, "a", "2.0.0", plain, nil); resp.StatusCode != 204 {
			t.Fatalf("put under 2.0: got %d %s", resp.StatusCode, readAll(t, resp))
		}
		if resp := h.do(t, "POST", "/xapi/statements", "a", "1.0.3", statementJSON("ada", "http://example.org/v2"), nil); resp.StatusCode != 200 {
			t.Fatalf("post under 1.0.3: got %d %s", resp.StatusCode, readAll(t, resp))
		} else {
			readAll(t, resp)
		}

		get := func(ver, params string) string {
			t.Helper()
			resp := h.do(t, "GET", "/xapi/statements?"+params, "a", ver, "", nil)
			got := readAll(t, resp)
			if resp.StatusCode != 200 {
				t.Fatalf("%s %s: got %d %s", ver, params, resp.StatusCode, got)
			}
			return got
		}
		check103 := func(what string, stmt []byte) {
			t.Helper()
			if bytes.Contains(stmt, []byte("contextAgents")) || bytes.Contains(stmt, []byte(`"version":"2.`)) {
				t.Errorf("%s for 1.0.3 has 2.0 traits: %s", what, stmt)
			}
			if _, err := lrs.ParseStatement(stmt, lrs.V103); err != nil {
				t.Errorf("%s for 1.0.3 fails 1.0.3 validation: %v\n%s", what, err, stmt)
			}
		}

		// By id.
		v2 := get("2.0.0", "statementId="+sid20)
		if !strings.Contains(v2, `"contextAgents":[{"objectType":"contextAgent"`) || !strings.Contains(v2, `"version":"2.0.0"`) {
			t.Errorf("2.0 reader: got %s, want the statement as stored", v2)
		}
		v1 := get("1.0.3", "statementId="+sid20)
		check103("by id", []byte(v1))
		var s struct {
			ID      string
			Version string
		}
		if err := json.Unmarshal([]byte(v1), &s); err != nil || s.ID != sid20 || s.Version != "1.0.0" {
			t.Errorf("1.0.3 reader: got id %q version %q (%v), want %s and 1.0.0", s.ID, s.Version, err, sid20)
		}
		if v := get("1.0.3", "statementId="+sid20b); !strings.Contains(v, `"version":"1.0.0"`) {
			t.Errorf("2.0 statement without 2.0 properties for 1.0.3: got %s", v)
		}
		for _, f := range []string{"ids", "canonical", "exact"} {
			check103("format="+f, []byte(get("1.0.3", "format="+f+"&statementId="+sid20)))
			if v := get("2.0.0", "format="+f+"&statementId="+sid20); !strings.Contains(v, "contextAgents") {
				t.Errorf("format=%s for 2.0 lost contextAgents: %s", f, v)
			}
		}

		// Pages and more links: the same statements in the same order for
		// both readers, each converted for 1.0.3.
		walk := func(ver, first string) []string {
			t.Helper()
			var ids []string
			next := "/xapi/statements?" + first
			for next != "" {
				resp := h.do(t, "GET", next, "a", ver, "", nil)
				var page statementPage
				if err := json.Unmarshal([]byte(readAll(t, resp)), &page); err != nil {
					t.Fatal(err)
				}
				for _, st := range page.Statements {
					if ver == "1.0.3" {
						check103("page", st)
					}
					var s struct{ ID string }
					_ = json.Unmarshal(st, &s)
					ids = append(ids, s.ID)
				}
				next = page.More
			}
			return ids
		}
		for _, q := range []string{"limit=1", "limit=1&format=ids", "limit=2&ascending=true&format=canonical"} {
			got1, got2 := walk("1.0.3", q), walk("2.0.0", q)
			if len(got1) != 3 || strings.Join(got1, ",") != strings.Join(got2, ",") {
				t.Errorf("%s: 1.0.3 pages %v, 2.0 pages %v; want the same three", q, got1, got2)
			}
		}

		// With attachments (multipart/mixed), by id and as a list.
		for _, params := range []string{"attachments=true&statementId=" + sid20, "attachments=true&activity=" + url.QueryEscape("http://example.org/v2")} {
			resp := h.do(t, "GET", "/xapi/statements?"+params, "a", "1.0.3", "", nil)
			mt, mp, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
			if err != nil || mt != "multipart/mixed" {
				t.Fatalf("%s: got Content-Type %q", params, resp.Header.Get("Content-Type"))
			}
			first, parts, err := lrs.ParseMultipart(resp.Body, mp["boundary"], 1<<20)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if len(parts) != 1 || !bytes.Equal(parts[0].Data, data) {
				t.Errorf("%s: got %d parts, want the essay", params, len(parts))
			}
			if strings.Contains(params, "statementId") {
				check103("multipart by id", first)
				continue
			}
			var page statementPage
			if err := json.Unmarshal(first, &page); err != nil {
				t.Fatal(err)
			}
			for _, st := range page.Statements {
				check103("multipart page", st)
			}
		}
	})
}
