package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/testenv"
	"github.com/reach-london/reach/lrs"
	"github.com/reach-london/reach/lrs/sqlstore"
)

// openDocumentStores returns a migrated DocumentStore for each dialect.
func openDocumentStores(t *testing.T) map[string]*sqlstore.DocumentStore {
	t.Helper()
	out := map[string]*sqlstore.DocumentStore{}
	for name, url := range testenv.DatabaseURLs(t) {
		ctx := context.Background()
		d, err := db.Open(ctx, url, db.Options{})
		if err != nil {
			t.Fatalf("%s: open: %v", name, err)
		}
		t.Cleanup(func() { d.Close() })
		if _, err := d.Migrate(ctx, sqlstore.DocumentMigrations); err != nil {
			t.Fatalf("%s: migrate: %v", name, err)
		}
		out[name] = sqlstore.NewDocumentStore(d)
	}
	return out
}

func put(t *testing.T, s *sqlstore.DocumentStore, borough string, key lrs.DocumentKey, contentType string, content []byte, updated time.Time) {
	t.Helper()
	err := s.ModifyDocument(context.Background(), borough, key, func(*lrs.Document) (*lrs.Document, error) {
		return &lrs.Document{Key: key, ContentType: contentType, Content: content, ETag: lrs.ETagOf(content), Updated: updated}, nil
	})
	if err != nil {
		t.Fatalf("put %+v: %v", key, err)
	}
}

func stateKey(activity, agent, reg, id string) lrs.DocumentKey {
	return lrs.DocumentKey{Kind: lrs.StateDocument, ActivityID: activity, AgentKey: agent, Registration: reg, ID: id}
}

func TestDocumentStoreContract(t *testing.T) {
	for dialect, s := range openDocumentStores(t) {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			t0 := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)

			t.Run("binary round trip", func(t *testing.T) {
				key := stateKey("http://ex.org/a", "mbox:mailto:a@ex.org", "", "bin")
				content := []byte{0, 1, 2, 0xff, 0xfe, '\n', 0, 'x', 0x80}
				put(t, s, "b1", key, "application/octet-stream", content, t0)
				got, found, err := s.GetDocument(ctx, "b1", key)
				if err != nil || !found {
					t.Fatalf("get: found=%v err=%v", found, err)
				}
				if !bytes.Equal(got.Content, content) {
					t.Errorf("content = %v, want %v", got.Content, content)
				}
				if got.ContentType != "application/octet-stream" || got.ETag != lrs.ETagOf(content) || !got.Updated.Equal(t0) {
					t.Errorf("got type %q etag %q updated %v, want application/octet-stream %q %v", got.ContentType, got.ETag, got.Updated, lrs.ETagOf(content), t0)
				}
				if got.Key != key {
					t.Errorf("key = %+v, want %+v", got.Key, key)
				}
			})

			t.Run("empty document is not NULL", func(t *testing.T) {
				key := stateKey("http://ex.org/a", "mbox:mailto:a@ex.org", "", "empty")
				put(t, s, "b1", key, "text/plain", nil, t0)
				got, found, err := s.GetDocument(ctx, "b1", key)
				if err != nil || !found || got.Content == nil || len(got.Content) != 0 {
					t.Fatalf("got %v found=%v err=%v, want empty non-nil content", got.Content, found, err)
				}
			})

			t.Run("missing", func(t *testing.T) {
				_, found, err := s.GetDocument(ctx, "b1", stateKey("http://ex.org/a", "mbox:mailto:a@ex.org", "", "nope"))
				if err != nil || found {
					t.Fatalf("found=%v err=%v, want not found", found, err)
				}
			})

			t.Run("replace, keep on error, delete", func(t *testing.T) {
				key := lrs.DocumentKey{Kind: lrs.ActivityProfileDocument, ActivityID: "http://ex.org/p", ID: "p1"}
				put(t, s, "b1", key, "application/json", []byte(`{"v":1}`), t0)
				put(t, s, "b1", key, "application/json", []byte(`{"v":2}`), t0.Add(time.Second))
				boom := errors.New("boom")
				err := s.ModifyDocument(ctx, "b1", key, func(cur *lrs.Document) (*lrs.Document, error) {
					if cur == nil || string(cur.Content) != `{"v":2}` {
						t.Errorf("fn saw %v, want the stored document", cur)
					}
					return nil, boom
				})
				if !errors.Is(err, boom) {
					t.Fatalf("err = %v, want fn's error", err)
				}
				got, _, _ := s.GetDocument(ctx, "b1", key)
				if string(got.Content) != `{"v":2}` {
					t.Fatalf("content after failed modify = %s, want unchanged", got.Content)
				}
				if err := s.ModifyDocument(ctx, "b1", key, func(*lrs.Document) (*lrs.Document, error) { return nil, nil }); err != nil {
					t.Fatal(err)
				}
				if _, found, _ := s.GetDocument(ctx, "b1", key); found {
					t.Fatal("document still there after delete")
				}
				// Deleting what is not there is a no-op.
				if err := s.ModifyDocument(ctx, "b1", key, func(cur *lrs.Document) (*lrs.Document, error) {
					if cur != nil {
						t.Errorf("fn saw %v, want nil", cur)
					}
					return nil, nil
				}); err != nil {
					t.Fatal(err)
				}
			})

			t.Run("list, since and registrations", func(t *testing.T) {
				act, agent := "http://ex.org/list", "mbox:mailto:l@ex.org"
				reg := "0d7a1c1e-8d8e-4a43-9b1e-6f5f3c2a1b00"
				put(t, s, "b2", stateKey(act, agent, "", "s-b"), "text/plain", []byte("1"), t0)
				put(t, s, "b2", stateKey(act, agent, "", "s-a"), "text/plain", []byte("2"), t0.Add(2*time.Second))
				put(t, s, "b2", stateKey(act, agent, reg, "s-c"), "text/plain", []byte("3"), t0.Add(time.Second))
				put(t, s, "b2", stateKey(act, agent, reg, "s-a"), "text/plain", []byte("4"), t0)
				put(t, s, "b2", stateKey(act, "mbox:mailto:other@ex.org", "", "s-z"), "text/plain", []byte("5"), t0)
				put(t, s, "b2", stateKey("http://ex.org/other", agent, "", "s-y"), "text/plain", []byte("6"), t0)
				base := lrs.DocumentScope{Kind: lrs.StateDocument, ActivityID: act, AgentKey: agent}
				withReg := base
				withReg.Registration = reg
				anyReg := base
				anyReg.AnyRegistration = true
				tests := []struct {
					name     string
					scope    lrs.DocumentScope
					since    time.Time
					want     []string
					wantLast time.Time
				}{
					{"no registration", base, time.Time{}, []string{"s-a", "s-b"}, t0.Add(2 * time.Second)},
					{"registration", withReg, time.Time{}, []string{"s-a", "s-c"}, t0.Add(time.Second)},
					{"any registration", anyReg, time.Time{}, []string{"s-a", "s-b", "s-c"}, t0.Add(2 * time.Second)},
					{"since is exclusive", anyReg, t0, []string{"s-a", "s-c"}, t0.Add(2 * time.Second)},
					{"since after all", anyReg, t0.Add(time.Hour), nil, time.Time{}},
					{"other borough", base, time.Time{}, nil, time.Time{}},
				}
				for _, tt := range tests {
					borough := "b2"
					if tt.name == "other borough" {
						borough = "b3"
					}
					ids, last, err := s.ListDocumentIDs(ctx, borough, tt.scope, tt.since)
					if err != nil {
						t.Fatalf("%s: %v", tt.name, err)
					}
					if !slices.Equal(ids, tt.want) || !last.Equal(tt.wantLast) {
						t.Errorf("%s: got %v last %v, want %v last %v", tt.name, ids, last, tt.want, tt.wantLast)
					}
				}
				n, err := s.DeleteDocuments(ctx, "b2", withReg)
				if err != nil || n != 2 {
					t.Fatalf("delete registration scope: n=%d err=%v, want 2", n, err)
				}
				n, err = s.DeleteDocuments(ctx, "b2", anyReg)
				if err != nil || n != 2 {
					t.Fatalf("delete any registration: n=%d err=%v, want 2", n, err)
				}
				ids, _, _ := s.ListDocumentIDs(ctx, "b2", lrs.DocumentScope{Kind: lrs.StateDocument, ActivityID: act, AgentKey: "mbox:mailto:other@ex.org"}, time.Time{})
				if !slices.Equal(ids, []string{"s-z"}) {
					t.Errorf("another agent's state = %v, want untouched [s-z]", ids)
				}
			})

			t.Run("boroughs are apart", func(t *testing.T) {
				key := lrs.DocumentKey{Kind: lrs.AgentProfileDocument, AgentKey: "mbox:mailto:x@ex.org", ID: "prefs"}
				put(t, s, "north", key, "application/json", []byte(`{"n":1}`), t0)
				if _, found, _ := s.GetDocument(ctx, "south", key); found {
					t.Fatal("south sees north's document")
				}
				put(t, s, "south", key, "application/json", []byte(`{"s":1}`), t0)
				n, _ := s.DeleteDocuments(ctx, "south", key.Scope())
				if n != 1 {
					t.Fatalf("deleted %d in south, want 1", n)
				}
				got, found, _ := s.GetDocument(ctx, "north", key)
				if !found || string(got.Content) != `{"n":1}` {
					t.Fatalf("north's document = %s found=%v, want untouched", got.Content, found)
				}
			})

			t.Run("erase agent", func(t *testing.T) {
				ada, bob := "mbox:mailto:ada@ex.org", "mbox:mailto:bob@ex.org"
				put(t, s, "e1", stateKey("http://ex.org/1", ada, "", "s"), "text/plain", []byte("x"), t0)
				put(t, s, "e1", stateKey("http://ex.org/2", ada, "3f1e4c0a-1111-4222-8333-944455556666", "s"), "text/plain", []byte("x"), t0)
				put(t, s, "e1", lrs.DocumentKey{Kind: lrs.AgentProfileDocument, AgentKey: ada, ID: "p"}, "text/plain", []byte("x"), t0)
				put(t, s, "e1", lrs.DocumentKey{Kind: lrs.AgentProfileDocument, AgentKey: "sha1:abc", ID: "p"}, "text/plain", []byte("x"), t0)
				put(t, s, "e1", stateKey("http://ex.org/1", bob, "", "s"), "text/plain", []byte("x"), t0)
				put(t, s, "e2", stateKey("http://ex.org/1", ada, "", "s"), "text/plain", []byte("x"), t0)
				n, err := s.DeleteAgentDocuments(ctx, "e1", []string{ada, "sha1:abc"})
				if err != nil || n != 4 {
					t.Fatalf("erased %d err=%v, want 4", n, err)
				}
				if _, found, _ := s.GetDocument(ctx, "e1", stateKey("http://ex.org/1", bob, "", "s")); !found {
					t.Error("bob's state went with ada's")
				}
				if _, found, _ := s.GetDocument(ctx, "e2", stateKey("http://ex.org/1", ada, "", "s")); !found {
					t.Error("ada's state in another borough went too")
				}
			})

			t.Run("concurrent read-modify-write loses nothing", func(t *testing.T) {
				key := lrs.DocumentKey{Kind: lrs.ActivityProfileDocument, ActivityID: "http://ex.org/counter", ID: "n"}
				const writers = 8
				var wg sync.WaitGroup
				errc := make(chan error, writers)
				for range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errc <- s.ModifyDocument(ctx, "c", key, func(cur *lrs.Document) (*lrs.Document, error) {
							n := 0
							if cur != nil {
								n, _ = strconv.Atoi(string(cur.Content))
							}
							c := []byte(fmt.Sprint(n + 1))
							return &lrs.Document{Key: key, ContentType: "text/plain", Content: c, ETag: lrs.ETagOf(c), Updated: t0}, nil
						})
					}()
				}
				wg.Wait()
				close(errc)
				for err := range errc {
					if err != nil {
						t.Fatal(err)
					}
				}
				got, _, _ := s.GetDocument(ctx, "c", key)
				if string(got.Content) != fmt.Sprint(writers) {
					t.Fatalf("counter = %s, want %d", got.Content, writers)
				}
			})
		})
	}
}
