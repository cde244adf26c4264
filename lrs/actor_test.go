package lrs

import (
	"strings"
	"testing"

	"github.com/reach-london/reach/internal/errs"
)

func TestParseActor(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantKey string
		wantErr string
	}{
		{"mbox agent", `{"mbox":"mailto:ada@example.org","name":"Ada"}`, "mbox:mailto:ada@example.org", ""},
		{"agent objectType", `{"objectType":"Agent","mbox":"mailto:ada@example.org"}`, "mbox:mailto:ada@example.org", ""},
		{"sha1", `{"mbox_sha1sum":"ABCDEF0123456789abcdef0123456789abcdef01"}`, "sha1:abcdef0123456789abcdef0123456789abcdef01", ""},
		{"openid", `{"openid":"http://openid.example.org/ada"}`, "openid:http://openid.example.org/ada", ""},
		{"account", `{"account":{"homePage":"http://example.org","name":"a:b"}}`, "account:http%3A%2F%2Fexample.org:a:b", ""},
		{"anonymous group", `{"objectType":"Group","member":[{"mbox":"mailto:a@b.c"}]}`, "", ""},
		{"identified group", `{"objectType":"Group","mbox":"mailto:team@b.c"}`, "mbox:mailto:team@b.c", ""},
		{"no ifi", `{"name":"Ada"}`, "", "exactly one of"},
		{"two ifis", `{"mbox":"mailto:a@b.c","openid":"http://x.y/z"}`, "", "exactly one of"},
		{"bad mbox", `{"mbox":"ada@example.org"}`, "", "mailto"},
		{"bad sha1", `{"mbox_sha1sum":"xyz"}`, "", "40 hexadecimal"},
		{"bad openid", `{"openid":"not a uri"}`, "", "absolute URI"},
		{"account without name", `{"account":{"homePage":"http://example.org"}}`, "", `"name" is required`},
		{"account bad homePage", `{"account":{"homePage":"example","name":"x"}}`, "", "IRL"},
		{"unknown property", `{"mbox":"mailto:a@b.c","age":3}`, "", `unknown property "age"`},
		{"member on agent", `{"mbox":"mailto:a@b.c","member":[]}`, "", `unknown property "member"`},
		{"null name", `{"mbox":"mailto:a@b.c","name":null}`, "", "must be a string"},
		{"bad objectType", `{"objectType":"Person","mbox":"mailto:a@b.c"}`, "", `"Agent" or "Group"`},
		{"group in group", `{"objectType":"Group","member":[{"objectType":"Group","mbox":"mailto:a@b.c"}]}`, "", "must be Agents"},
		{"anonymous group no members", `{"objectType":"Group"}`, "", "member list"},
		{"anonymous group empty members", `{"objectType":"Group","member":[]}`, "", "at least one member"},
		{"not an object", `[1]`, "", "must be a JSON object"},
		{"bad json", `{`, "", "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseActor([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				if !errs.Is(err, errs.Invalid) {
					t.Fatalf("got kind %v, want Invalid", errs.KindOf(err))
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got := a.Key(); got != tt.wantKey {
				t.Fatalf("got key %q, want %q", got, tt.wantKey)
			}
		})
	}
}

func TestParseAgentRejectsGroup(t *testing.T) {
	if _, err := ParseAgent([]byte(`{"objectType":"Group","mbox":"mailto:a@b.c"}`)); err == nil {
		t.Fatal("got nil error for a Group, want one")
	}
	a, err := ParseAgent([]byte(`{"mbox":"mailto:a@b.c","name":"A"}`))
	if err != nil || a.Key() != "mbox:mailto:a@b.c" {
		t.Fatalf("got %v, %v; want the agent", a, err)
	}
}
