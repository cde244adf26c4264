package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/lrs"
)

func TestAgentNames(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		ada := `"mbox":"mailto:ada@example.org"`
		named := func(name string) string { return `{"name":"` + name + `",` + ada + `}` }
		verb := `"verb":{"id":"http://example.org/verbs/did"}`
		e.mustPost(t, e.a, "["+
			// As the actor, and with the address in capitals (the same
			// identifier: mbox compares without case).
			`{"id":"`+uuidN(1)+`","actor":`+named("Ada Lovelace")+`,`+verb+`,"object":`+act("x")+`},`+
			`{"actor":{"name":"ADA","mbox":"mailto:ADA@example.org"},`+verb+`,"object":`+act("x")+`},`+
			// As the object, the instructor, a member of the team and of
			// a Group actor, and a SubStatement's actor.
			`{"actor":{"name":"Bob","mbox":"mailto:bob@example.org"},`+verb+`,"object":{"objectType":"Agent","name":"A. Lovelace",`+ada+`}},`+
			`{"actor":{"name":"Bob","mbox":"mailto:bob@example.org"},`+verb+`,"object":`+act("y")+`,"context":{"instructor":`+named("Countess")+`,"team":{"objectType":"Group","member":[`+named("Teammate Ada")+`]}}},`+
			`{"actor":{"objectType":"Group","member":[`+named("Member Ada")+`,{"name":"Cy","mbox":"mailto:cy@example.org"}]},`+verb+`,"object":`+act("z")+`},`+
			`{"actor":{"name":"Bob","mbox":"mailto:bob@example.org"},`+verb+`,"object":{"objectType":"SubStatement","actor":`+named("Sub Ada")+`,`+verb+`,"object":`+act("s")+`}},`+
			// Someone else using her name is not her; nor is a statement
			// that only refers to one of hers (it inherits her terms).
			`{"actor":{"name":"Ada Lovelace","mbox":"mailto:impostor@example.org"},`+verb+`,"object":`+act("x")+`},`+
			`{"actor":{"name":"Referee","mbox":"mailto:ref@example.org"},`+verb+`,"object":{"objectType":"StatementRef","id":"`+uuidN(1)+`"}},`+
			// Without a name she adds nothing.
			`{"actor":{`+ada+`},`+verb+`,"object":`+act("x")+`}`+
			"]")
		// The same learner under another name in another borough.
		e.mustPost(t, e.b, `{"actor":`+named("Other Borough Ada")+`,`+verb+`,"object":`+act("x")+`}`)

		want := []string{"A. Lovelace", "ADA", "Ada Lovelace", "Countess", "Member Ada", "Sub Ada", "Teammate Ada"}
		got, err := e.store.AgentNames(ctx, "borough-a", "mbox:mailto:ada@example.org", 100)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("borough a: got %q, want %q", got, want)
		}
		if got, _ := e.store.AgentNames(ctx, "borough-b", "mbox:mailto:ada@example.org", 100); strings.Join(got, "|") != "Other Borough Ada" {
			t.Errorf("borough b: got %q, want only its own name for her", got)
		}
		if got, _ := e.store.AgentNames(ctx, "borough-a", "mbox:mailto:ada@example.org", 2); strings.Join(got, "|") != "A. Lovelace|ADA" {
			t.Errorf("limit 2: got %q, want the first two in byte order", got)
		}
		if got, err := e.store.AgentNames(ctx, "borough-a", "mbox:mailto:nobody@example.org", 100); err != nil || len(got) != 0 {
			t.Errorf("unknown agent: got %q, %v; want no names", got, err)
		}

		// Through the service: the identifier as asked and the names.
		agent, err := lrs.ParseAgent([]byte(`{"name":"Asked","mbox":"mailto:ada@example.org"}`))
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.svc.Person(ctx, e.a, agent)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(p.Name, "|") != strings.Join(want, "|") || strings.Join(p.Mbox, "|") != "mailto:ada@example.org" {
			t.Errorf("person: got %+v", p)
		}
		// One who may read only its own statements learns no names.
		mine := e.a
		mine.Scopes = []auth.Scope{auth.ScopeStatementsReadMine}
		if p, err := e.svc.Person(ctx, mine, agent); err != nil || strings.Join(p.Name, "|") != "Asked" {
			t.Errorf("read/mine person: got %+v, %v; want the agent as asked", p, err)
		}
		// An agent never seen comes back as asked.
		stranger, _ := lrs.ParseAgent([]byte(`{"name":"Stranger","mbox":"mailto:stranger@example.org"}`))
		if p, err := e.svc.Person(ctx, e.a, stranger); err != nil || strings.Join(p.Name, "|") != "Stranger" {
			t.Errorf("stranger: got %+v, %v", p, err)
		}
	})
}

func TestAgentNamesReadsOnlyRecentStatements(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		one := func(name string, i int) string {
			return fmt.Sprintf(`{"actor":{"name":%q,"mbox":"mailto:ada@example.org"},"verb":{"id":"http://example.org/verbs/did"},"object":{"id":"http://example.org/act/%d"}}`, name, i)
		}
		e.mustPost(t, e.a, one("Old Name", 0))
		var b strings.Builder
		b.WriteByte('[')
		for i := 1; i <= lrs.AgentNamesScan; i++ {
			if i > 1 {
				b.WriteByte(',')
			}
			b.WriteString(one("New Name", i))
		}
		b.WriteByte(']')
		e.mustPost(t, e.a, b.String())
		got, err := e.store.AgentNames(ctx, "borough-a", "mbox:mailto:ada@example.org", 100)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, "|") != "New Name" {
			t.Errorf("got %q, want only the name of the most recent %d statements", got, lrs.AgentNamesScan)
		}
	})
}

// TestAgentNamesFromEveryPlace covers the places an agent can stand
// besides the actor and object: xAPI 2.0's contextAgents and
// contextGroups, the authority, and a SubStatement's object and context.
func TestAgentNamesFromEveryPlace(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		ada := `"mbox":"mailto:ada@example.org"`
		named := func(name string) string { return `{"name":"` + name + `",` + ada + `}` }
		bob := `{"name":"Bob","mbox":"mailto:bob@example.org"}`
		verb := `"verb":{"id":"http://example.org/verbs/did"}`
		body := "[" +
			`{"actor":` + bob + `,` + verb + `,"object":` + act("a") + `,"context":{` +
			`"contextAgents":[{"objectType":"contextAgent","agent":` + named("Context Ada") + `,"relevantTypes":["http://example.org/types/mentor"]}],` +
			`"contextGroups":[{"objectType":"contextGroup","group":{"objectType":"Group","member":[` + named("Context Group Ada") + `]}}]}},` +
			`{"actor":` + bob + `,` + verb + `,"object":{"objectType":"SubStatement","actor":` + bob + `,` + verb + `,` +
			`"object":{"objectType":"Agent","name":"Sub Object Ada",` + ada + `},` +
			`"context":{"instructor":` + named("Sub Instructor Ada") + `,` +
			`"contextAgents":[{"objectType":"contextAgent","agent":` + named("Sub Context Ada") + `}]}}},` +
			// Bob's contextAgents name someone else: they add nothing.
			`{"actor":` + bob + `,` + verb + `,"object":` + act("b") + `,"context":{` +
			`"contextAgents":[{"objectType":"contextAgent","agent":{"name":"Not Ada","mbox":"mailto:eve@example.org"}}]}}` +
			"]"
		stmts, err := lrs.ParseStatements([]byte(body), lrs.V200)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Store(ctx, e.a, stmts, nil, lrs.V200); err != nil {
			t.Fatal(err)
		}
		// A credential whose authority is a named agent.
		named1 := e.a
		named1.Authority = []byte(`{"objectType":"Agent","name":"Authority Ada",` + ada + `}`)
		e.mustPost(t, named1, stmt("", "bob", "did", act("c"), ""))

		want := []string{"Authority Ada", "Context Ada", "Context Group Ada", "Sub Context Ada", "Sub Instructor Ada", "Sub Object Ada"}
		got, err := e.store.AgentNames(ctx, "borough-a", "mbox:mailto:ada@example.org", 100)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}
