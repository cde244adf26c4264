package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/blob/fsblob"
	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/testenv"
	"github.com/reach-london/reach/lrs"
	"github.com/reach-london/reach/lrs/sqlstore"
)

// The contract suite runs against every dialect: the same statements go
// in, the same answers must come out.

type env struct {
	svc   *lrs.Service
	store *sqlstore.Store
	a, b  auth.Principal
}

func newEnv(t *testing.T, dbURL string) *env {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, dbURL, db.Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx, sqlstore.Migrations); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	blobs, err := fsblob.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := sqlstore.New(d)
	mk := func(b string) auth.Principal {
		return auth.Principal{BoroughID: b, Scopes: []auth.Scope{auth.ScopeAll},
			Authority: []byte(`{"objectType":"Agent","account":{"homePage":"https://reach.example","name":"` + b + `"}}`)}
	}
	return &env{svc: lrs.NewService(st, blobs), store: st, a: mk("borough-a"), b: mk("borough-b")}
}

func eachDialect(t *testing.T, fn func(t *testing.T, e *env)) {
	for name, u := range testenv.DatabaseURLs(t) {
		t.Run(name, func(t *testing.T) { fn(t, newEnv(t, u)) })
	}
}

func stmt(id, actor, verb, object string, extra string) string {
	s := `{"actor":{"mbox":"mailto:` + actor + `@example.org"},"verb":{"id":"http://example.org/verbs/` + verb + `"},"object":` + object
	if id != "" {
		s += `,"id":"` + id + `"`
	}
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

func act(name string) string { return `{"id":"http://example.org/act/` + name + `"}` }

func (e *env) post(t *testing.T, p auth.Principal, body string) ([]string, error) {
	t.Helper()
	stmts, err := lrs.ParseStatements([]byte(body), lrs.V103)
	if err != nil {
		t.Fatalf("parse %s: %v", body, err)
	}
	return e.svc.Store(context.Background(), p, stmts, nil, lrs.V103)
}

func (e *env) mustPost(t *testing.T, p auth.Principal, body string) []string {
	t.Helper()
	ids, err := e.post(t, p, body)
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	return ids
}

func (e *env) query(t *testing.T, p auth.Principal, params string) lrs.Result {
	t.Helper()
	v, err := url.ParseQuery(params)
	if err != nil {
		t.Fatal(err)
	}
	q, err := lrs.ParseQuery(v)
	if err != nil {
		t.Fatalf("query %q: %v", params, err)
	}
	res, err := e.svc.Query(context.Background(), p, q, nil)
	if err != nil {
		t.Fatalf("query %q: %v", params, err)
	}
	return res
}

func idsOf(t *testing.T, res lrs.Result) []string {
	t.Helper()
	var out []string
	for _, s := range res.Statements {
		var v struct{ ID string }
		if err := json.Unmarshal(s, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v.ID)
	}
	return out
}

func uuidN(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

func TestStoreAndGet(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ids := e.mustPost(t, e.a, stmt(uuidN(1), "ada", "did", act("x"), ""))
		if ids[0] != uuidN(1) {
			t.Fatalf("got id %s, want %s", ids[0], uuidN(1))
		}
		res := e.query(t, e.a, "statementId="+uuidN(1))
		var got map[string]any
		if err := json.Unmarshal(res.Statements[0], &got); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"stored", "authority", "version", "timestamp"} {
			if _, ok := got[k]; !ok {
				t.Errorf("stored statement lacks %q: %s", k, res.Statements[0])
			}
		}
		if got["version"] != "1.0.0" {
			t.Errorf("got version %v, want 1.0.0", got["version"])
		}
	})
}

func TestImmutability(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		body := stmt(uuidN(2), "ada", "did", act("x"), "")
		e.mustPost(t, e.a, body)
		// The same statement again is a harmless resend.
		if _, err := e.post(t, e.a, body); err != nil {
			t.Fatalf("resend: got %v, want nil", err)
		}
		// So is the same statement with other spacing and property order.
		reordered := `{ "object": {"id":"http://example.org/act/x"}, "verb": {"id":"http://example.org/verbs/did"},
			"id": "` + uuidN(2) + `", "actor": {"mbox":"mailto:ada@example.org"} }`
		if _, err := e.post(t, e.a, reordered); err != nil {
			t.Fatalf("reordered resend: got %v, want nil", err)
		}
		// Different content under the same id is a conflict.
		_, err := e.post(t, e.a, stmt(uuidN(2), "ada", "undid", act("x"), ""))
		if !errs.Is(err, errs.Conflict) {
			t.Fatalf("got %v, want a conflict", err)
		}
		// The same id in another borough is another statement.
		e.mustPost(t, e.b, stmt(uuidN(2), "bob", "undid", act("x"), ""))
	})
}

func TestBatchIsAllOrNothing(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		e.mustPost(t, e.a, stmt(uuidN(3), "ada", "did", act("x"), ""))
		batch := "[" + stmt(uuidN(4), "ada", "did", act("y"), "") + "," + stmt(uuidN(3), "ada", "changed", act("x"), "") + "]"
		if _, err := e.post(t, e.a, batch); !errs.Is(err, errs.Conflict) {
			t.Fatalf("got %v, want a conflict", err)
		}
		if _, err := e.store.GetStatement(context.Background(), "borough-a", uuidN(4), false); !errs.Is(err, errs.NotFound) {
			t.Fatalf("first statement of a failed batch: got %v, want not found", err)
		}
	})
}

func voiding(id, target string) string {
	return `{"id":"` + id + `","actor":{"mbox":"mailto:admin@example.org"},"verb":{"id":"` + lrs.VoidedVerb + `"},"object":{"objectType":"StatementRef","id":"` + target + `"}}`
}

func TestVoiding(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.mustPost(t, e.a, stmt(uuidN(10), "ada", "did", act("v"), ""))
		e.mustPost(t, e.a, voiding(uuidN(11), uuidN(10)))
		if _, err := e.store.GetStatement(ctx, "borough-a", uuidN(10), false); !errs.Is(err, errs.NotFound) {
			t.Errorf("voided statement by statementId: got %v, want not found", err)
		}
		if _, err := e.store.GetStatement(ctx, "borough-a", uuidN(10), true); err != nil {
			t.Errorf("voided statement by voidedStatementId: got %v", err)
		}
		// A voiding statement cannot itself be voided.
		e.mustPost(t, e.a, voiding(uuidN(12), uuidN(11)))
		if _, err := e.store.GetStatement(ctx, "borough-a", uuidN(11), false); err != nil {
			t.Errorf("voiding statement after an attempt to void it: got %v, want it still there", err)
		}
		// A voiding statement that arrives before its target still voids it.
		e.mustPost(t, e.a, voiding(uuidN(13), uuidN(14)))
		e.mustPost(t, e.a, stmt(uuidN(14), "ada", "did", act("late"), ""))
		if _, err := e.store.GetStatement(ctx, "borough-a", uuidN(14), true); err != nil {
			t.Errorf("late target: got %v, want it voided", err)
		}
		// Voided statements leave queries, but statements targeting them
		// match the voided statement's filters, and so on down the chain.
		got := idsOf(t, e.query(t, e.a, "activity=http://example.org/act/v"))
		if strings.Join(got, ",") != uuidN(12)+","+uuidN(11) {
			t.Errorf("activity filter after voiding: got %v, want the two statements referring to it", got)
		}
		// Voiding in another borough does nothing here.
		e.mustPost(t, e.a, stmt(uuidN(15), "ada", "did", act("w"), ""))
		e.mustPost(t, e.b, voiding(uuidN(16), uuidN(15)))
		if _, err := e.store.GetStatement(ctx, "borough-a", uuidN(15), false); err != nil {
			t.Errorf("another borough voided our statement: %v", err)
		}
	})
}

func TestQueryFilters(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		reg := "aaaaaaaa-0000-4000-8000-000000000001"
		e.mustPost(t, e.a, "["+
			stmt(uuidN(20), "ada", "did", act("one"), `"context":{"registration":"`+reg+`","instructor":{"mbox":"mailto:teacher@example.org"},"contextActivities":{"parent":{"id":"http://example.org/act/course"}}}`)+","+
			stmt(uuidN(21), "bob", "did", act("two"), "")+","+
			stmt(uuidN(22), "bob", "saw", `{"objectType":"Agent","mbox":"mailto:ada@example.org"}`, "")+
			"]")
		e.mustPost(t, e.b, stmt(uuidN(23), "ada", "did", act("one"), ""))
		tests := []struct {
			params string
			want   []string
		}{
			{"agent=" + url.QueryEscape(`{"mbox":"mailto:ada@example.org"}`), []string{uuidN(22), uuidN(20)}},
			{"agent=" + url.QueryEscape(`{"mbox":"mailto:teacher@example.org"}`), nil},
			{"agent=" + url.QueryEscape(`{"mbox":"mailto:teacher@example.org"}`) + "&related_agents=true", []string{uuidN(20)}},
			{"verb=http://example.org/verbs/did", []string{uuidN(21), uuidN(20)}},
			{"verb=http://example.org/verbs/did&activity=http://example.org/act/two", []string{uuidN(21)}},
			{"activity=http://example.org/act/course", nil},
			{"activity=http://example.org/act/course&related_activities=true", []string{uuidN(20)}},
			{"registration=" + reg, []string{uuidN(20)}},
			{"ascending=true", []string{uuidN(20), uuidN(21), uuidN(22)}},
			{"limit=1", []string{uuidN(22)}},
		}
		for _, tt := range tests {
			got := idsOf(t, e.query(t, e.a, tt.params))
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("%s: got %v, want %v", tt.params, got, tt.want)
			}
		}
	})
}

func TestPagingIsStableWhileStatementsArrive(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		for i := 0; i < 5; i++ {
			e.mustPost(t, e.a, stmt(uuidN(30+i), "ada", "did", act("p"), ""))
		}
		first := e.query(t, e.a, "limit=2")
		if first.More == "" {
			t.Fatal("got no more token, want one")
		}
		seen := idsOf(t, first)
		e.mustPost(t, e.a, stmt(uuidN(40), "ada", "did", act("p"), ""))
		more := first.More
		for more != "" {
			q, err := lrs.ParseMore(more)
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.svc.Query(context.Background(), e.a, q, nil)
			if err != nil {
				t.Fatal(err)
			}
			seen = append(seen, idsOf(t, res)...)
			more = res.More
		}
		want := []string{uuidN(34), uuidN(33), uuidN(32), uuidN(31), uuidN(30)}
		if strings.Join(seen, ",") != strings.Join(want, ",") {
			t.Fatalf("got %v, want %v", seen, want)
		}
	})
}

func TestSinceUntil(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		e.mustPost(t, e.a, stmt(uuidN(50), "ada", "did", act("t"), ""))
		res := e.query(t, e.a, "statementId="+uuidN(50))
		var s struct{ Stored string }
		if err := json.Unmarshal(res.Statements[0], &s); err != nil {
			t.Fatal(err)
		}
		if got := idsOf(t, e.query(t, e.a, "since="+url.QueryEscape(s.Stored))); len(got) != 0 {
			t.Errorf("since=stored: got %v, want nothing (since is exclusive)", got)
		}
		if got := idsOf(t, e.query(t, e.a, "until="+url.QueryEscape(s.Stored))); len(got) != 1 {
			t.Errorf("until=stored: got %v, want the statement (until is inclusive)", got)
		}
	})
}

func TestActivityDefinitionsMerge(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		e.mustPost(t, e.a, stmt("", "ada", "did", `{"id":"http://example.org/act/d","definition":{"name":{"en":"Dance"}}}`, ""))
		e.mustPost(t, e.a, stmt("", "ada", "did", `{"id":"http://example.org/act/d","definition":{"name":{"fr":"Danse"},"type":"http://example.org/t"}}`, ""))
		got, err := e.svc.Activity(context.Background(), e.a, "http://example.org/act/d")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(got)
		want := `{"definition":{"name":{"en":"Dance","fr":"Danse"},"type":"http://example.org/t"},"id":"http://example.org/act/d","objectType":"Activity"}`
		if string(b) != want {
			t.Fatalf("got %s, want %s", b, want)
		}
		other, err := e.svc.Activity(context.Background(), e.b, "http://example.org/act/d")
		if err != nil {
			t.Fatal(err)
		}
		if _, leaked := other["definition"]; leaked {
			t.Fatalf("borough b sees borough a's definition: %v", other)
		}
	})
}

func TestEraseAgent(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.mustPost(t, e.a, "["+stmt(uuidN(60), "ada", "did", act("e"), "")+","+
			stmt(uuidN(61), "bob", "saw", `{"objectType":"Agent","mbox":"mailto:ada@example.org"}`, "")+","+
			stmt(uuidN(62), "bob", "did", act("e"), "")+"]")
		e.mustPost(t, e.b, stmt(uuidN(60), "ada", "did", act("e"), ""))
		ada, err := lrs.ParseAgent([]byte(`{"mbox":"mailto:ada@example.org"}`))
		if err != nil {
			t.Fatal(err)
		}
		n, err := e.svc.EraseAgent(ctx, "borough-a", ada)
		if err != nil || n != 2 {
			t.Fatalf("got %d, %v; want 2 statements erased", n, err)
		}
		got := idsOf(t, e.query(t, e.a, ""))
		if strings.Join(got, ",") != uuidN(62) {
			t.Errorf("after erasure: got %v, want only bob's own statement", got)
		}
		if got := idsOf(t, e.query(t, e.a, "agent="+url.QueryEscape(`{"mbox":"mailto:ada@example.org"}`)+"&related_agents=true")); len(got) != 0 {
			t.Errorf("erased agent still queryable: %v", got)
		}
		if got := idsOf(t, e.query(t, e.b, "")); len(got) != 1 {
			t.Errorf("erasure reached another borough: got %v", got)
		}
		if n, err := e.store.Erasures(ctx, "borough-a"); err != nil || n != 1 {
			t.Errorf("erasure record: got %d, %v; want 1", n, err)
		}
	})
}

func TestScopes(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ro := e.a
		ro.Scopes = []auth.Scope{auth.ScopeStatementsRead}
		if _, err := e.post(t, ro, stmt("", "ada", "did", act("s"), "")); !errs.Is(err, errs.Forbidden) {
			t.Errorf("read-only write: got %v, want forbidden", err)
		}
		mine := e.a
		mine.Scopes = []auth.Scope{auth.ScopeStatementsWrite, auth.ScopeStatementsReadMine}
		mine.Authority = []byte(`{"objectType":"Agent","account":{"homePage":"https://reach.example","name":"mine"}}`)
		e.mustPost(t, e.a, stmt(uuidN(70), "ada", "did", act("s"), ""))
		e.mustPost(t, mine, stmt(uuidN(71), "ada", "did", act("s"), ""))
		if got := idsOf(t, e.query(t, mine, "")); strings.Join(got, ",") != uuidN(71) {
			t.Errorf("read/mine: got %v, want only its own statement", got)
		}
	})
}

func TestLaunchTokenLimits(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		launch := e.a
		launch.Kind = auth.KindLaunch
		launch.Scopes = []auth.Scope{auth.ScopeStatementsWrite, auth.ScopeStatementsReadMine}
		launch.Actor = []byte(`{"mbox":"mailto:ada@example.org"}`)
		launch.Registration = "aaaaaaaa-0000-4000-8000-000000000009"
		if _, err := e.post(t, launch, stmt("", "eve", "did", act("l"), "")); !errs.Is(err, errs.Forbidden) {
			t.Errorf("statement as another learner: got %v, want forbidden", err)
		}
		if _, err := e.post(t, launch, stmt("", "ada", "did", act("l"), `"context":{"registration":"bbbbbbbb-0000-4000-8000-000000000009"}`)); !errs.Is(err, errs.Forbidden) {
			t.Errorf("statement for another registration: got %v, want forbidden", err)
		}
		e.mustPost(t, launch, stmt(uuidN(80), "ada", "did", act("l"), `"context":{"registration":"aaaaaaaa-0000-4000-8000-000000000009"}`))
		e.mustPost(t, e.a, stmt(uuidN(81), "bob", "did", act("l"), ""))
		if got := idsOf(t, e.query(t, launch, "")); strings.Join(got, ",") != uuidN(80) {
			t.Errorf("launch token reads: got %v, want only its learner's statement", got)
		}
		q, err := lrs.ParseQuery(url.Values{"statementId": {uuidN(81)}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Query(context.Background(), launch, q, nil); !errs.Is(err, errs.NotFound) {
			t.Errorf("launch token reading another learner's statement by id: got %v, want not found", err)
		}
	})
}

func TestLargeBatch(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		// More statements than SQLite takes parameters in one query.
		var b strings.Builder
		b.WriteByte('[')
		for i := 0; i < 20000; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(stmt(fmt.Sprintf("00000000-0000-4000-9000-%012d", i), "ada", "did", act("big"), ""))
		}
		b.WriteByte(']')
		ids := e.mustPost(t, e.a, b.String())
		if len(ids) != 20000 {
			t.Fatalf("got %d ids, want 20000", len(ids))
		}
		// Sending it again is a harmless resend.
		e.mustPost(t, e.a, b.String())
		res := e.query(t, e.a, "activity=http://example.org/act/big&limit=1")
		if len(res.Statements) != 1 || res.More == "" {
			t.Fatalf("got %d statements, more %q", len(res.Statements), res.More)
		}
	})
}

func TestEraseAgentDeletesOnlyOrphanAttachments(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		withAttachment := func(id, actor, data string) (string, []lrs.Part) {
			sum := sha256.Sum256([]byte(data))
			h := hex.EncodeToString(sum[:])
			return stmt(id, actor, "did", act("att"), `"attachments":[{"usageType":"http://example.org/u","display":{"en":"A"},"contentType":"text/plain","length":`+
				strconv.Itoa(len(data))+`,"sha2":"`+h+`"}]`), []lrs.Part{{SHA2: h, ContentType: "text/plain", Data: []byte(data)}}
		}
		post := func(body string, parts []lrs.Part) {
			stmts, err := lrs.ParseStatements([]byte(body), lrs.V103)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Store(ctx, e.a, stmts, parts, lrs.V103); err != nil {
				t.Fatal(err)
			}
		}
		own, ownParts := withAttachment(uuidN(90), "ada", "ada's essay")
		post(own, ownParts)
		shared, sharedParts := withAttachment(uuidN(91), "ada", "the course handout")
		post(shared, sharedParts)
		other, otherParts := withAttachment(uuidN(92), "bob", "the course handout")
		post(other, otherParts)
		ada, _ := lrs.ParseAgent([]byte(`{"mbox":"mailto:ada@example.org"}`))
		if n, err := e.svc.EraseAgent(ctx, "borough-a", ada); err != nil || n != 2 {
			t.Fatalf("got %d, %v; want 2 statements erased", n, err)
		}
		if _, err := e.svc.OpenAttachment(ctx, e.a, ownParts[0].SHA2); !errs.Is(err, errs.NotFound) {
			t.Errorf("the erased learner's own attachment: got %v, want it gone", err)
		}
		obj, err := e.svc.OpenAttachment(ctx, e.a, sharedParts[0].SHA2)
		if err != nil {
			t.Fatalf("an attachment another statement still names: got %v, want it kept", err)
		}
		obj.Close()
	})
}
