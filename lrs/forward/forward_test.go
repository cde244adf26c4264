package forward

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/errs"
)

func ptr[T any](v T) *T { return &v }

func TestApplyValidates(t *testing.T) {
	valid := func() Input {
		return Input{Name: ptr("County LRS"), Endpoint: ptr("https://lrs.example.org/xapi"), AuthType: ptr(AuthBasic),
			AuthKey: ptr("key"), Secret: ptr("secret")}
	}
	tests := []struct {
		name    string
		edit    func(*Input)
		wantErr string // substring; "" for success
	}{
		{"valid basic", func(*Input) {}, ""},
		{"valid bearer", func(in *Input) { in.AuthType, in.AuthKey = ptr(AuthBearer), nil }, ""},
		{"no name", func(in *Input) { in.Name = ptr("  ") }, "name is required"},
		{"long name", func(in *Input) { in.Name = ptr(strings.Repeat("n", 101)) }, "at most 100"},
		{"no endpoint", func(in *Input) { in.Endpoint = nil }, "endpoint is required"},
		{"ftp endpoint", func(in *Input) { in.Endpoint = ptr("ftp://lrs.example.org/") }, "http or https URL"},
		{"relative endpoint", func(in *Input) { in.Endpoint = ptr("/xapi/") }, "http or https URL"},
		{"credentials in endpoint", func(in *Input) { in.Endpoint = ptr("https://u:p@lrs.example.org/") }, "must not hold credentials"},
		{"query in endpoint", func(in *Input) { in.Endpoint = ptr("https://lrs.example.org/?a=b") }, "must not hold credentials"},
		{"bad version", func(in *Input) { in.Version = ptr("1.0.2") }, `version must be`},
		{"no auth", func(in *Input) { in.AuthType = nil }, "authType is required"},
		{"unknown auth", func(in *Input) { in.AuthType = ptr("digest") }, `authType must be`},
		{"basic without secret", func(in *Input) { in.Secret = nil }, "basic auth needs"},
		{"basic key with colon", func(in *Input) { in.AuthKey = ptr("a:b") }, "colon"},
		{"bearer without token", func(in *Input) { in.AuthType, in.Secret = ptr(AuthBearer), nil }, "bearer auth needs"},
		{"secret with newline", func(in *Input) { in.Secret = ptr("a\nb") }, "line breaks"},
		{"verb not an IRI", func(in *Input) { in.Verbs = &[]string{"completed"} }, `verbs: "completed" is not an IRI`},
		{"activity not an IRI", func(in *Input) { in.Activities = &[]string{"https://x.org/a b"} }, "activities"},
		{"too many verbs", func(in *Input) {
			v := make([]string, MaxFilterValues+1)
			for i := range v {
				v[i] = "https://x.org/v" + strings.Repeat("x", i)
			}
			in.Verbs = &v
		}, "at most 100"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := valid()
			tc.edit(&in)
			var tg Target
			err := apply(&tg, in, true)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				return
			}
			if err == nil || !strings.Contains(errs.MessageOf(err), tc.wantErr) || errs.KindOf(err) != errs.Invalid {
				t.Fatalf("got error %v, want an Invalid error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestApplyNormalises(t *testing.T) {
	var tg Target
	err := apply(&tg, Input{Name: ptr(" LRS "), Endpoint: ptr("https://lrs.example.org/xapi"), AuthType: ptr(AuthBearer),
		AuthKey: ptr("ignored"), Secret: ptr("tok"), Verbs: &[]string{"https://v.org/a", "https://v.org/a"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if tg.Name != "LRS" || tg.Endpoint != "https://lrs.example.org/xapi/" || tg.Version != Version103 || tg.AuthKey != "" ||
		len(tg.Filter.Verbs) != 1 {
		t.Errorf("got %+v, want trimmed name, endpoint with trailing slash, version 1.0.3, no key for bearer, deduplicated verbs", tg)
	}
	// Changing the auth type keeps no stale secret around.
	if err := apply(&tg, Input{AuthType: ptr(AuthBasic), AuthKey: ptr("k")}, false); err == nil ||
		!strings.Contains(err.Error(), "needs a new secret") {
		t.Errorf("changing authType without a secret: got %v, want an error", err)
	}
}

func TestBackoff(t *testing.T) {
	min, max := time.Second, time.Minute
	tests := []struct {
		attempts int
		lo, hi   time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{3, 2 * time.Second, 4 * time.Second},
		{7, 30 * time.Second, time.Minute},
		{50, 30 * time.Second, time.Minute},
	}
	for _, tc := range tests {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := Backoff(tc.attempts, min, max)
			if d < tc.lo || d > tc.hi {
				t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", tc.attempts, d, tc.lo, tc.hi)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("Backoff(%d) gave the same wait 200 times, want jitter", tc.attempts)
		}
	}
}

func TestExcerpt(t *testing.T) {
	tests := []struct{ raw, want string }{
		{`{"error":{"code":"invalid","message":"verb is required"}}`, "verb is required"},
		{`{"error":"bad auth"}`, "bad auth"},
		{`{"message":"nope"}`, "nope"},
		{"plain\ntext  here", "plain text here"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := excerpt([]byte(tc.raw)); got != tc.want {
			t.Errorf("excerpt(%q) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}

// TestWorkerWakesAndSurvivesAClosedWakeChannel: a wake-up makes the worker
// look at once, and a wake channel that closes (Redis gone) leaves it
// polling rather than spinning.
func TestWorkerWakesAndSurvivesAClosedWakeChannel(t *testing.T) {
	wake := make(chan []byte)
	store := &countingStore{}
	w := NewWorker(store, nil, Options{Poll: time.Hour, Wake: wake})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	waitFor := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for store.ticks.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("got %d ticks, want %d", store.ticks.Load(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitFor(1) // the first look is at once
	wake <- nil
	waitFor(2)
	close(wake)
	time.Sleep(50 * time.Millisecond)
	if n := store.ticks.Load(); n > 3 {
		t.Errorf("after the wake channel closed the worker ticked %d times, want it back to polling", n)
	}
	cancel()
	<-done
}

// countingStore counts the worker's looks at the targets and has none.
type countingStore struct {
	Store
	ticks atomic.Int64
}

func (s *countingStore) Targets(ctx context.Context, borough string) ([]Target, []State, error) {
	s.ticks.Add(1)
	return nil, nil, nil
}

// TestBatchBodyForTargetVersion: a 1.0.3 target gets statements stored
// under 2.0 without the 2.0-only properties it would refuse; a 2.0 target
// gets them byte for byte.
func TestBatchBodyForTargetVersion(t *testing.T) {
	v2 := `{"id":"6690e6c9-3ef0-4ed3-8b37-7f3964730bee","version":"2.0.0","actor":{"mbox":"mailto:a@example.org"},` +
		`"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"https://example.org/a"},` +
		`"context":{"contextAgents":[{"objectType":"contextAgent","agent":{"mbox":"mailto:b@example.org"}}]}}`
	v1 := `{"id":"7790e6c9-3ef0-4ed3-8b37-7f3964730bee","version":"1.0.0","actor":{"mbox":"mailto:a@example.org"},` +
		`"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"https://example.org/a"}}`
	entries := []Entry{{Body: []byte(v2)}, {Body: []byte(v1)}}
	tests := []struct {
		version            string
		wantContextAgents  bool
		wantVersionInFirst string
	}{
		{Version200, true, "2.0.0"},
		{Version103, false, "1.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			body := batchBody(entries, tt.version)
			var got []map[string]any
			if err := json.Unmarshal(body, &got); err != nil || len(got) != 2 {
				t.Fatalf("batch %s is not an array of two statements: %v", body, err)
			}
			has := false
			if ctx, ok := got[0]["context"].(map[string]any); ok {
				_, has = ctx["contextAgents"]
			}
			if has != tt.wantContextAgents {
				t.Errorf("contextAgents present = %v, want %v in %s", has, tt.wantContextAgents, body)
			}
			if got[0]["version"] != tt.wantVersionInFirst {
				t.Errorf("version = %v, want %s", got[0]["version"], tt.wantVersionInFirst)
			}
			if !strings.HasSuffix(string(body), ","+v1+"]") {
				t.Errorf("the 1.0 statement was changed: %s", body)
			}
		})
	}
}
