package clustertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// targetsOf lists the replicas' app origins.
func targetsOf(c *Cluster) []string {
	var out []string
	for _, r := range c.Replicas {
		out = append(out, r.URL)
	}
	return out
}

// kindCounts tallies results by kind and status class during a window.
type kindCounts struct {
	mu      sync.Mutex
	results []Result
}

func (k *kindCounts) observe(r Result) {
	k.mu.Lock()
	k.results = append(k.results, r)
	k.mu.Unlock()
}

// between returns the results that started in [from, to).
func (k *kindCounts) between(from, to time.Time) []Result {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []Result
	for _, r := range k.results {
		if !r.Start.Before(from) && r.Start.Before(to) {
			out = append(out, r)
		}
	}
	return out
}

// TestKillReplicaDuringIngest kills one of two replicas with SIGKILL while
// six LMS writers post batches with their own statement ids, retrying a
// failed batch with the same ids on the next replica. Every batch that was
// acknowledged must be stored, and the retries must not store anything
// twice.
func TestKillReplicaDuringIngest(t *testing.T) {
	ctx := context.Background()
	c := startCluster(t, sharedBackends(t), 2, allowLoopbackForwarding)
	reader, err := c.Credential(ctx, borough, "all/read")
	if err != nil {
		t.Fatal(err)
	}
	writer, err := c.Credential(ctx, borough, "statements/write")
	if err != nil {
		t.Fatal(err)
	}
	rec := forwardingTarget(t, c)
	victim := c.Replicas[0]
	done := make(chan struct{})
	var restarted time.Time
	go func() {
		defer close(done)
		time.Sleep(3 * time.Second)
		victim.Kill()
		time.Sleep(3 * time.Second)
		if err := victim.Start(); err != nil {
			t.Error(err)
			return
		}
		if err := victim.WaitReady(ctx, 30*time.Second); err != nil {
			t.Error(err)
		}
		restarted = time.Now()
	}()
	rep, err := RunLoad(ctx, LoadOptions{Targets: targetsOf(c), Borough: borough, Writers: 6, WriterBatch: 10,
		WriterPause: 10 * time.Millisecond, Duration: 12 * time.Second, WriterCred: writer})
	if err != nil {
		t.Fatal(err)
	}
	<-done
	if restarted.IsZero() {
		t.Fatal("the killed replica did not come back")
	}
	writes := rep.Kinds[0]
	t.Logf("writes: %d (%d failed and were retried), %d statements acknowledged, %d sent", writes.Count, writes.Errors, len(rep.Acked), len(rep.Sent))
	if writes.Errors == 0 {
		t.Error("no write failed: the kill did not happen during the ingest")
	}
	if len(rep.Acked) < 200 {
		t.Errorf("only %d statements acknowledged: the ingest was not sustained", len(rep.Acked))
	}
	for _, k := range rep.Kinds {
		for st := range k.Statuses {
			if st >= 400 {
				t.Errorf("%s answered %d %d times: a retry with the same ids must be accepted", k.Kind, st, k.Statuses[st])
			}
		}
	}
	missing, dup, err := VerifyStored(ctx, nil, c.Replicas[1].URL, reader, rep.Acked)
	if err != nil {
		t.Fatal(err)
	}
	if missing != 0 || dup != 0 {
		t.Errorf("of %d acknowledged statements %d are missing and %d stored more than once", len(rep.Acked), missing, dup)
	}
	// Forwarding survives the kill: a lease held by the dead replica
	// expires and a live one carries on. A batch in flight at the kill may
	// be sent again (the target keeps one copy per id); nothing is lost.
	start := time.Now()
	eventually(t, 120*time.Second, "forwarding to deliver every acknowledged statement", func() (bool, string) {
		got, _ := rec.counts()
		n := 0
		for _, id := range rep.Acked {
			if got[id] > 0 {
				n++
			}
		}
		return n == len(rep.Acked), fmt.Sprintf("%d of %d", n, len(rep.Acked))
	})
	got, posts := rec.counts()
	twice := 0
	for _, n := range got {
		if n > 1 {
			twice++
		}
	}
	t.Logf("forwarding delivered all %d in %d requests, %v after the load ended; %d statements sent more than once", len(rep.Acked), posts,
		time.Since(start).Round(time.Second), twice)
	if twice > 100 {
		t.Errorf("%d statements forwarded more than once: more than one batch (100) was resent", twice)
	}
}

// TestPostgresRestart restarts the private PostgreSQL under two replicas
// while LMS writers post: the replicas' pools reconnect by themselves and
// no acknowledged statement is lost.
func TestPostgresRestart(t *testing.T) {
	// Private backends: runs beside the other outage tests.
	t.Parallel()
	ctx := context.Background()
	p := privateBackends(t, false, false, true)
	c := startCluster(t, p.Backends, 2)
	reader, err := c.Credential(ctx, borough, "all/read")
	if err != nil {
		t.Fatal(err)
	}
	writer, err := c.Credential(ctx, borough, "statements/write")
	if err != nil {
		t.Fatal(err)
	}
	var down, up time.Time
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(3 * time.Second)
		down = time.Now()
		if err := p.Postgres.Stop(); err != nil {
			t.Error(err)
		}
		time.Sleep(2 * time.Second)
		if err := p.Postgres.Start(ctx); err != nil {
			t.Error(err)
		}
		up = time.Now()
	}()
	obs := &kindCounts{}
	rep, err := RunLoad(ctx, LoadOptions{Targets: targetsOf(c), Borough: borough, Writers: 4, WriterBatch: 10,
		WriterPause: 20 * time.Millisecond, Duration: 14 * time.Second, WriterCred: writer, Observe: obs.observe})
	if err != nil {
		t.Fatal(err)
	}
	<-done
	// After the restart both replicas take writes again without being
	// restarted themselves.
	recovered := time.Time{}
	for _, r := range obs.between(up, time.Now()) {
		if r.OK() && recovered.IsZero() {
			recovered = r.Start
		}
	}
	if recovered.IsZero() {
		t.Fatal("no write succeeded after PostgreSQL came back")
	}
	late := up.Add(5 * time.Second)
	for _, r := range obs.between(late, time.Now()) {
		if !r.OK() {
			t.Errorf("write on %s failed %v after PostgreSQL came back: %v", r.Target, r.Start.Sub(up).Round(time.Millisecond), r.Err)
		}
	}
	var during, failed int
	for _, r := range obs.between(down, up) {
		during++
		if !r.OK() {
			failed++
			if r.Status != 0 && r.Status != http.StatusServiceUnavailable {
				t.Errorf("write while PostgreSQL was down answered %d, want 503: %v", r.Status, r.Err)
			}
		}
	}
	t.Logf("PostgreSQL down %v; %d writes during it (%d failed); first success %v after it came back; %d statements acknowledged",
		up.Sub(down).Round(time.Millisecond), during, failed, recovered.Sub(up).Round(time.Millisecond), len(rep.Acked))
	missing, dup, err := VerifyStored(ctx, nil, c.Replicas[1].URL, reader, rep.Acked)
	if err != nil {
		t.Fatal(err)
	}
	if missing != 0 || dup != 0 {
		t.Errorf("of %d acknowledged statements %d are missing and %d stored more than once", len(rep.Acked), missing, dup)
	}
}

// statusTable counts results per kind and status.
func statusTable(rs []Result) map[string]map[int]int {
	out := map[string]map[int]int{}
	for _, r := range rs {
		if out[r.Kind] == nil {
			out[r.Kind] = map[int]int{}
		}
		out[r.Kind][r.Status]++
	}
	return out
}

// TestRedisOutage stops the private Redis for 30 seconds while learners
// launch modules and send statements, LMS writers store statements and an
// LMS reads them, with a forwarding target configured. Statements keep
// being stored and read, learners keep launching; forwarding catches up
// once Redis is back and nothing is lost.
func TestRedisOutage(t *testing.T) {
	// Private backends: runs beside the other outage tests.
	t.Parallel()
	ctx := context.Background()
	p := privateBackends(t, true, false, false)
	c := startCluster(t, p.Backends, 2, allowLoopbackForwarding)
	reader, err := c.Credential(ctx, borough, "all/read")
	if err != nil {
		t.Fatal(err)
	}
	writer, err := c.Credential(ctx, borough, "statements/write")
	if err != nil {
		t.Fatal(err)
	}
	rec := forwardingTarget(t, c)

	const before, outage, after = 5 * time.Second, 30 * time.Second, 10 * time.Second
	// recovery is how soon after Redis answers again every replica must be
	// using it: go-redis re-dials a refused server once a second and the
	// breaker's probe PINGs every 250 ms (internal/kv/rediskv), so about
	// 1.3 s, with room for a busy 2-core machine.
	const recovery = 3 * time.Second
	var down, up time.Time
	// Launch tokens whose sessions ended before and during the outage:
	// both must stay refused during it and after it.
	var endedBefore, endedDuring *AU
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(before - time.Second)
		endedBefore = endedSession(ctx, t, c, "before")
		time.Sleep(time.Second)
		down = time.Now()
		if err := p.Redis.Stop(); err != nil {
			t.Error(err)
		}
		time.Sleep(time.Second)
		endedDuring = endedSession(ctx, t, c, "during")
		for _, au := range []*AU{endedBefore, endedDuring} {
			checkRevoked(ctx, t, au, "while Redis is down")
		}
		// Every replica stays ready: a load balancer must not take them
		// all out over a cache they can work without.
		for _, r := range c.Replicas {
			res, err := httpClient.Get(r.URL + "/readyz")
			if err != nil {
				t.Errorf("/readyz on %s: %v", r.Name, err)
				continue
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"degraded"`) {
				t.Errorf("/readyz on %s while Redis is down: %d %s, want 200 degraded", r.Name, res.StatusCode, body)
			}
		}
		time.Sleep(outage - time.Second)
		if err := p.Redis.Start(ctx); err != nil {
			t.Error(err)
		}
		up = time.Now()
	}()
	obs := &kindCounts{}
	rep, err := RunLoad(ctx, LoadOptions{Targets: targetsOf(c), Borough: borough, Learners: 4, Readers: 1, Writers: 2,
		WriterPause: 50 * time.Millisecond, Think: 150 * time.Millisecond, Duration: before + outage + after, ReaderCred: reader, WriterCred: writer,
		Observe: obs.observe})
	if err != nil {
		t.Fatal(err)
	}
	<-done
	for _, au := range []*AU{endedBefore, endedDuring} {
		checkRevoked(ctx, t, au, "after Redis came back")
	}
	// The one request that truly needs Redis: redeeming a fetch URL whose
	// code was put in Redis just before it went down (launches during the
	// outage put theirs in the database). It gets cmi5 error-code 3 (the
	// load tool records a fetch error as status 0) and the learner launches
	// again; such fetches come within moments of the outage.
	var strict []Result
	lateFetch := 0
	for _, r := range obs.between(down, up) {
		if r.Kind == "fetch" && r.Status == 0 && r.Err != nil && strings.Contains(r.Err.Error(), `cmi5 error-code "3"`) &&
			r.Start.Sub(down) < 3*time.Second {
			lateFetch++
			continue
		}
		strict = append(strict, r)
	}
	t.Logf("fetches of codes stored in Redis before the outage, answered cmi5 error-code 3: %d", lateFetch)
	during := statusTable(strict)
	afterwards := statusTable(obs.between(up.Add(recovery), time.Now()))
	t.Logf("during the outage: %v", during)
	t.Logf("after it: %v", afterwards)
	var out strings.Builder
	rep.Print(&out)
	t.Log("\n" + out.String())
	for kind, st := range during {
		for code, n := range st {
			if code >= 500 || code == 0 {
				t.Errorf("%s answered %d %d times while Redis was down", kind, code, n)
			}
		}
		if st[http.StatusOK]+st[http.StatusSeeOther] == 0 {
			t.Errorf("no %s succeeded while Redis was down: %v", kind, st)
		}
	}
	for kind, st := range afterwards {
		for code, n := range st {
			if code >= 400 || code == 0 {
				t.Errorf("%s answered %d %d times after Redis came back", kind, code, n)
			}
		}
	}
	// Each replica's last logged Redis failure shows when it used Redis
	// again.
	for _, r := range c.Replicas {
		last, err := lastRedisFailure(r.LogPath)
		if err != nil {
			t.Fatal(err)
		}
		if last.IsZero() {
			t.Errorf("replica %s logged no Redis failure during the outage", r.Name)
			continue
		}
		t.Logf("replica %s: last Redis failure %v after Redis answered again", r.Name, last.Sub(up).Round(time.Millisecond))
		if last.After(up.Add(recovery)) {
			t.Errorf("replica %s still failed to use Redis %v after it answered again", r.Name, last.Sub(up).Round(time.Millisecond))
		}
	}
	for _, kind := range []string{"launch", "fetch", "statement", "lrs-write", "lrs-read"} {
		if during[kind][http.StatusOK] == 0 {
			t.Errorf("no %s request succeeded while Redis was down", kind)
		}
		if afterwards[kind][http.StatusOK] == 0 {
			t.Errorf("no %s request succeeded after Redis came back", kind)
		}
	}
	missing, dup, err := VerifyStored(ctx, nil, c.Replicas[1].URL, reader, rep.Acked)
	if err != nil {
		t.Fatal(err)
	}
	if missing != 0 || dup != 0 {
		t.Errorf("of %d acknowledged statements %d are missing and %d stored more than once", len(rep.Acked), missing, dup)
	}
	// Forwarding catches up with everything the writers stored.
	eventually(t, 90*time.Second, "forwarding to catch up", func() (bool, string) {
		got, _ := rec.counts()
		n := 0
		for _, id := range rep.Acked {
			if got[id] > 0 {
				n++
			}
		}
		return n == len(rep.Acked), fmt.Sprintf("%d of %d", n, len(rep.Acked))
	})
	got, _ := rec.counts()
	twice := 0
	for _, n := range got {
		if n > 1 {
			twice++
		}
	}
	if twice > 0 {
		t.Errorf("%d statements were forwarded more than once", twice)
	}
	t.Logf("forwarding caught up: %d statements at the target", len(got))
}

// lastRedisFailure is the time of the last line in a replica's JSON log
// whose error names a Redis command, zero when there is none.
func lastRedisFailure(logPath string) (time.Time, error) {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return time.Time{}, err
	}
	var last time.Time
	for _, line := range strings.Split(string(b), "\n") {
		var rec struct {
			Time time.Time `json:"time"`
			Err  string    `json:"err"`
		}
		if json.Unmarshal([]byte(line), &rec) != nil || !strings.Contains(rec.Err, "redis ") {
			continue
		}
		if rec.Time.After(last) {
			last = rec.Time
		}
	}
	return last, nil
}

// endedSession signs a new learner up, launches a module, redeems the
// token and ends the session with terminated, which revokes the token.
// It returns the AU holding that token; nil after reporting a failure.
func endedSession(ctx context.Context, t *testing.T, c *Cluster, name string) *AU {
	t.Helper()
	br := NewBrowser(c.Replicas[0].URL, "10.99.0.1")
	email := fmt.Sprintf("ended-%s-%d@example.org", name, time.Now().UnixNano())
	st, body, err := br.Do(ctx, http.MethodPost, "/b/"+borough+"/signup", url.Values{"name": {"Ended " + name},
		"email": {email}, "password": {"correct horse battery staple"}, "profession": {"artist"}})
	if err != nil || st != http.StatusSeeOther {
		t.Errorf("sign-up for the %s session: %d %v %.200s", name, st, err, body)
		return nil
	}
	if err := br.SignIn(ctx, borough, email, "correct horse battery staple"); err != nil {
		t.Errorf("sign-in for the %s session: %v", name, err)
		return nil
	}
	modules, err := br.Modules(ctx, borough)
	if err != nil || len(modules) == 0 {
		t.Errorf("modules for the %s session: %v %v", name, modules, err)
		return nil
	}
	l, err := br.LaunchModule(ctx, borough, modules[0])
	if err != nil {
		t.Errorf("launch for the %s session: %v", name, err)
		return nil
	}
	_, tok, code, err := FetchToken(ctx, httpClient, Rebase(l.Fetch, c.Replicas[1].URL))
	if err != nil || tok == "" {
		t.Errorf("fetch for the %s session: %v (cmi5 error-code %q)", name, err, code)
		return nil
	}
	au := &AU{Base: c.Replicas[1].URL, Token: tok, Launch: l, HTTP: httpClient}
	if err := au.ReadLaunchData(ctx); err != nil {
		t.Errorf("launch data for the %s session: %v", name, err)
		return nil
	}
	if err := au.Post(ctx, "initialized", au.Statement(VerbInit, "", true, false, nil)); err != nil {
		t.Errorf("initialized in the %s session: %v", name, err)
		return nil
	}
	if err := au.Post(ctx, "terminated", au.Statement(VerbTerm, "", true, false, map[string]any{"duration": "PT1M"})); err != nil {
		t.Errorf("terminated in the %s session: %v", name, err)
		return nil
	}
	return au
}

// checkRevoked expects the AU's ended-session token to be refused (401)
// on every replica.
func checkRevoked(ctx context.Context, t *testing.T, au *AU, when string) {
	t.Helper()
	if au == nil {
		return
	}
	for _, base := range []string{au.Launch.Endpoint, au.Base} {
		probe := *au
		probe.Base = strings.TrimSuffix(strings.TrimSuffix(base, "/"), "/xapi")
		err := probe.ReadLaunchData(ctx)
		var se *StatusError
		if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
			t.Errorf("token of a session that ended, %s, on %s: %v, want 401", when, probe.Base, err)
		}
	}
}
