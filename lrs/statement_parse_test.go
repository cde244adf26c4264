package lrs

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/reach-london/reach/internal/errs"
)

const (
	okActor = `"actor":{"mbox":"mailto:ada@example.org"}`
	okVerb  = `"verb":{"id":"http://example.org/verbs/did","display":{"en-GB":"did"}}`
	okObj   = `"object":{"id":"http://example.org/act/1"}`
)

func body(parts ...string) string { return "{" + strings.Join(parts, ",") + "}" }

func TestParseStatementsValidation(t *testing.T) {
	tests := []struct {
		name    string
		ver     Version
		in      string
		wantErr string // "" for valid
	}{
		{"minimal", V103, body(okActor, okVerb, okObj), ""},
		{"batch", V103, "[" + body(okActor, okVerb, okObj) + "," + body(okActor, okVerb, okObj) + "]", ""},
		{"empty batch", V103, "[]", "empty array"},
		{"not an object", V103, `"x"`, "statement object or an array"},
		{"trailing data", V103, body(okActor, okVerb, okObj) + "{}", "after the JSON value"},
		{"missing actor", V103, body(okVerb, okObj), `"actor" is required`},
		{"missing verb", V103, body(okActor, okObj), `"verb" is required`},
		{"missing object", V103, body(okActor, okVerb), `"object" is required`},
		{"unknown property", V103, body(okActor, okVerb, okObj, `"colour":"red"`), `unknown property "colour"`},
		{"bad id", V103, body(`"id":"123"`, okActor, okVerb, okObj), "must be a UUID"},
		{"duplicate ids in batch", V103, "[" + body(`"id":"00000000-0000-4000-8000-000000000001"`, okActor, okVerb, okObj) + "," +
			body(`"id":"00000000-0000-4000-8000-000000000001"`, okActor, okVerb, okObj) + "]", "appears twice"},
		{"verb id not IRI", V103, body(okActor, `"verb":{"id":"did"}`, okObj), "must be an IRI"},
		{"bad language tag", V103, body(okActor, `"verb":{"id":"http://x.org/v","display":{"not a tag":"x"}}`, okObj), "language tag"},
		{"display value not string", V103, body(okActor, `"verb":{"id":"http://x.org/v","display":{"en":1}}`, okObj), "must be a string"},
		{"activity id not IRI", V103, body(okActor, okVerb, `"object":{"id":"act"}`), "must be an IRI"},
		{"agent object without objectType", V103, body(okActor, okVerb, `"object":{"mbox":"mailto:b@example.org"}`), `unknown property "mbox"`},
		{"agent object", V103, body(okActor, okVerb, `"object":{"objectType":"Agent","mbox":"mailto:b@example.org"}`), ""},
		{"statement ref", V103, body(okActor, okVerb, `"object":{"objectType":"StatementRef","id":"00000000-0000-4000-8000-000000000001"}`), ""},
		{"bad statement ref", V103, body(okActor, okVerb, `"object":{"objectType":"StatementRef","id":"x"}`), "must be a UUID"},
		{"voiding needs a StatementRef", V103, body(okActor, `"verb":{"id":"`+VoidedVerb+`"}`, okObj), "StatementRef object"},
		{"substatement", V103, body(okActor, okVerb, `"object":{"objectType":"SubStatement",`+okActor+","+okVerb+","+okObj+`}`), ""},
		{"nested substatement", V103, body(okActor, okVerb, `"object":{"objectType":"SubStatement",`+okActor+","+okVerb+
			`,"object":{"objectType":"SubStatement",`+okActor+","+okVerb+","+okObj+`}}`), "another SubStatement"},
		{"substatement with id", V103, body(okActor, okVerb, `"object":{"objectType":"SubStatement","id":"00000000-0000-4000-8000-000000000001",`+okActor+","+okVerb+","+okObj+`}`), `unknown property "id"`},
		{"interaction list without type", V103, body(okActor, okVerb, `"object":{"id":"http://x.org/a","definition":{"choices":[{"id":"a"}]}}`), "requires \"interactionType\""},
		{"interaction choice", V103, body(okActor, okVerb, `"object":{"id":"http://x.org/a","definition":{"interactionType":"choice","correctResponsesPattern":["a"],"choices":[{"id":"a","description":{"en":"A"}}]}}`), ""},
		{"unknown interaction type", V103, body(okActor, okVerb, `"object":{"id":"http://x.org/a","definition":{"interactionType":"dance"}}`), "unknown interaction type"},
		{"score scaled out of range", V103, body(okActor, okVerb, okObj, `"result":{"score":{"scaled":1.5}}`), "between -1 and 1"},
		{"score raw above max", V103, body(okActor, okVerb, okObj, `"result":{"score":{"raw":11,"min":0,"max":10}}`), "greater than max"},
		{"score max not above min", V103, body(okActor, okVerb, okObj, `"result":{"score":{"min":5,"max":5}}`), "greater than min"},
		{"success not boolean", V103, body(okActor, okVerb, okObj, `"result":{"success":"yes"}`), "true or false"},
		{"bad duration", V103, body(okActor, okVerb, okObj, `"result":{"duration":"1 hour"}`), "ISO 8601 duration"},
		{"good duration", V103, body(okActor, okVerb, okObj, `"result":{"duration":"PT1H0.125S"}`), ""},
		{"null extension value", V103, body(okActor, okVerb, okObj, `"result":{"extensions":{"http://x.org/e":null}}`), ""},
		{"extension key not IRI", V103, body(okActor, okVerb, okObj, `"result":{"extensions":{"e":1}}`), "must be an IRI"},
		{"registration not UUID", V103, body(okActor, okVerb, okObj, `"context":{"registration":"r"}`), "must be a UUID"},
		{"revision with agent object", V103, body(okActor, okVerb, `"object":{"objectType":"Agent","mbox":"mailto:b@example.org"}`, `"context":{"revision":"1"}`), "only be used when"},
		{"team not a group", V103, body(okActor, okVerb, okObj, `"context":{"team":{"mbox":"mailto:b@example.org"}}`), "must be a Group"},
		{"context activities single", V103, body(okActor, okVerb, okObj, `"context":{"contextActivities":{"parent":{"id":"http://x.org/p"}}}`), ""},
		{"contextAgents in 1.0.3", V103, body(okActor, okVerb, okObj, `"context":{"contextAgents":[]}`), `unknown property "contextAgents"`},
		{"contextAgents in 2.0", V200, body(okActor, okVerb, okObj, `"context":{"contextAgents":[{"objectType":"contextAgent","agent":{"mbox":"mailto:b@example.org"},"relevantTypes":["http://x.org/t"]}]}`), ""},
		{"timestamp", V103, body(okActor, okVerb, okObj, `"timestamp":"2024-02-29T10:00:00.123+01:00"`), ""},
		{"timestamp negative zero offset", V103, body(okActor, okVerb, okObj, `"timestamp":"2024-02-29T10:00:00-00:00"`), "negative zero"},
		{"timestamp bad date", V103, body(okActor, okVerb, okObj, `"timestamp":"2023-02-29T10:00:00Z"`), "not a valid date"},
		{"version 1.0.9", V103, body(okActor, okVerb, okObj, `"version":"1.0.9"`), ""},
		{"version 2.0.0 under 1.0.3", V103, body(okActor, okVerb, okObj, `"version":"2.0.0"`), "not supported"},
		{"version 2.0.0 under 2.0", V200, body(okActor, okVerb, okObj, `"version":"2.0.0"`), ""},
		{"identified group authority", V103, body(okActor, okVerb, okObj, `"authority":{"objectType":"Group","mbox":"mailto:g@example.org"}`), "anonymous Group"},
		{"attachment missing sha2", V103, body(okActor, okVerb, okObj, `"attachments":[{"usageType":"http://x.org/u","display":{"en":"A"},"contentType":"text/plain","length":1}]`), `"sha2" is required`},
		{"attachment fractional length", V103, body(okActor, okVerb, okObj, `"attachments":[{"usageType":"http://x.org/u","display":{"en":"A"},"contentType":"text/plain","length":1.5,"sha2":"`+strings.Repeat("a", 64)+`"}]`), "non-negative integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseStatements([]byte(tt.in), tt.ver)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
			}
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("got kind %v, want Invalid", errs.KindOf(err))
			}
		})
	}
}

func TestParseStatementsIndexes(t *testing.T) {
	in := body(okActor, okVerb, `"object":{"id":"http://x.org/a","definition":{"name":{"en":"A"}}}`,
		`"context":{"registration":"AAAAAAAA-0000-4000-8000-000000000001","instructor":{"openid":"http://id.example.org/t"},"contextActivities":{"grouping":[{"id":"http://x.org/g"}]}}`)
	stmts, err := ParseStatements([]byte(in), V103)
	if err != nil {
		t.Fatal(err)
	}
	s := stmts[0]
	if got := strings.Join(s.AgentKeys, " "); got != "mbox:mailto:ada@example.org" {
		t.Errorf("AgentKeys: got %q", got)
	}
	if got := strings.Join(s.RelatedAgentKeys, " "); got != "mbox:mailto:ada@example.org openid:http://id.example.org/t" {
		t.Errorf("RelatedAgentKeys: got %q", got)
	}
	if got := strings.Join(s.RelatedActivityIDs, " "); got != "http://x.org/a http://x.org/g" {
		t.Errorf("RelatedActivityIDs: got %q", got)
	}
	if s.Registration != "aaaaaaaa-0000-4000-8000-000000000001" {
		t.Errorf("Registration: got %q, want it lower-cased", s.Registration)
	}
	ca := s.Tree["context"].(map[string]any)["contextActivities"].(map[string]any)
	if _, ok := ca["grouping"].([]any); !ok {
		t.Errorf("contextActivities not kept as an array")
	}
}

func TestTruncateDuration(t *testing.T) {
	for in, want := range map[string]string{
		"P1DT12H36M0.12567S": "P1DT12H36M0.12S",
		"PT1.5S":             "PT1.5S",
		"PT1.000S":           "PT1S",
		"PT3M":               "PT3M",
	} {
		if got := TruncateDuration(in); got != want {
			t.Errorf("TruncateDuration(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseAcceptLanguage(t *testing.T) {
	got := strings.Join(ParseAcceptLanguage("fr;q=0.5, en-GB, de;q=0.8, *"), ",")
	if got != "en-GB,de,fr" {
		t.Fatalf("got %q, want en-GB,de,fr", got)
	}
}

func FuzzParseStatements(f *testing.F) {
	f.Add(body(okActor, okVerb, okObj), false)
	f.Add("["+body(okActor, okVerb, `"object":{"objectType":"SubStatement",`+okActor+","+okVerb+","+okObj+`}`)+"]", true)
	f.Add(body(okActor, okVerb, okObj, `"result":{"score":{"raw":1,"min":0,"max":2},"duration":"PT1S"}`), false)
	f.Add(body(okActor, okVerb, okObj, `"context":{"contextActivities":{"parent":{"id":"http://x.org/p"}},"contextAgents":[{"objectType":"contextAgent","agent":{"mbox":"mailto:b@example.org"}}]}`), true)
	f.Add(`{"actor":{"objectType":"Group","member":[{"account":{"homePage":"http://x.org","name":"n"}}]}}`, false)
	f.Add(`[{},1,null,"x"]`, false)
	f.Add("["+body(okActor, okVerb, okObj)+" , "+body(okActor, `"verb":{"id":"http://x.org/v","display":{"en":"a\u0000"}}`, okObj)+"]", false)
	f.Add(body(okActor, okVerb, okObj, "\"result\":{\"response\":\"\xff\"}"), true)
	f.Fuzz(func(t *testing.T, in string, v2 bool) {
		ver := V103
		if v2 {
			ver = V200
		}
		// Small caps, so the fuzzer reaches them.
		lim := Limits{MaxStatements: 3, MaxStatementBytes: 600}
		stmts, err := ParseStatementsWithin([]byte(in), ver, lim)
		if err != nil {
			if !errs.Is(err, errs.Invalid) && !errs.Is(err, errs.TooLarge) {
				t.Fatalf("error of kind %v, want Invalid or TooLarge: %v", errs.KindOf(err), err)
			}
			return
		}
		if len(stmts) > lim.MaxStatements {
			t.Fatalf("accepted %d statements, more than the cap", len(stmts))
		}
		for _, s := range stmts {
			if s.VerbID == "" || s.Tree == nil {
				t.Fatalf("accepted statement without verb or tree: %q", in)
			}
			// What is stored is the statement's own bytes: within the cap,
			// valid UTF-8, and with no NUL in anything it says.
			if int64(len(s.raw)) > lim.MaxStatementBytes || !utf8.Valid(s.raw) {
				t.Fatalf("accepted statement over the cap or not UTF-8: %q", s.raw)
			}
			if err := noNUL(s.Tree, "statement"); err != nil {
				t.Fatalf("accepted statement with NUL: %v", err)
			}
			render, _, err := renderTree(s.Tree)
			if err != nil {
				t.Fatalf("accepted statement cannot be rendered: %v", err)
			}
			// The store inserts terms without ON CONFLICT: they must not repeat.
			rec, err := buildRecord(s, []byte(`{"mbox":"mailto:lrs@example.org"}`), "mbox:mailto:lrs@example.org", ver, time.Now())
			if err != nil {
				t.Fatalf("accepted statement cannot be completed: %v", err)
			}
			seen := map[Term]bool{}
			for _, term := range rec.Terms {
				if seen[term] {
					t.Fatalf("term %v repeats for %q", term, in)
				}
				seen[term] = true
			}
			// What was accepted must be accepted again after a round trip.
			if _, err := ParseStatement(render, ver); err != nil {
				t.Fatalf("round trip rejected: %v\n%s", err, render)
			}
		}
	})
}

// BenchmarkParseAndBuild measures the CPU the LRS spends per statement
// before storage: parsing, validating and completing a batch of 100.
func BenchmarkParseAndBuild(b *testing.B) {
	one := body(okActor, okVerb, `"object":{"id":"http://example.org/act/1","definition":{"name":{"en-GB":"One"},"type":"http://adlnet.gov/expapi/activities/lesson"}}`,
		`"result":{"completion":true,"score":{"scaled":0.5},"duration":"PT3M"}`,
		`"context":{"registration":"aaaaaaaa-0000-4000-8000-000000000001","contextActivities":{"parent":[{"id":"http://example.org/course"}]}}`,
		`"timestamp":"2026-01-01T10:00:00.000Z"`)
	batch := []byte("[" + strings.TrimSuffix(strings.Repeat(one+",", 100), ",") + "]")
	authority := []byte(`{"objectType":"Agent","account":{"homePage":"https://reach.example","name":"bench"}}`)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		stmts, err := ParseStatements(batch, V103)
		if err != nil {
			b.Fatal(err)
		}
		for _, st := range stmts {
			if _, err := buildRecord(st, authority, "account:x", V103, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	}
}
