package xapi

import (
	"net/url"
	"testing"
)

func TestAgentsResourceGathersNames(t *testing.T) {
	eachDB(t, func(t *testing.T, h *harness) {
		post := func(user, actor string) {
			t.Helper()
			st := `{"actor":` + actor + `,"verb":{"id":"http://example.org/verbs/did"},"object":{"id":"http://example.org/a"}}`
			resp := h.do(t, "POST", "/xapi/statements", user, "1.0.3", st, nil)
			if got := readAll(t, resp); resp.StatusCode != 200 {
				t.Fatalf("post: got %d %s", resp.StatusCode, got)
			}
		}
		post("a", `{"name":"Ada Lovelace","mbox":"mailto:ada@example.org"}`)
		post("a", `{"name":"Augusta Ada King","mbox":"mailto:ada@example.org"}`)
		post("a", `{"name":"Someone Else","mbox":"mailto:else@example.org"}`)
		post("b", `{"name":"Ada of Borough B","mbox":"mailto:ada@example.org"}`)
		agent := func(a string) string { return "/xapi/agents?agent=" + url.QueryEscape(a) }
		tests := []struct {
			name, user, agent, want string
		}{
			{"names known in the borough", "a", `{"mbox":"mailto:ada@example.org","name":"Asked"}`,
				`{"objectType":"Person","name":["Ada Lovelace","Augusta Ada King"],"mbox":["mailto:ada@example.org"]}`},
			{"the other borough knows its own name only", "b", `{"mbox":"mailto:ada@example.org"}`,
				`{"objectType":"Person","name":["Ada of Borough B"],"mbox":["mailto:ada@example.org"]}`},
			{"an agent never seen comes back as asked", "a", `{"mbox":"mailto:new@example.org","name":"New"}`,
				`{"objectType":"Person","name":["New"],"mbox":["mailto:new@example.org"]}`},
			{"read/mine credentials learn no stored names", "mine", `{"mbox":"mailto:ada@example.org","name":"Asked"}`,
				`{"objectType":"Person","name":["Asked"],"mbox":["mailto:ada@example.org"]}`},
		}
		for _, tt := range tests {
			for _, ver := range []string{"1.0.3", "2.0.0"} {
				resp := h.do(t, "GET", agent(tt.agent), tt.user, ver, "", nil)
				if got := readAll(t, resp); resp.StatusCode != 200 || got != tt.want {
					t.Errorf("%s (%s): got %d %s, want %s", tt.name, ver, resp.StatusCode, got, tt.want)
				}
			}
		}
	})
}
