package clustertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/reachtest"
)

const borough = "london"

// TestReplicasBehaveAsOne runs three `reach serve` processes over one
// PostgreSQL database, one Redis prefix and one bucket, and checks that
// what one replica does, the others see at once.
func TestReplicasBehaveAsOne(t *testing.T) {
	ctx := context.Background()
	// Forwarding's target is a loopback server (forwardingTarget).
	c := startCluster(t, sharedBackends(t), 3, allowLoopbackForwarding)
	a, b, cc := c.Replicas[0], c.Replicas[1], c.Replicas[2]

	t.Run("sign-in session", func(t *testing.T) {
		// Portal: sign up on A, use the session on B, sign out on A, B refuses.
		br := NewBrowser(a.URL, "10.1.0.1")
		email := "ada-" + uuid.NewString()[:8] + "@example.org"
		if err := br.SignUp(ctx, borough, "Ada", email, "correct horse battery"); err != nil {
			t.Fatal(err)
		}
		br.Base = b.URL
		if _, err := br.Modules(ctx, borough); err != nil {
			t.Fatalf("dashboard on B with A's session: %v", err)
		}
		stolen := br.SessionCookie()
		br.Base = a.URL
		if st, body, err := br.Do(ctx, http.MethodPost, "/b/"+borough+"/signout", url.Values{"_csrf": {br.CSRF()}}); err != nil || st >= 400 {
			t.Fatalf("sign out on A: %d %v %s", st, err, body)
		}
		br.Base = b.URL
		if st, _, _ := br.Do(ctx, http.MethodGet, "/b/"+borough+"/dashboard", nil); st == http.StatusOK {
			t.Errorf("dashboard on B after signing out on A: got 200")
		}
		// The browser dropped its cookie on sign-out; a copy kept elsewhere
		// must stop working on B too.
		if stolen == "" {
			t.Fatal("no session cookie after sign-up")
		}
		replay := client.New(b.URL)
		replay.Token = stolen
		var ce *client.Error
		if _, err := replay.Me(ctx); !errors.As(err, &ce) || ce.Status != http.StatusUnauthorized {
			t.Errorf("session signed out on A, replayed on B: got %v, want 401", err)
		}

		// API: a bearer token from A works on B until it signs out on A.
		ac := client.New(a.URL)
		if _, err := ac.Login(ctx, "", c.AdminEmail, c.AdminPassword); err != nil {
			t.Fatal(err)
		}
		onB := client.New(b.URL)
		onB.Token = ac.Token
		if _, err := onB.Me(ctx); err != nil {
			t.Fatalf("A's token on B: %v", err)
		}
		if err := ac.Logout(ctx); err != nil {
			t.Fatal(err)
		}
		for _, r := range []*Replica{b, cc} {
			other := client.New(r.URL)
			other.Token = onB.Token
			var ce *client.Error
			if _, err := other.Me(ctx); !errors.As(err, &ce) || ce.Status != http.StatusUnauthorized {
				t.Errorf("token signed out on A, used on %s: got %v, want 401", r.Name, err)
			}
		}
	})

	t.Run("one-time fetch URL", func(t *testing.T) {
		br := NewBrowser(a.URL, "10.1.0.2")
		if err := br.SignUp(ctx, borough, "Bo", "bo-"+uuid.NewString()[:8]+"@example.org", "correct horse battery"); err != nil {
			t.Fatal(err)
		}
		mods, err := br.Modules(ctx, borough)
		if err != nil {
			t.Fatal(err)
		}
		l, err := br.LaunchModule(ctx, borough, mods[0])
		if err != nil {
			t.Fatal(err)
		}
		st, tok, _, err := FetchToken(ctx, httpClient, Rebase(l.Fetch, a.URL))
		if err != nil || st != http.StatusOK || tok == "" {
			t.Fatalf("fetch on A: %d %v", st, err)
		}
		for _, r := range []*Replica{b, cc} {
			// cmi5 §8.2.3: error-code 1 ("already used") and no token; the
			// status is a 200 or 400 depending on the reading of the spec.
			st, tok2, code, err := FetchToken(ctx, httpClient, Rebase(l.Fetch, r.URL))
			if err != nil || st >= 500 || code != "1" || tok2 != "" {
				t.Errorf("fetch URL used on A, again on %s: got %d code %q token %v %v, want error-code 1 and no token", r.Name, st, code, tok2 != "", err)
			}
		}
		// The token works on every replica.
		for _, r := range c.Replicas {
			au := &AU{Base: r.URL, Token: tok, Launch: l, HTTP: httpClient}
			if err := au.ReadLaunchData(ctx); err != nil {
				t.Errorf("LMS.LaunchData on %s: %v", r.Name, err)
			}
		}
	})

	t.Run("sign-in backoff counts across replicas", func(t *testing.T) {
		// Failed sign-ins of one account from one address: five are free,
		// then the address waits. Spread over three replicas they still
		// add up (the counts are in Redis), so the seventh attempt waits
		// on whichever replica it reaches.
		email := "victim-" + uuid.NewString()[:8] + "@example.org"
		var codes []int
		for i := range 7 {
			r := c.Replicas[i%3]
			lc := client.New(r.URL)
			_, err := lc.Login(ctx, "", email, "wrong password")
			var ce *client.Error
			if !errors.As(err, &ce) {
				t.Fatalf("login %d: %v", i, err)
			}
			codes = append(codes, ce.Status)
		}
		for i, code := range codes {
			want := http.StatusUnauthorized
			if i >= 6 {
				want = http.StatusTooManyRequests
			}
			if code != want {
				t.Errorf("attempt %d (on %s): got %d, want %d (all: %v)", i+1, c.Replicas[i%3].Name, code, want, codes)
			}
		}
	})

	t.Run("publishing on A is seen on B and C at once", func(t *testing.T) {
		ac := admin(t, c, a)
		vs, err := ac.CourseVersions(ctx, borough)
		if err != nil || len(vs) == 0 {
			t.Fatalf("versions: %v %v", vs, err)
		}
		cur := 0
		for _, v := range vs {
			if v.Status == "published" {
				cur = v.Number
			}
		}
		// A borough variant: the course rebuilt with local slots (a brand
		// colour), made on A.
		const colour = "#1d4f91"
		draft, err := ac.SetSlots(ctx, borough, map[string]any{"boroughName": "Clusterton",
			"branding": map[string]any{"primaryColour": colour}})
		if err != nil {
			t.Fatal(err)
		}
		if draft.Number <= cur {
			t.Fatalf("variant draft %d is not newer than %d", draft.Number, cur)
		}
		if _, err := ac.Publish(ctx, borough, draft.Number); err != nil {
			t.Fatal(err)
		}
		for _, r := range []*Replica{b, cc} {
			rc := admin(t, c, r)
			vs, err := rc.CourseVersions(ctx, borough)
			if err != nil {
				t.Fatal(err)
			}
			published := 0
			for _, v := range vs {
				if v.Status == "published" {
					published = v.Number
				}
			}
			if published != draft.Number {
				t.Errorf("%s shows version %d published right after A published %d", r.Name, published, draft.Number)
			}
		}
		// A learner launching on C gets the newly published version.
		br := NewBrowser(cc.URL, "10.1.0.3")
		if err := br.SignUp(ctx, borough, "Cy", "cy-"+uuid.NewString()[:8]+"@example.org", "correct horse battery"); err != nil {
			t.Fatal(err)
		}
		mods, err := br.Modules(ctx, borough)
		if err != nil {
			t.Fatal(err)
		}
		l, err := br.LaunchModule(ctx, borough, mods[0])
		if err != nil {
			t.Fatalf("launch on C after publishing on A: %v", err)
		}
		// The content C serves is the variant's: its theme has the colour.
		au, err := url.Parse(Rebase(l.URL, cc.ContentURL))
		if err != nil {
			t.Fatal(err)
		}
		theme := au.ResolveReference(&url.URL{Path: "../theme.css"})
		res, err := httpClient.Get(theme.String())
		if err != nil {
			t.Fatal(err)
		}
		css, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(css), colour) {
			t.Errorf("theme of the module launched on C: %d %q, want the variant's colour %s", res.StatusCode, css, colour)
		}
	})

	t.Run("revoked LRS credentials", func(t *testing.T) {
		ac := admin(t, c, a)
		cred, err := ac.CreateCredential(ctx, borough, "short-lived", "all/read")
		if err != nil {
			t.Fatal(err)
		}
		lrsc := LRSClient{Cred: Credential{Key: cred.Key, Secret: cred.Secret}, HTTP: httpClient}
		for _, r := range c.Replicas {
			if st, raw, err := lrsc.Do(ctx, r.URL, http.MethodGet, "statements?limit=1", nil); err != nil || st != http.StatusOK {
				t.Fatalf("read on %s: %d %v %s", r.Name, st, err, raw)
			}
		}
		if err := ac.RevokeCredential(ctx, borough, cred.ID); err != nil {
			t.Fatal(err)
		}
		// Each replica caches a credential for 5 seconds, and the reads
		// above have just filled every cache; the revocation message over
		// Redis must clear them well before that.
		start := time.Now()
		for _, r := range []*Replica{b, cc} {
			eventually(t, 1500*time.Millisecond, "revocation seen on "+r.Name, func() (bool, string) {
				st, _, err := lrsc.Do(ctx, r.URL, http.MethodGet, "statements?limit=1", nil)
				return err == nil && st == http.StatusUnauthorized, fmt.Sprint(st, err)
			})
		}
		t.Logf("revocation seen on every replica after %v", time.Since(start).Round(100*time.Millisecond))
	})

	t.Run("forwarding: each statement delivered once", func(t *testing.T) {
		testForwardingOnce(t, c)
	})
}

// recorder is a reverse proxy in front of a real Reach LRS that counts
// every statement id forwarded to it.
type recorder struct {
	target *reachtest.Instance
	cred   client.Credential
	mu     sync.Mutex
	seen   map[string]int
	posts  int
	srv    *httptest.Server
}

func newRecorder(t *testing.T, target string) *recorder {
	rec := &recorder{seen: map[string]int{}}
	u, _ := url.Parse(target)
	proxy := httputil.NewSingleHostReverseProxy(u)
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/xapi/statements" {
			body, _ := io.ReadAll(r.Body)
			var many []struct{ ID string }
			if json.Unmarshal(body, &many) != nil {
				var one struct{ ID string }
				_ = json.Unmarshal(body, &one)
				many = append(many, one)
			}
			rec.mu.Lock()
			rec.posts++
			for _, s := range many {
				rec.seen[s.ID]++
			}
			rec.mu.Unlock()
			r.Body = io.NopCloser(bytesReader(body))
			r.ContentLength = int64(len(body))
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (r *recorder) counts() (map[string]int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.seen))
	for k, v := range r.seen {
		out[k] = v
	}
	return out, r.posts
}

// testForwardingOnce forwards statements stored through every replica to
// a separate Reach (the target LRS) and checks each id arrives once, with
// its id preserved.
func testForwardingOnce(t *testing.T, c *Cluster) {
	ctx := context.Background()
	rec := forwardingTarget(t, c)
	target := rec.target
	tcred := rec.cred
	cred, err := c.Credential(ctx, borough, "all")
	if err != nil {
		t.Fatal(err)
	}
	lrsc := LRSClient{Cred: cred, HTTP: httpClient}
	var want []string
	for i := range 12 {
		var batch []map[string]any
		for range 5 {
			s := plainStatement()
			want = append(want, s["id"].(string))
			batch = append(batch, s)
		}
		r := c.Replicas[i%len(c.Replicas)]
		if st, raw, err := lrsc.Do(ctx, r.URL, http.MethodPost, "statements", batch); err != nil || st != http.StatusOK {
			t.Fatalf("post on %s: %d %v %s", r.Name, st, err, raw)
		}
		// Spread the batches over several polls of the workers, so more
		// than one replica has the chance to pick the target up.
		time.Sleep(400 * time.Millisecond)
	}
	eventually(t, 60*time.Second, "forwarding of 60 statements", func() (bool, string) {
		got, _ := rec.counts()
		n := 0
		for _, id := range want {
			if got[id] > 0 {
				n++
			}
		}
		return n == len(want), fmt.Sprintf("%d of %d", n, len(want))
	})
	// Give a second sender time to show itself, were there one.
	time.Sleep(2 * time.Second)
	got, posts := rec.counts()
	for _, id := range want {
		if got[id] != 1 {
			t.Errorf("statement %s delivered %d times, want once", id, got[id])
		}
	}
	// The target stored them under the same ids.
	tl := LRSClient{Cred: Credential{Key: tcred.Key, Secret: tcred.Secret}, HTTP: httpClient}
	ids, err := tl.StatementIDs(ctx, target.URL, url.Values{"limit": {"500"}})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, id := range ids {
		have[id] = true
	}
	for _, id := range want {
		if !have[id] {
			t.Errorf("statement %s is not in the target LRS under its id", id)
		}
	}
	t.Logf("60 statements stored through 3 replicas reached the target in %d requests", posts)
}

// allowLoopbackForwarding lets the replicas forward to loopback, where
// forwardingTarget's recorder listens; by default forwarding refuses it.
const allowLoopbackForwarding = "REACH_FORWARD_ALLOW_PRIVATE=true"

// forwardingTarget starts a separate Reach as the target LRS, behind a
// recorder, and points the cluster's forwarding at it.
func forwardingTarget(t *testing.T, c *Cluster) *recorder {
	ctx := context.Background()
	target := reachtest.Start(t, reachtest.Backend{Name: "embedded"})
	tc := client.New(target.URL)
	if _, err := tc.Login(ctx, "", target.AdminEmail, target.AdminPassword); err != nil {
		t.Fatal(err)
	}
	tcred, err := tc.CreateCredential(ctx, borough, "from the cluster", "all")
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(t, target.URL)
	ac := admin(t, c, c.Replicas[0])
	if _, err := ac.CreateForwarding(ctx, borough, client.ForwardingInput{Name: client.Ptr("target"),
		Endpoint: client.Ptr(rec.srv.URL + "/xapi/"), AuthType: client.Ptr("basic"), AuthKey: client.Ptr(tcred.Key),
		Secret: client.Ptr(tcred.Secret)}); err != nil {
		t.Fatal(err)
	}
	rec.target, rec.cred = target, tcred
	return rec
}

// plainStatement is a statement an LMS with write access might store.
func plainStatement() map[string]any {
	return map[string]any{"id": uuid.NewString(),
		"actor":  map[string]any{"mbox": "mailto:learner-" + uuid.NewString()[:6] + "@example.org"},
		"verb":   map[string]any{"id": VerbExp, "display": map[string]string{"en-GB": "experienced"}},
		"object": map[string]any{"id": "https://reach.london/activities/clustertest/page"}}
}
