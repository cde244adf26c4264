package clustertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
)

// LoadOptions describe a load run. Requests go round-robin to Targets, as
// a load balancer would send them.
type LoadOptions struct {
	Targets  []string // app origins of the replicas
	Borough  string
	Learners int // simulated learners working through the course at once
	Readers  int // LMS readers paging through GET /xapi/statements
	Writers  int // LMS writers posting statement batches with their own ids
	Duration time.Duration
	// MaxRequests stops the run after this many requests (0: no bound
	// beyond Duration).
	MaxRequests int64
	Pages       int // experienced statements per module visit (default 4)
	// RampUp spreads the learners' arrival over this long (default 0).
	RampUp time.Duration
	// Think is how long a learner reads before each statement (default 0).
	Think       time.Duration
	Questions   int           // answered statements per module visit (default 2)
	WriterBatch int           // statements per writer batch (default 10)
	WriterPause time.Duration // wait between a writer's batches (default none)
	// ReaderCred needs all/read; WriterCred statements/write.
	ReaderCred, WriterCred Credential
	// Observe, when set, sees every request as it finishes.
	Observe func(Result)
	HTTP    *http.Client
}

// Result is one request's outcome.
type Result struct {
	Kind    string
	Target  string
	Start   time.Time
	Latency time.Duration
	Status  int // 0 when the request failed before an answer
	Err     error
	// IDs are the statement ids a write carried (writers only).
	IDs []string
}

// OK reports whether the request got the answer it expected.
func (r Result) OK() bool { return r.Err == nil }

// KindStats summarises one kind of request.
type KindStats struct {
	Kind      string
	Count     int
	Errors    int
	Statuses  map[int]int
	latencies []time.Duration
}

// Percentile returns the p-th percentile latency (0 < p ≤ 100).
func (k *KindStats) Percentile(p float64) time.Duration {
	if len(k.latencies) == 0 {
		return 0
	}
	i := int(float64(len(k.latencies))*p/100+0.5) - 1
	i = max(0, min(i, len(k.latencies)-1))
	return k.latencies[i]
}

// Report is what a load run measured.
type Report struct {
	Elapsed  time.Duration
	Requests int
	Errors   int
	Kinds    []*KindStats
	// Acked are statement ids the writers' batches got 200 for; Sent every
	// id the writers sent (acknowledged or not).
	Acked, Sent []string
	// FirstErrors holds a few error messages, for diagnosis.
	FirstErrors []string
}

// Throughput is requests per second over the run.
func (r *Report) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Print writes the report as a table.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "%d requests in %v: %.1f req/s, %d errors\n", r.Requests, r.Elapsed.Round(time.Millisecond), r.Throughput(), r.Errors)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tcount\treq/s\terrors\tp50\tp95\tp99\tmax\tstatuses\t")
	for _, k := range r.Kinds {
		st := ""
		codes := make([]int, 0, len(k.Statuses))
		for c := range k.Statuses {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		for _, c := range codes {
			st += fmt.Sprintf("%d×%d ", c, k.Statuses[c])
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%d\t%s\t%s\t%s\t%s\t%s\t\n", k.Kind, k.Count, float64(k.Count)/r.Elapsed.Seconds(), k.Errors,
			ms(k.Percentile(50)), ms(k.Percentile(95)), ms(k.Percentile(99)), ms(k.Percentile(100)), st)
	}
	tw.Flush()
	for _, e := range r.FirstErrors {
		fmt.Fprintln(w, "  error:", e)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

// loadRun is the shared state of one run.
type loadRun struct {
	o       LoadOptions
	rr      atomic.Uint64
	n       atomic.Int64
	mu      sync.Mutex
	results []Result
	regs    []string // registrations seen, for readers' filters
	stop    context.CancelFunc
}

// RunLoad runs simulated learners, LMS readers and LMS writers until the
// duration or request bound is reached, and reports what it saw.
func RunLoad(ctx context.Context, o LoadOptions) (*Report, error) {
	if len(o.Targets) == 0 {
		return nil, errors.New("no targets")
	}
	if o.Borough == "" {
		o.Borough = "london"
	}
	if o.Pages <= 0 {
		o.Pages = 4
	}
	if o.Questions <= 0 {
		o.Questions = 2
	}
	if o.WriterBatch <= 0 {
		o.WriterBatch = 10
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	}
	if o.Duration <= 0 {
		o.Duration = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	run := &loadRun{o: o, stop: cancel}
	start := time.Now()
	var wg sync.WaitGroup
	runID := uuid.NewString()[:8]
	for i := range o.Learners {
		wg.Add(1)
		go func() { defer wg.Done(); run.learner(ctx, runID, i) }()
	}
	for i := range o.Readers {
		wg.Add(1)
		go func() { defer wg.Done(); run.reader(ctx, i) }()
	}
	for range o.Writers {
		wg.Add(1)
		go func() { defer wg.Done(); run.writer(ctx) }()
	}
	wg.Wait()
	return run.report(time.Since(start)), nil
}

// target picks the next replica.
func (r *loadRun) target() string {
	return r.o.Targets[int(r.rr.Add(1))%len(r.o.Targets)]
}

// record keeps a result; it reports false once the run should stop.
func (r *loadRun) record(res Result) bool {
	r.mu.Lock()
	r.results = append(r.results, res)
	r.mu.Unlock()
	if r.o.Observe != nil {
		r.o.Observe(res)
	}
	if n := r.n.Add(1); r.o.MaxRequests > 0 && n >= r.o.MaxRequests {
		r.stop()
		return false
	}
	return true
}

// timed runs one request and records it; want is the expected status.
// A cancelled run's request is not counted.
func (r *loadRun) timed(ctx context.Context, kind, target string, want int, fn func() (int, string, error)) error {
	start := time.Now()
	st, body, err := fn()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err == nil && st != want {
		err = &StatusError{kind, st, body}
	}
	r.record(Result{Kind: kind, Target: target, Start: start, Latency: time.Since(start), Status: st, Err: err})
	return err
}

// pause waits d, or less when the run ends.
func pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// learner signs up, then goes through the modules again and again:
// launch, fetch the token, read LMS.LaunchData, initialize, page through,
// answer questions, complete and pass on the first visit, terminate.
// After every round it signs out and back in. An error makes it wait a
// moment and start the module again, as a person would.
func (r *loadRun) learner(ctx context.Context, runID string, i int) {
	br := NewBrowser(r.target(), fmt.Sprintf("10.%d.%d.%d", 64+i/65536, (i/256)%256, i%256))
	br.HTTP.Timeout = 30 * time.Second
	email := fmt.Sprintf("load-%s-%d@example.org", runID, i)
	const password = "correct horse battery staple"
	// Learners arrive spread over the ramp-up, not all in one instant.
	if r.o.RampUp > 0 && r.o.Learners > 1 {
		pause(ctx, time.Duration(i)*r.o.RampUp/time.Duration(r.o.Learners))
	}
	for attempt := 0; ctx.Err() == nil; attempt++ {
		br.Base = r.target()
		err := r.timed(ctx, "signup", br.Base, http.StatusSeeOther, func() (int, string, error) {
			return br.Do(ctx, http.MethodPost, "/b/"+r.o.Borough+"/signup", url.Values{"name": {fmt.Sprintf("Learner %d", i)},
				"email": {email}, "password": {password}, "profession": {"artist"}})
		})
		// Sign-up signs no one in, and answers the same when an earlier
		// try that timed out did create the account: sign in either way.
		if err == nil && r.timed(ctx, "signin", br.Base, http.StatusSeeOther, func() (int, string, error) {
			return br.Do(ctx, http.MethodPost, "/b/"+r.o.Borough+"/signin", url.Values{"email": {email}, "password": {password}})
		}) == nil {
			break
		}
		pause(ctx, time.Second)
	}
	var modules []string
	done := map[string]bool{}
	rounds, signIns := 0, 0
	var launches []time.Time
	for ctx.Err() == nil {
		if len(modules) == 0 {
			br.Base = r.target()
			var err error
			start := time.Now()
			modules, err = br.Modules(ctx, r.o.Borough)
			if ctx.Err() != nil {
				return
			}
			r.record(Result{Kind: "dashboard", Target: br.Base, Start: start, Latency: time.Since(start), Err: err, Status: statusOf(err)})
			if err != nil {
				pause(ctx, time.Second)
				continue
			}
		}
		for _, m := range modules {
			if ctx.Err() != nil {
				return
			}
			// The portal allows 60 launches per learner in 10 minutes; a
			// person never comes near that, so neither does the simulation.
			for len(launches) > 0 && time.Since(launches[0]) > 10*time.Minute {
				launches = launches[1:]
			}
			if len(launches) >= 55 {
				pause(ctx, time.Until(launches[0].Add(10*time.Minute)))
				continue
			}
			launches = append(launches, time.Now())
			if err := r.visit(ctx, br, m, !done[m]); err == nil {
				done[m] = true
			} else {
				pause(ctx, 500*time.Millisecond)
			}
		}
		// Every third round, sign out and in again on whichever replicas
		// the balancer picks; a person signs in a few times an hour, and
		// more than 10 sign-ins in 10 minutes hits the per-email limit.
		rounds++
		if rounds%3 != 0 || signIns >= 8 {
			continue
		}
		signIns++
		br.Base = r.target()
		_ = r.timed(ctx, "signout", br.Base, http.StatusSeeOther, func() (int, string, error) {
			return br.Do(ctx, http.MethodPost, "/b/"+r.o.Borough+"/signout", url.Values{"_csrf": {br.CSRF()}})
		})
		for ctx.Err() == nil {
			br.Base = r.target()
			if r.timed(ctx, "signin", br.Base, http.StatusSeeOther, func() (int, string, error) {
				return br.Do(ctx, http.MethodPost, "/b/"+r.o.Borough+"/signin", url.Values{"email": {email}, "password": {password}})
			}) == nil {
				break
			}
			pause(ctx, time.Second)
		}
	}
}

func statusOf(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	if err == nil {
		return http.StatusOK
	}
	return 0
}

// visit is one launch of a module.
func (r *loadRun) visit(ctx context.Context, br *Browser, module string, first bool) error {
	var l Launch
	br.Base = r.target()
	err := r.timed(ctx, "launch", br.Base, http.StatusOK, func() (int, string, error) {
		var err error
		l, err = br.LaunchModule(ctx, r.o.Borough, module)
		return statusOf(err), errString(err), nil
	})
	if err != nil {
		return err
	}
	r.mu.Lock()
	if len(r.regs) < 1000 {
		r.regs = append(r.regs, l.Registration)
	}
	r.mu.Unlock()
	var token string
	t := r.target()
	if err := r.timed(ctx, "fetch", t, http.StatusOK, func() (int, string, error) {
		st, tok, code, err := FetchToken(ctx, r.o.HTTP, Rebase(l.Fetch, t))
		token = tok
		if err == nil && tok == "" && st == http.StatusOK {
			// cmi5 fetch errors come as 200 with an error-code.
			st = 0
			err = fmt.Errorf("fetch: no auth-token, cmi5 error-code %q", code)
		}
		return st, "cmi5 error-code " + code, err
	}); err != nil {
		return err
	}
	au := &AU{Token: token, Launch: l, HTTP: r.o.HTTP}
	au.Base = r.target()
	if err := r.timed(ctx, "launchdata", au.Base, http.StatusOK, func() (int, string, error) {
		err := au.ReadLaunchData(ctx)
		return statusOf(err), errString(err), nil
	}); err != nil {
		return err
	}
	post := func(s map[string]any) error {
		if r.o.Think > 0 {
			pause(ctx, r.o.Think)
		}
		au.Base = r.target()
		return r.timed(ctx, "statement", au.Base, http.StatusOK, func() (int, string, error) {
			err := au.Post(ctx, "statement", s)
			return statusOf(err), errString(err), nil
		})
	}
	if err := post(au.Statement(VerbInit, "", true, false, nil)); err != nil {
		return err
	}
	for p := range r.o.Pages {
		page := fmt.Sprintf("%s/page/%d", l.ActivityID, p+1)
		if err := post(au.Statement(VerbExp, page, false, false, nil)); err != nil {
			return err
		}
	}
	for q := range r.o.Questions {
		question := fmt.Sprintf("%s/question/%d", l.ActivityID, q+1)
		if err := post(au.Statement(VerbAnswered, question, false, false, map[string]any{"success": rand.IntN(4) > 0,
			"response": "b"})); err != nil {
			return err
		}
	}
	if first {
		if err := post(au.Statement(VerbComplete, "", true, true, map[string]any{"completion": true})); err != nil {
			return err
		}
		score := max(au.MasteryScore, 0.9)
		if err := post(au.Statement(VerbPassed, "", true, true, map[string]any{"success": true,
			"score": map[string]any{"scaled": score}})); err != nil {
			return err
		}
	}
	return post(au.Statement(VerbTerm, "", true, false, map[string]any{"duration": "PT3M"}))
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

var verbs = []string{VerbExp, VerbAnswered, VerbComplete, VerbInit, VerbTerm}

// reader is an LMS reading the LRS with the filters LMSs use.
func (r *loadRun) reader(ctx context.Context, i int) {
	c := LRSClient{Cred: r.o.ReaderCred, HTTP: r.o.HTTP}
	for n := 0; ctx.Err() == nil; n++ {
		q := url.Values{"limit": {"25"}}
		switch n % 4 {
		case 0:
			q.Set("verb", verbs[(n/4+i)%len(verbs)])
		case 1:
			q.Set("since", time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano))
		case 2:
			r.mu.Lock()
			if len(r.regs) > 0 {
				q.Set("registration", r.regs[rand.IntN(len(r.regs))])
			}
			r.mu.Unlock()
		case 3:
			q.Set("ascending", "true")
		}
		t := r.target()
		if err := r.timed(ctx, "lrs-read", t, http.StatusOK, func() (int, string, error) {
			st, raw, err := c.Do(ctx, t, http.MethodGet, "statements?"+q.Encode(), nil)
			return st, string(raw), err
		}); err != nil {
			pause(ctx, 200*time.Millisecond)
		}
		pause(ctx, 50*time.Millisecond)
	}
}

// writer is an LMS posting batches of statements with its own ids. A
// batch that fails is sent again with the same ids (to the next replica)
// until it is acknowledged or the run ends.
func (r *loadRun) writer(ctx context.Context) {
	c := LRSClient{Cred: r.o.WriterCred, HTTP: r.o.HTTP}
	for ctx.Err() == nil {
		batch := make([]map[string]any, r.o.WriterBatch)
		ids := make([]string, len(batch))
		for j := range batch {
			batch[j] = plainLoadStatement()
			ids[j] = batch[j]["id"].(string)
		}
		for ctx.Err() == nil {
			t := r.target()
			start := time.Now()
			st, raw, err := c.Do(ctx, t, http.MethodPost, "statements", batch)
			if ctx.Err() != nil && err != nil {
				// Cut off by the end of the run: sent, not acknowledged.
				r.mu.Lock()
				r.results = append(r.results, Result{Kind: "lrs-write-cut", IDs: ids})
				r.mu.Unlock()
				return
			}
			if err == nil && st != http.StatusOK {
				err = &StatusError{"lrs-write", st, string(raw)}
			}
			if !r.record(Result{Kind: "lrs-write", Target: t, Start: start, Latency: time.Since(start), Status: st, Err: err, IDs: ids}) {
				return
			}
			if err == nil {
				break
			}
			pause(ctx, 100*time.Millisecond)
		}
		if r.o.WriterPause > 0 {
			pause(ctx, r.o.WriterPause)
		}
	}
}

// plainLoadStatement is a statement as an LMS might send it.
func plainLoadStatement() map[string]any {
	return map[string]any{"id": uuid.NewString(),
		"actor":  map[string]any{"mbox": fmt.Sprintf("mailto:lms-learner-%d@example.org", rand.IntN(500))},
		"verb":   map[string]any{"id": VerbExp, "display": map[string]string{"en-GB": "experienced"}},
		"object": map[string]any{"id": fmt.Sprintf("https://lms.example.org/activities/%d", rand.IntN(50))}}
}

func (r *loadRun) report(elapsed time.Duration) *Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := &Report{Elapsed: elapsed}
	kinds := map[string]*KindStats{}
	sent := map[string]bool{}
	for _, res := range r.results {
		for _, id := range res.IDs {
			if !sent[id] {
				sent[id] = true
				rep.Sent = append(rep.Sent, id)
			}
		}
		if res.Kind == "lrs-write-cut" {
			continue
		}
		if res.Kind == "lrs-write" && res.Err == nil {
			rep.Acked = append(rep.Acked, res.IDs...)
		}
		k := kinds[res.Kind]
		if k == nil {
			k = &KindStats{Kind: res.Kind, Statuses: map[int]int{}}
			kinds[res.Kind] = k
		}
		k.Count++
		k.Statuses[res.Status]++
		k.latencies = append(k.latencies, res.Latency)
		rep.Requests++
		if res.Err != nil {
			k.Errors++
			rep.Errors++
			if len(rep.FirstErrors) < 5 {
				rep.FirstErrors = append(rep.FirstErrors, res.Kind+" on "+res.Target+": "+res.Err.Error())
			}
		}
	}
	for _, k := range kinds {
		sort.Slice(k.latencies, func(i, j int) bool { return k.latencies[i] < k.latencies[j] })
		rep.Kinds = append(rep.Kinds, k)
	}
	sort.Slice(rep.Kinds, func(i, j int) bool { return rep.Kinds[i].Kind < rep.Kinds[j].Kind })
	return rep
}

// VerifyStored lists every statement in the LRS at base and reports how
// many of ids are missing and how many ids appear more than once.
func VerifyStored(ctx context.Context, hc *http.Client, base string, cred Credential, ids []string) (missing, duplicated int, err error) {
	if hc == nil {
		hc = &http.Client{Timeout: time.Minute}
	}
	all, err := LRSClient{Cred: cred, HTTP: hc}.StatementIDs(ctx, base, url.Values{"limit": {"500"}})
	if err != nil {
		return 0, 0, err
	}
	count := make(map[string]int, len(all))
	for _, id := range all {
		count[id]++
		if count[id] == 2 {
			duplicated++
		}
	}
	for _, id := range ids {
		if count[id] == 0 {
			missing++
		}
	}
	return missing, duplicated, nil
}

// PrintUsage writes each process's resident memory and the CPU it used
// since before (a snapshot taken at the start of the run).
func PrintUsage(w io.Writer, before map[int]Usage, pids []int, elapsed time.Duration) {
	for _, pid := range pids {
		u := ReadUsage(pid)
		if !u.Exists {
			continue
		}
		cpu := u.CPU - before[pid].CPU
		fmt.Fprintf(w, "process %d: RSS %.1f MiB, CPU %.1fs over the run (%.0f%% of one core)\n", pid,
			float64(u.RSS)/(1<<20), cpu.Seconds(), 100*cpu.Seconds()/elapsed.Seconds())
	}
}
