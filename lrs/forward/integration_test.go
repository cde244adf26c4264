package forward_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/config"
	"github.com/reach-london/reach/internal/reachtest"
	"github.com/reach-london/reach/lrs/forward"
)

// testOptions make the worker quick enough for tests; Grace stays long
// enough that a test can watch a gap being waited for.
func testOptions() forward.Options {
	return forward.Options{Poll: 100 * time.Millisecond, Grace: 3 * time.Second, Batch: 4,
		MinBackoff: 100 * time.Millisecond, MaxBackoff: 400 * time.Millisecond, LeaseTTL: 5 * time.Second}
}

// lrsUser posts and reads statements on one Reach instance with a key.
type lrsUser struct {
	url, key, secret string
}

func (u lrsUser) do(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u.url+"/xapi/"+path, rd)
	req.SetBasicAuth(u.key, u.secret)
	req.Header.Set("X-Experience-API-Version", "1.0.3")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, raw
}

func (u lrsUser) post(t *testing.T, stmts ...map[string]any) {
	t.Helper()
	if code, raw := u.do(t, http.MethodPost, "statements", stmts); code != http.StatusOK {
		t.Fatalf("POST statements: got %d %s, want 200", code, raw)
	}
}

// ids returns the ids of every statement the instance holds for the key's
// borough (voided ones too, as voidedStatementId would find them).
func (u lrsUser) ids(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	code, raw := u.do(t, http.MethodGet, "statements?limit=1000", nil)
	if code != http.StatusOK {
		t.Fatalf("GET statements: got %d %s", code, raw)
	}
	var res struct {
		Statements []struct {
			ID string `json:"id"`
		} `json:"statements"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Statements {
		if out[s.ID] {
			t.Errorf("statement %s is stored twice at the target", s.ID)
		}
		out[s.ID] = true
	}
	return out
}

func statement(verb, activity string) map[string]any {
	return map[string]any{
		"id":     uuid.NewString(),
		"actor":  map[string]any{"mbox": "mailto:learner@example.org", "name": "Learner"},
		"verb":   map[string]any{"id": verb, "display": map[string]any{"en-GB": verb[strings.LastIndex(verb, "/")+1:]}},
		"object": map[string]any{"id": activity, "definition": map[string]any{"name": map[string]any{"en-GB": "Module"}}},
	}
}

const (
	verbCompleted   = "http://adlnet.gov/expapi/verbs/completed"
	verbExperienced = "http://adlnet.gov/expapi/verbs/experienced"
	act1            = "https://reach.test/course/module-1"
	act2            = "https://reach.test/course/module-2"
	act3            = "https://reach.test/course/module-3"
)

// recorder is an xAPI statements endpoint that records what it receives,
// per statement id, and can be told to fail.
type recorder struct {
	srv   *httptest.Server
	mu    sync.Mutex
	got   map[string]int
	auth  []string
	fail  bool
	delay time.Duration // before answering, outside the lock
	// refuse lists statement ids the recorder answers 400 for, refusing
	// the whole batch, as an LRS does with an invalid statement.
	refuse map[string]bool
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{got: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		delay := r.delay
		r.mu.Unlock()
		time.Sleep(delay)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fail {
			http.Error(w, `{"error":{"message":"down for maintenance"}}`, http.StatusServiceUnavailable)
			return
		}
		if req.Method != http.MethodPost || req.URL.Path != "/xapi/statements" || req.Header.Get("X-Experience-API-Version") == "" {
			http.Error(w, "unexpected request "+req.Method+" "+req.URL.Path, http.StatusBadRequest)
			return
		}
		var stmts []struct {
			ID string `json:"id"`
		}
		if err := json.NewDecoder(req.Body).Decode(&stmts); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, s := range stmts {
			if r.refuse[s.ID] {
				http.Error(w, `{"error":{"message":"statement `+s.ID+` is not valid here"}}`, http.StatusBadRequest)
				return
			}
		}
		r.auth = append(r.auth, req.Header.Get("Authorization"))
		var ids []string
		for _, s := range stmts {
			r.got[s.ID]++
			ids = append(ids, s.ID)
		}
		_ = json.NewEncoder(w).Encode(ids)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) snapshot() (map[string]int, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := make(map[string]int, len(r.got))
	for k, v := range r.got {
		got[k] = v
	}
	return got, append([]string(nil), r.auth...)
}

func (r *recorder) setFail(v bool) {
	r.mu.Lock()
	r.fail = v
	r.mu.Unlock()
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v; last state: %s", what, timeout, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func hasAll(have map[string]bool, want []string) (bool, string) {
	var missing []string
	for _, id := range want {
		if !have[id] {
			missing = append(missing, id)
		}
	}
	return len(missing) == 0, fmt.Sprintf("%d of %d present, missing %v", len(want)-len(missing), len(want), missing)
}

func ids(stmts ...map[string]any) []string {
	out := make([]string, len(stmts))
	for i, s := range stmts {
		out[i] = s["id"].(string)
	}
	return out
}

// adminClient signs in as the instance's platform admin.
// startAllowingLoopback starts a Reach whose forwarding may reach
// loopback addresses (REACH_FORWARD_ALLOW_PRIVATE), where these tests'
// target LRSs listen; by default forwarding refuses them.
func startAllowingLoopback(t *testing.T, b reachtest.Backend) *reachtest.Instance {
	t.Helper()
	return reachtest.Start(t, b, func(c *config.Config) { c.ForwardAllowPrivate = true })
}

func adminClient(t *testing.T, inst *reachtest.Instance) *client.Client {
	t.Helper()
	c := client.New(inst.URL)
	if _, err := c.Login(context.Background(), "", inst.AdminEmail, inst.AdminPassword); err != nil {
		t.Fatalf("admin login: %v", err)
	}
	return c
}

func credential(t *testing.T, c *client.Client, inst *reachtest.Instance, borough string) lrsUser {
	t.Helper()
	cred, err := c.CreateCredential(context.Background(), borough, "test "+uuid.NewString()[:8], "all")
	if err != nil {
		t.Fatalf("create credential: %v", err)
	}
	return lrsUser{url: inst.URL, key: cred.Key, secret: cred.Secret}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
