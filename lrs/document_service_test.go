package lrs_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/testenv"
	"github.com/reach-london/reach/lrs"
	"github.com/reach-london/reach/lrs/sqlstore"
)

func documentServices(t *testing.T) map[string]*lrs.DocumentService {
	t.Helper()
	out := map[string]*lrs.DocumentService{}
	for name, url := range testenv.DatabaseURLs(t) {
		ctx := context.Background()
		d, err := db.Open(ctx, url, db.Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Cleanup(func() { d.Close() })
		if _, err := d.Migrate(ctx, sqlstore.DocumentMigrations); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = lrs.NewDocumentService(sqlstore.NewDocumentStore(d))
	}
	return out
}

const (
	testActivity = "http://example.org/activities/course-1"
	testAgent    = `{"objectType":"Agent","account":{"homePage":"http://example.org","name":"ada"}}`
	testReg      = "6F2A0D6C-54D1-4C77-9B8E-3E5D0C7A1B22"
)

func stateReq(id string) lrs.DocumentRequest {
	return lrs.DocumentRequest{Kind: lrs.StateDocument, Version: "1.0.3", ActivityID: testActivity, Agent: testAgent, ID: id}
}

func wantKind(t *testing.T, what string, err error, want errs.Kind, ok bool) {
	t.Helper()
	switch {
	case !ok && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case ok && err == nil:
		t.Fatalf("%s: got no error, want %s", what, want)
	case ok && errs.KindOf(err) != want:
		t.Fatalf("%s: got %s (%v), want %s", what, errs.KindOf(err), err, want)
	}
}

// TestDocumentParameters checks that every parameter is validated, with a
// message naming it, before anything is read or written.
func TestDocumentParameters(t *testing.T) {
	svc := documentServices(t)["sqlite"]
	ctx := context.Background()
	tests := []struct {
		name string
		req  lrs.DocumentRequest
		want string
	}{
		{"state without activityId", lrs.DocumentRequest{Kind: lrs.StateDocument, Agent: testAgent, ID: "s"}, "activityId parameter is required"},
		{"state with relative activityId", lrs.DocumentRequest{Kind: lrs.StateDocument, ActivityID: "course-1", Agent: testAgent, ID: "s"}, "activityId parameter must be an absolute IRI"},
		{"state without agent", lrs.DocumentRequest{Kind: lrs.StateDocument, ActivityID: testActivity, ID: "s"}, "agent parameter is required"},
		{"agent not JSON", lrs.DocumentRequest{Kind: lrs.StateDocument, ActivityID: testActivity, Agent: "not JSON", ID: "s"}, "agent parameter is not valid JSON"},
		{"agent true", lrs.DocumentRequest{Kind: lrs.StateDocument, ActivityID: testActivity, Agent: "true", ID: "s"}, "agent parameter: must be a JSON object"},
		{"agent without IFI", lrs.DocumentRequest{Kind: lrs.StateDocument, ActivityID: testActivity, Agent: `{"name":"Ada"}`, ID: "s"}, "exactly one of"},
		{"anonymous group", lrs.DocumentRequest{Kind: lrs.StateDocument, ActivityID: testActivity, Agent: `{"objectType":"Group","member":[{"mbox":"mailto:a@b.c"}]}`, ID: "s"}, "not an anonymous Group"},
		{"registration not UUID", lrs.DocumentRequest{Kind: lrs.StateDocument, ActivityID: testActivity, Agent: testAgent, Registration: "true", ID: "s"}, "registration parameter must be a UUID"},
		{"state without stateId", lrs.DocumentRequest{Kind: lrs.StateDocument, ActivityID: testActivity, Agent: testAgent}, "stateId parameter is required"},
		{"activity profile without activityId", lrs.DocumentRequest{Kind: lrs.ActivityProfileDocument, ID: "p"}, "activityId parameter is required"},
		{"activity profile without profileId", lrs.DocumentRequest{Kind: lrs.ActivityProfileDocument, ActivityID: testActivity}, "profileId parameter is required"},
		{"agent profile without agent", lrs.DocumentRequest{Kind: lrs.AgentProfileDocument, ID: "p"}, "agent parameter is required"},
		{"agent profile without profileId", lrs.DocumentRequest{Kind: lrs.AgentProfileDocument, Agent: testAgent}, "profileId parameter is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req
			r.IfNoneMatch = "*"
			for op, err := range map[string]error{
				"PUT":  svc.Put(ctx, "b", r, "application/json", []byte(`{}`)),
				"POST": svc.Post(ctx, "b", r, "application/json", []byte(`{}`)),
				"GET": func() error {
					_, err := svc.Get(ctx, "b", r)
					return err
				}(),
			} {
				if errs.KindOf(err) != errs.Invalid || !strings.Contains(errs.MessageOf(err), tt.want) {
					t.Errorf("%s: got %v, want invalid with %q", op, err, tt.want)
				}
			}
		})
	}
	t.Run("since", func(t *testing.T) {
		r := stateReq("")
		for _, since := range []string{"not a timestamp", "true", "2024-13-01T00:00:00Z"} {
			r.Since = since
			_, _, err := svc.List(ctx, "b", r)
			if errs.KindOf(err) != errs.Invalid || !strings.Contains(errs.MessageOf(err), "since parameter") {
				t.Errorf("since=%q: got %v, want invalid naming since", since, err)
			}
		}
	})
}

// TestDocumentWriteRules walks the PUT/POST/DELETE rules of both xAPI
// versions, each case starting from a known stored document (or none).
func TestDocumentWriteRules(t *testing.T) {
	for dialect, svc := range documentServices(t) {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			const jsonDoc = `{"car":{"make":"Ford","model":"Escape"},"driver":"Dale","n":1.50}`
			type stored struct{ contentType, content string }
			tests := []struct {
				name        string
				kind        lrs.DocumentKind
				version     lrs.Version
				before      *stored // nil: no document
				op          string
				ifMatch     string // "good" is replaced by the stored ETag
				ifNoneMatch string
				contentType string
				content     string
				wantErr     errs.Kind
				fails       bool
				after       *stored // nil: no document
			}{
				// PUT and the concurrency headers.
				{name: "state PUT new", kind: lrs.StateDocument, op: "PUT", contentType: "application/json", content: `{"a":1}`, after: &stored{"application/json", `{"a":1}`}},
				{name: "state PUT over existing 1.0.3", kind: lrs.StateDocument, before: &stored{"application/json", jsonDoc}, op: "PUT", contentType: "text/plain", content: "hi", after: &stored{"text/plain", "hi"}},
				{name: "state PUT over existing 2.0", kind: lrs.StateDocument, version: "2.0.0", before: &stored{"application/json", jsonDoc}, op: "PUT", contentType: "text/plain", content: "hi", wantErr: errs.Conflict, fails: true, after: &stored{"application/json", jsonDoc}},
				{name: "state PUT new 2.0", kind: lrs.StateDocument, version: "2.0.0", op: "PUT", contentType: "text/plain", content: "hi", after: &stored{"text/plain", "hi"}},
				{name: "profile PUT over existing without headers", kind: lrs.ActivityProfileDocument, before: &stored{"application/json", jsonDoc}, op: "PUT", contentType: "application/json", content: `{"b":2}`, wantErr: errs.Conflict, fails: true, after: &stored{"application/json", jsonDoc}},
				{name: "profile PUT new without headers", kind: lrs.AgentProfileDocument, op: "PUT", contentType: "application/json", content: `{"b":2}`, wantErr: errs.Invalid, fails: true},
				{name: "profile PUT new without headers 2.0", kind: lrs.AgentProfileDocument, version: "2.0.0", op: "PUT", contentType: "application/json", content: `{"b":2}`, wantErr: errs.Invalid, fails: true},
				{name: "profile PUT If-None-Match * new", kind: lrs.AgentProfileDocument, op: "PUT", ifNoneMatch: "*", contentType: "application/json", content: `{"b":2}`, after: &stored{"application/json", `{"b":2}`}},
				{name: "profile PUT If-None-Match * existing", kind: lrs.AgentProfileDocument, before: &stored{"application/json", jsonDoc}, op: "PUT", ifNoneMatch: "*", contentType: "application/json", content: `{"b":2}`, wantErr: errs.PreconditionFailed, fails: true, after: &stored{"application/json", jsonDoc}},
				{name: "profile PUT If-Match good", kind: lrs.ActivityProfileDocument, before: &stored{"application/json", jsonDoc}, op: "PUT", ifMatch: "good", contentType: "application/json", content: `{"b":2}`, after: &stored{"application/json", `{"b":2}`}},
				{name: "profile PUT If-Match bad", kind: lrs.ActivityProfileDocument, before: &stored{"application/json", jsonDoc}, op: "PUT", ifMatch: `"1111111111111111111111111111111111111111"`, contentType: "application/json", content: `{"b":2}`, wantErr: errs.PreconditionFailed, fails: true, after: &stored{"application/json", jsonDoc}},
				{name: "profile PUT If-Match on missing", kind: lrs.ActivityProfileDocument, op: "PUT", ifMatch: `"1234"`, contentType: "application/json", content: `{"b":2}`, wantErr: errs.PreconditionFailed, fails: true},
				{name: "profile PUT If-Match *", kind: lrs.ActivityProfileDocument, before: &stored{"text/plain", "x"}, op: "PUT", ifMatch: "*", contentType: "text/plain", content: "y", after: &stored{"text/plain", "y"}},
				{name: "state PUT If-Match weak tag never matches", kind: lrs.StateDocument, before: &stored{"text/plain", "x"}, op: "PUT", ifMatch: "W/good", contentType: "text/plain", content: "y", wantErr: errs.PreconditionFailed, fails: true, after: &stored{"text/plain", "x"}},
				{name: "state PUT invalid JSON", kind: lrs.StateDocument, op: "PUT", contentType: "application/json", content: `{"a":`, wantErr: errs.Invalid, fails: true},
				{name: "state PUT JSON array is stored", kind: lrs.StateDocument, op: "PUT", contentType: "application/json; charset=utf-8", content: `[1,2]`, after: &stored{"application/json; charset=utf-8", `[1,2]`}},
				{name: "state PUT without Content-Type", kind: lrs.StateDocument, op: "PUT", content: "raw", after: &stored{"application/octet-stream", "raw"}},

				// POST and the merge.
				{name: "POST new JSON", kind: lrs.StateDocument, op: "POST", contentType: "application/json", content: `{"a":1}`, after: &stored{"application/json", `{"a":1}`}},
				{name: "POST new binary", kind: lrs.StateDocument, op: "POST", contentType: "application/octet-stream", content: "abc", after: &stored{"application/octet-stream", "abc"}},
				{name: "POST merges one level deep", kind: lrs.ActivityProfileDocument, before: &stored{"application/json", jsonDoc}, op: "POST", contentType: "application/json", content: `{"car":{"make":"Dodge"},"extra":[1]}`,
					after: &stored{"application/json", `{"car":{"make":"Dodge"},"driver":"Dale","extra":[1],"n":1.50}`}},
				{name: "POST non-JSON onto JSON", kind: lrs.AgentProfileDocument, before: &stored{"application/json", jsonDoc}, op: "POST", contentType: "application/octet-stream", content: "abc", wantErr: errs.Invalid, fails: true, after: &stored{"application/json", jsonDoc}},
				{name: "POST JSON onto non-JSON", kind: lrs.StateDocument, before: &stored{"application/octet-stream", "/ asdf / undefined"}, op: "POST", contentType: "application/json", content: `{"a":1}`, wantErr: errs.Invalid, fails: true, after: &stored{"application/octet-stream", "/ asdf / undefined"}},
				{name: "POST JSON onto JSON array", kind: lrs.StateDocument, before: &stored{"application/json", `[1]`}, op: "POST", contentType: "application/json", content: `{"a":1}`, wantErr: errs.Invalid, fails: true, after: &stored{"application/json", `[1]`}},
				{name: "POST unparsable JSON onto JSON", kind: lrs.StateDocument, before: &stored{"application/json", jsonDoc}, op: "POST", contentType: "application/json", content: `{"a":1}{`, wantErr: errs.Invalid, fails: true, after: &stored{"application/json", jsonDoc}},
				{name: "POST unparsable JSON new", kind: lrs.ActivityProfileDocument, op: "POST", contentType: "application/json", content: `{"a":1}[`, wantErr: errs.Invalid, fails: true},
				{name: "POST JSON array new", kind: lrs.ActivityProfileDocument, op: "POST", contentType: "application/json", content: `[1]`, wantErr: errs.Invalid, fails: true},
				{name: "POST If-Match bad", kind: lrs.StateDocument, version: "2.0.0", before: &stored{"application/json", jsonDoc}, op: "POST", ifMatch: `"1234"`, contentType: "application/json", content: `{"a":1}`, wantErr: errs.PreconditionFailed, fails: true, after: &stored{"application/json", jsonDoc}},
				{name: "POST If-Match good", kind: lrs.StateDocument, version: "2.0.0", before: &stored{"application/json", `{"a":0,"b":0}`}, op: "POST", ifMatch: "good", contentType: "application/json", content: `{"a":1}`, after: &stored{"application/json", `{"a":1,"b":0}`}},
				{name: "POST merge keeps the stored Content-Type", kind: lrs.StateDocument, before: &stored{"application/json; charset=utf-8", `{"a":0}`}, op: "POST", contentType: "application/json", content: `{"b":1}`, after: &stored{"application/json; charset=utf-8", `{"a":0,"b":1}`}},
				{name: "POST If-None-Match * existing", kind: lrs.AgentProfileDocument, before: &stored{"application/json", jsonDoc}, op: "POST", ifNoneMatch: "*", contentType: "application/json", content: `{"a":1}`, wantErr: errs.PreconditionFailed, fails: true, after: &stored{"application/json", jsonDoc}},

				// DELETE.
				{name: "DELETE existing", kind: lrs.AgentProfileDocument, before: &stored{"application/json", jsonDoc}, op: "DELETE"},
				{name: "DELETE missing", kind: lrs.ActivityProfileDocument, op: "DELETE"},
				{name: "DELETE If-Match bad", kind: lrs.ActivityProfileDocument, version: "2.0.0", before: &stored{"application/json", jsonDoc}, op: "DELETE", ifMatch: `"1234"`, wantErr: errs.PreconditionFailed, fails: true, after: &stored{"application/json", jsonDoc}},
				{name: "DELETE If-Match good", kind: lrs.StateDocument, version: "2.0.0", before: &stored{"application/json", jsonDoc}, op: "DELETE", ifMatch: "good"},
				{name: "DELETE If-Match on missing", kind: lrs.StateDocument, op: "DELETE", ifMatch: `"1234"`, wantErr: errs.PreconditionFailed, fails: true},
			}
			for i, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r := lrs.DocumentRequest{Kind: tt.kind, Version: tt.version, ActivityID: testActivity + "/" + dialect, Agent: testAgent, ID: "doc-" + string(rune('a'+i%26)) + tt.name}
					if r.Version == "" {
						r.Version = "1.0.3"
					}
					if tt.kind == lrs.AgentProfileDocument {
						r.ActivityID = ""
					}
					if tt.before != nil {
						setup := r
						setup.IfNoneMatch = "*"
						if err := svc.Put(ctx, "b1", setup, tt.before.contentType, []byte(tt.before.content)); err != nil {
							t.Fatalf("setup: %v", err)
						}
						if tt.ifMatch == "good" || tt.ifMatch == "W/good" {
							doc, err := svc.Get(ctx, "b1", r)
							if err != nil {
								t.Fatal(err)
							}
							tt.ifMatch = strings.Replace(tt.ifMatch, "good", doc.QuotedETag(), 1)
						}
					}
					r.IfMatch, r.IfNoneMatch = tt.ifMatch, tt.ifNoneMatch
					var err error
					switch tt.op {
					case "PUT":
						err = svc.Put(ctx, "b1", r, tt.contentType, []byte(tt.content))
					case "POST":
						err = svc.Post(ctx, "b1", r, tt.contentType, []byte(tt.content))
					case "DELETE":
						err = svc.Delete(ctx, "b1", r)
					}
					wantKind(t, tt.op, err, tt.wantErr, tt.fails)
					if err != nil && errs.MessageOf(err) == "" {
						t.Errorf("error %v has no client message", err)
					}
					r.IfMatch, r.IfNoneMatch = "", ""
					doc, err := svc.Get(ctx, "b1", r)
					if tt.after == nil {
						if errs.KindOf(err) != errs.NotFound {
							t.Fatalf("after: got %v (%s), want not found", err, doc.Content)
						}
						return
					}
					if err != nil {
						t.Fatalf("after: %v", err)
					}
					if doc.ContentType != tt.after.contentType {
						t.Errorf("content type = %q, want %q", doc.ContentType, tt.after.contentType)
					}
					if doc.ETag != lrs.ETagOf(doc.Content) {
						t.Errorf("etag %q is not the SHA-1 of the content", doc.ETag)
					}
					if strings.HasPrefix(tt.after.contentType, "application/json") && tt.op == "POST" && tt.before != nil && !tt.fails {
						if !jsonEqual(t, doc.Content, []byte(tt.after.content)) {
							t.Errorf("content = %s, want %s", doc.Content, tt.after.content)
						}
					} else if string(doc.Content) != tt.after.content {
						t.Errorf("content = %q, want %q", doc.Content, tt.after.content)
					}
				})
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

func TestDocumentMergeKeepsNumbersExact(t *testing.T) {
	svc := documentServices(t)["sqlite"]
	ctx := context.Background()
	r := stateReq("numbers")
	if err := svc.Post(ctx, "b", r, "application/json", []byte(`{"big":12345678901234567890,"f":0.10}`)); err != nil {
		t.Fatal(err)
	}
	if err := svc.Post(ctx, "b", r, "application/json", []byte(`{"g":1e400}`)); err != nil {
		t.Fatal(err)
	}
	doc, err := svc.Get(ctx, "b", r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"12345678901234567890", "0.10", "1e400"} {
		if !strings.Contains(string(doc.Content), want) {
			t.Errorf("merged %s lost %s", doc.Content, want)
		}
	}
}

func TestDocumentListing(t *testing.T) {
	for dialect, svc := range documentServices(t) {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			base := time.Now()
			put := func(r lrs.DocumentRequest) {
				t.Helper()
				if err := svc.Post(ctx, "b", r, "application/json", []byte(`{"x":1}`)); err != nil {
					t.Fatal(err)
				}
			}
			put(stateReq("s1"))
			withReg := stateReq("s2")
			withReg.Registration = testReg
			put(withReg)

			list := func(r lrs.DocumentRequest) []string {
				t.Helper()
				ids, last, err := svc.List(ctx, "b", r)
				if err != nil {
					t.Fatal(err)
				}
				if len(ids) > 0 && (last.Before(base.Add(-time.Second)) || last.After(time.Now().Add(time.Second))) {
					t.Errorf("last modified %v is not about now", last)
				}
				return ids
			}
			if got := list(stateReq("")); !slices.Equal(got, []string{"s1", "s2"}) {
				t.Errorf("states of any registration = %v, want [s1 s2]", got)
			}
			reg := stateReq("")
			reg.Registration = strings.ToLower(testReg) // registrations compare case-insensitively
			if got := list(reg); !slices.Equal(got, []string{"s2"}) {
				t.Errorf("states of the registration = %v, want [s2]", got)
			}
			since := stateReq("")
			since.Since = time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
			if got := list(since); len(got) != 0 {
				t.Errorf("states since a minute ahead = %v, want none", got)
			}
			since.Since = base.Add(-time.Minute).UTC().Format("2006-01-02T15:04:05.000Z")
			if got := list(since); !slices.Equal(got, []string{"s1", "s2"}) {
				t.Errorf("states since a minute ago = %v, want [s1 s2]", got)
			}
			if got := list(lrs.DocumentRequest{Kind: lrs.StateDocument, ActivityID: testActivity, Agent: `{"mbox":"mailto:other@example.org"}`}); len(got) != 0 {
				t.Errorf("another agent's states = %v, want none", got)
			}
			// The empty listing is an empty array, not null.
			if got := list(lrs.DocumentRequest{Kind: lrs.ActivityProfileDocument, ActivityID: "http://example.org/none"}); got == nil {
				t.Error("empty listing is nil, want empty slice")
			}

			// DELETE without stateId clears the registration's states, or
			// every registration's when none is named.
			if err := svc.Delete(ctx, "b", reg); err != nil {
				t.Fatal(err)
			}
			if got := list(stateReq("")); !slices.Equal(got, []string{"s1"}) {
				t.Errorf("after deleting the registration's states: %v, want [s1]", got)
			}
			put(withReg)
			if err := svc.Delete(ctx, "b", stateReq("")); err != nil {
				t.Fatal(err)
			}
			if got := list(stateReq("")); len(got) != 0 {
				t.Errorf("after deleting all states: %v, want none", got)
			}
		})
	}
}

// TestDocumentBoroughIsolation shows that a borough can neither see nor
// change another borough's documents through any operation.
func TestDocumentBoroughIsolation(t *testing.T) {
	for dialect, svc := range documentServices(t) {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			kinds := []lrs.DocumentRequest{
				stateReq("shared-id"),
				{Kind: lrs.ActivityProfileDocument, Version: "1.0.3", ActivityID: testActivity, ID: "shared-id"},
				{Kind: lrs.AgentProfileDocument, Version: "1.0.3", Agent: testAgent, ID: "shared-id"},
			}
			for _, r := range kinds {
				create := r
				create.IfNoneMatch = "*"
				if err := svc.Put(ctx, "north", create, "application/json", []byte(`{"owner":"north"}`)); err != nil {
					t.Fatal(err)
				}
				if _, err := svc.Get(ctx, "south", r); errs.KindOf(err) != errs.NotFound {
					t.Errorf("%s: south GET = %v, want not found", r.Kind, err)
				}
				list := r
				list.ID = ""
				if ids, _, err := svc.List(ctx, "south", list); err != nil || len(ids) != 0 {
					t.Errorf("%s: south lists %v (%v), want nothing", r.Kind, ids, err)
				}
				// South creating the same id makes its own document.
				if err := svc.Put(ctx, "south", create, "application/json", []byte(`{"owner":"south"}`)); err != nil {
					t.Errorf("%s: south create: %v", r.Kind, err)
				}
				if err := svc.Post(ctx, "south", r, "application/json", []byte(`{"merged":"south"}`)); err != nil {
					t.Errorf("%s: south merge: %v", r.Kind, err)
				}
				if err := svc.Delete(ctx, "south", r); err != nil {
					t.Errorf("%s: south delete: %v", r.Kind, err)
				}
				if r.Kind == lrs.StateDocument {
					if err := svc.Delete(ctx, "south", list); err != nil {
						t.Errorf("south delete all states: %v", err)
					}
				}
				if n, err := svc.EraseAgent(ctx, "south", mustAgent(t, testAgent)); err != nil || n != 0 {
					t.Errorf("south erase: n=%d err=%v, want 0", n, err)
				}
				doc, err := svc.Get(ctx, "north", r)
				if err != nil || string(doc.Content) != `{"owner":"north"}` {
					t.Errorf("%s: north's document = %s (%v), want untouched", r.Kind, doc.Content, err)
				}
			}
			if _, err := svc.Get(ctx, "", kinds[0]); errs.KindOf(err) != errs.Forbidden {
				t.Errorf("no borough: got %v, want forbidden", err)
			}
		})
	}
}

func mustAgent(t *testing.T, s string) lrs.Actor {
	t.Helper()
	a, err := lrs.ParseActor([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestDocumentEraseAgent(t *testing.T) {
	for dialect, svc := range documentServices(t) {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			ada := `{"mbox":"mailto:Ada@Example.org"}`
			adaSHA := `{"mbox_sha1sum":"` + sha1hex("mailto:Ada@Example.org") + `"}`
			bob := `{"mbox":"mailto:bob@example.org"}`
			write := func(kind lrs.DocumentKind, agent, id string) lrs.DocumentRequest {
				r := lrs.DocumentRequest{Kind: kind, Version: "1.0.3", Agent: agent, ID: id}
				if kind == lrs.StateDocument {
					r.ActivityID = testActivity
				}
				if err := svc.Post(ctx, "b", r, "application/json", []byte(`{}`)); err != nil {
					t.Fatal(err)
				}
				return r
			}
			gone := []lrs.DocumentRequest{
				write(lrs.StateDocument, ada, "s1"),
				write(lrs.AgentProfileDocument, ada, "p1"),
				write(lrs.AgentProfileDocument, adaSHA, "p2"),
			}
			kept := []lrs.DocumentRequest{
				write(lrs.StateDocument, bob, "s1"),
				write(lrs.AgentProfileDocument, bob, "p1"),
			}
			n, err := svc.EraseAgent(ctx, "b", mustAgent(t, ada))
			if err != nil || n != 3 {
				t.Fatalf("erased %d (%v), want 3", n, err)
			}
			for _, r := range gone {
				if _, err := svc.Get(ctx, "b", r); errs.KindOf(err) != errs.NotFound {
					t.Errorf("%s %s of ada still readable: %v", r.Kind, r.ID, err)
				}
			}
			for _, r := range kept {
				if _, err := svc.Get(ctx, "b", r); err != nil {
					t.Errorf("%s %s of bob: %v", r.Kind, r.ID, err)
				}
			}
			if _, err := svc.EraseAgent(ctx, "b", lrs.Actor{ObjectType: "Group"}); errs.KindOf(err) != errs.Invalid {
				t.Errorf("erase anonymous: %v, want invalid", err)
			}
		})
	}
}

func sha1hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestDocumentLimitAgent(t *testing.T) {
	svc := documentServices(t)["sqlite"]
	ctx := context.Background()
	own := stateReq("s")
	own.LimitAgent = json.RawMessage(`{"account":{"name":"ada","homePage":"http://example.org"}}`) // same Agent, other spelling
	if err := svc.Post(ctx, "b", own, "application/json", []byte(`{}`)); err != nil {
		t.Fatalf("own state: %v", err)
	}
	other := own
	other.Agent = `{"mbox":"mailto:bob@example.org"}`
	if err := svc.Post(ctx, "b", other, "application/json", []byte(`{}`)); errs.KindOf(err) != errs.Forbidden {
		t.Fatalf("another learner's state: %v, want forbidden", err)
	}
	profile := lrs.DocumentRequest{Kind: lrs.AgentProfileDocument, Agent: other.Agent, ID: "p", LimitAgent: own.LimitAgent}
	if _, err := svc.Get(ctx, "b", profile); errs.KindOf(err) != errs.Forbidden {
		t.Fatalf("another learner's profile: %v, want forbidden", err)
	}
	// Activity profiles belong to no learner, so the limit does not apply.
	act := lrs.DocumentRequest{Kind: lrs.ActivityProfileDocument, ActivityID: testActivity, ID: "p", LimitAgent: own.LimitAgent}
	if _, err := svc.Get(ctx, "b", act); errs.KindOf(err) != errs.NotFound {
		t.Fatalf("activity profile: %v, want not found", err)
	}
}

// TestDocumentTextRefused: a document id, activity id, agent or
// registration that is not valid UTF-8 or holds NUL is refused as Invalid,
// naming the parameter, on both backends, and nothing is stored
// (PostgreSQL answered 500, SQLSTATE 22021; issue 13).
func TestDocumentTextRefused(t *testing.T) {
	for name, svc := range documentServices(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			tests := []struct {
				name string
				req  lrs.DocumentRequest
				want string
			}{
				{"NUL in stateId", stateReq("a\x00b"), "stateId parameter must not contain the NUL character"},
				{"invalid UTF-8 in stateId", stateReq("a\xffb"), "stateId parameter is not valid UTF-8"},
				{"NUL escape in the agent", lrs.DocumentRequest{Kind: lrs.StateDocument, Version: "1.0.3", ActivityID: testActivity,
					Agent: `{"objectType":"Agent","account":{"homePage":"http://example.org","name":"a\u0000"}}`, ID: "s"}, "agent parameter.account.name: must not contain the NUL"},
				{"NUL in the activity id", lrs.DocumentRequest{Kind: lrs.ActivityProfileDocument, Version: "1.0.3", ActivityID: testActivity + "\x00", ID: "p"}, "activityId parameter must not contain"},
				{"NUL in profileId", lrs.DocumentRequest{Kind: lrs.AgentProfileDocument, Version: "1.0.3", Agent: testAgent, ID: "p\x00"}, "profileId parameter must not contain"},
			}
			for _, tt := range tests {
				err := svc.Put(ctx, "borough-a", tt.req, "application/json", []byte(`{"x":1}`))
				if errs.KindOf(err) != errs.Invalid || !strings.Contains(errs.MessageOf(err), tt.want) {
					t.Errorf("%s: got %v, want Invalid with %q", tt.name, err, tt.want)
				}
			}
			ids, _, err := svc.List(ctx, "borough-a", stateReq(""))
			if err != nil || len(ids) != 0 {
				t.Fatalf("after refused writes: %v %v", ids, err)
			}
		})
	}
}
