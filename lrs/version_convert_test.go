package lrs

import (
	"encoding/json"
	"strings"
	"testing"
)

// A stored statement: the client's bytes with the LRS's properties
// appended, as buildRecord writes them.
func stored(parts ...string) string {
	return body(append(parts, `"id":"6fbd600f-d17c-4c74-801a-2ec2e53231c6"`, `"stored":"2024-05-01T10:00:00.000Z"`,
		`"authority":{"objectType":"Agent","account":{"homePage":"https://reach.example","name":"k"}}`,
		`"timestamp":"2024-05-01T10:00:00.000Z"`)...)
}

const (
	ctxAgents = `"contextAgents":[{"objectType":"contextAgent","agent":{"mbox":"mailto:t@example.org"},"relevantTypes":["http://example.org/types/tutor"]}]`
	ctxGroups = `"contextGroups":[{"objectType":"contextGroup","group":{"objectType":"Group","member":[{"mbox":"mailto:g@example.org"}]}}]`
)

func TestForReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ver  Version
		// want is the exact answer; "" means the statement comes back
		// byte for byte.
		want string
	}{
		{"1.0 statement, 1.0 reader", stored(okActor, okVerb, okObj, `"version":"1.0.0"`), V103, ""},
		{"2.0 statement, 2.0 reader", stored(okActor, okVerb, okObj, `"context":{`+ctxAgents+`}`, `"version":"2.0.0"`), V200, ""},
		{"2.0 statement, no reader version", stored(okActor, okVerb, okObj, `"version":"2.0.0"`), "", ""},
		{"2.0 statement without 2.0 properties: only the version's value changes, bytes kept",
			`{ "actor": {"mbox":"mailto:ada@example.org"}, "verb":{"id":"http://example.org/verbs/did"},` +
				` "object":{"id":"http://example.org/act/1","definition":{"name":{"en":"<b>2.0 & more</b>"}}},` +
				` "version" :  "2.0.0" ,"stored":"2024-05-01T10:00:00.000Z"}`, V103,
			`{ "actor": {"mbox":"mailto:ada@example.org"}, "verb":{"id":"http://example.org/verbs/did"},` +
				` "object":{"id":"http://example.org/act/1","definition":{"name":{"en":"<b>2.0 & more</b>"}}},` +
				` "version" :  "1.0.0" ,"stored":"2024-05-01T10:00:00.000Z"}`},
		{"version 2.0 without patch", `{"actor":{"mbox":"mailto:a@b.c"},"version":"2.0"}`, V103, `{"actor":{"mbox":"mailto:a@b.c"},"version":"1.0.0"}`},
		{"version spelled with escapes", `{"version":"\u0032.0.0"}`, V103, `{"version":"1.0.0"}`},
		{"contextAgents dropped", `{"context":{"registration":"6fbd600f-d17c-4c74-801a-2ec2e53231c6",` + ctxAgents + `},"version":"2.0.0"}`, V103,
			`{"context":{"registration":"6fbd600f-d17c-4c74-801a-2ec2e53231c6"},"version":"1.0.0"}`},
		{"contextGroups dropped, the version already 1.0", `{"context":{` + ctxGroups + `},"version":"1.0.3"}`, V103,
			`{"version":"1.0.3"}`},
		{"a context with nothing else goes", `{"context":{` + ctxAgents + `},"version":"2.0.0"}`, V103, `{"version":"1.0.0"}`},
		{"in a SubStatement too", `{"object":{"objectType":"SubStatement","actor":{"mbox":"mailto:a@b.c"},"verb":{"id":"http://e.org/v"},` +
			`"object":{"id":"http://e.org/a"},"context":{` + ctxAgents + `,` + ctxGroups + `,"language":"en"}},"version":"2.0.0"}`, V103,
			`{"object":{"actor":{"mbox":"mailto:a@b.c"},"context":{"language":"en"},"object":{"id":"http://e.org/a"},"objectType":"SubStatement","verb":{"id":"http://e.org/v"}},"version":"1.0.0"}`},
		{"the names inside an extension are not properties", `{"context":{"extensions":{"http://e.org/x":{"contextAgents":[1]}}},"version":"1.0.0"}`, V103, ""},
		{"a 2.0-looking string elsewhere is left alone", `{"result":{"response":"2.0"},"version":"1.0.0"}`, V103, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ForReader([]byte(tt.in), tt.ver)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == "" {
				want = tt.in
			}
			if string(got) != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

// Every 2.0 statement, once converted, is one the LRS's own 1.0.3
// validation accepts; unconverted, it is not.
func TestForReaderSatisfies103Validation(t *testing.T) {
	for _, s := range []string{
		stored(okActor, okVerb, okObj, `"version":"2.0.0"`),
		stored(okActor, okVerb, okObj, `"context":{`+ctxAgents+`,`+ctxGroups+`}`, `"version":"2.0.0"`),
		stored(okActor, okVerb, `"object":{"objectType":"SubStatement",`+okActor+`,`+okVerb+`,`+okObj+`,"context":{`+ctxGroups+`}}`, `"version":"2.0.0"`),
	} {
		if _, err := ParseStatement([]byte(s), V200); err != nil {
			t.Fatalf("test statement is not valid 2.0: %v", err)
		}
		if _, err := ParseStatement([]byte(s), V103); err == nil {
			t.Errorf("unconverted 2.0 statement passes 1.0.3 validation: %s", s)
		}
		out, err := ForReader([]byte(s), V103)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseStatement(out, V103); err != nil {
			t.Errorf("converted statement fails 1.0.3 validation: %v\n%s", err, out)
		}
	}
}

// A signed statement whose only 2.0 trait is its version still matches
// its signature once converted (comparison sets version aside); one with
// 2.0 properties does not, which the docs say.
func TestForReaderSignedStatements(t *testing.T) {
	// The signer set the timestamp; the LRS added id, stored, authority.
	ts := `"timestamp":"2024-05-01T10:00:00.000Z"`
	payload := body(okActor, okVerb, okObj, ts, `"version":"2.0.0"`)
	att := `"attachments":[{"usageType":"` + SignatureUsageType + `","display":{"en":"sig"},"contentType":"application/octet-stream","length":10,"sha2":"` + strings.Repeat("a", 64) + `"}]`
	plain := stored(okActor, okVerb, okObj, att, `"version":"2.0.0"`)
	out, err := ForReader([]byte(plain), V103)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), att) || !signedMatch(t, out, payload) {
		t.Errorf("version-only conversion lost the signature or its match: %s", out)
	}

	payload2 := body(okActor, okVerb, okObj, `"context":{`+ctxAgents+`}`, ts, `"version":"2.0.0"`)
	with := stored(okActor, okVerb, okObj, `"context":{`+ctxAgents+`}`, att, `"version":"2.0.0"`)
	if !signedMatch(t, []byte(with), payload2) {
		t.Fatal("the stored statement does not match its payload to begin with")
	}
	out, err = ForReader([]byte(with), V103)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"usageType":"`+SignatureUsageType+`"`) {
		t.Errorf("the signature attachment was dropped: %s", out)
	}
	if signedMatch(t, out, payload2) {
		t.Errorf("a statement that lost contextAgents still matches its signature payload")
	}
}

func signedMatch(t *testing.T, statement []byte, payload string) bool {
	t.Helper()
	var s, p map[string]any
	if err := json.Unmarshal(statement, &s); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(payload), &p); err != nil {
		t.Fatal(err)
	}
	return sameSignedContent(s, p)
}
