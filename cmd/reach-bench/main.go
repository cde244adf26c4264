// Command reach-bench measures the LRS: HTTP ingest of statement batches by
// concurrent clients, the same statements loaded with the store's bulk
// path (COPY on PostgreSQL) for comparison, and query latency with many
// statements stored. It runs the real xAPI handler and store against real
// databases and prints one block of figures per backend.
//
//	go run ./cmd/reach-bench                      # SQLite and PostgreSQL
//	go run ./cmd/reach-bench -backends postgres -query-n 1000000
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/blob/fsblob"
	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs"
	"github.com/reach-london/reach/lrs/sqlstore"
	"github.com/reach-london/reach/server/xapi"
)

// keepDB leaves the run's database in place for a later -use-db run.
var keepDB bool

type options struct {
	backends    string
	postgresURL string
	n           int
	batch       int
	clients     int
	queryN      int
	queries     int
	useDB       string
}

func main() {
	var o options
	flag.StringVar(&o.backends, "backends", "sqlite,postgres", "comma-separated backends to measure")
	flag.StringVar(&o.postgresURL, "postgres", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL server URL; a scratch database is created and dropped")
	flag.IntVar(&o.n, "n", 50000, "statements to ingest over HTTP")
	flag.IntVar(&o.batch, "batch", 100, "statements per POST")
	flag.IntVar(&o.clients, "clients", 8, "concurrent HTTP clients")
	flag.IntVar(&o.queryN, "query-n", 1000000, "statements stored before measuring queries (0 skips the query run)")
	flag.IntVar(&o.queries, "queries", 200, "queries per filter kind")
	flag.StringVar(&o.useDB, "use-db", "", "measure queries only, on this existing database (a PostgreSQL database name on -postgres, or a SQLite file) left by an earlier run with -keep")
	keep := flag.Bool("keep", false, "keep the database of the run and print where it is")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	keepDB = *keep
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	for _, b := range strings.Split(o.backends, ",") {
		if err := run(strings.TrimSpace(b), o); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", b, err)
			pprof.StopCPUProfile()
			os.Exit(1)
		}
	}
}

// benchAuth admits one fixed key; credential checking is the auth
// package's cost, measured elsewhere.
type benchAuth struct{ p auth.Principal }

func (a benchAuth) AuthenticateXAPI(r *http.Request) (auth.Principal, error) {
	if k, s, ok := r.BasicAuth(); !ok || k != "bench" || s != "bench" {
		return auth.Principal{}, errs.E(errs.Unauthorized, "bad credentials")
	}
	return a.p, nil
}

func errorHandler(err error, c echo.Context) {
	status := 500
	switch errs.KindOf(err) {
	case errs.Invalid:
		status = 400
	case errs.Unauthorized:
		status = 401
	case errs.Conflict:
		status = 409
	}
	if status == 500 {
		fmt.Fprintf(os.Stderr, "internal error: %v\n", err)
	}
	_ = c.JSON(status, map[string]string{"error": errs.MessageOf(err)})
}

func run(backend string, o options) error {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "reach-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var dbURL string
	switch {
	case backend == "sqlite" && o.useDB != "":
		dbURL = "sqlite:" + o.useDB
	case backend == "sqlite":
		dir := tmp
		if keepDB {
			if dir, err = os.MkdirTemp("", "reach-bench-keep-"); err != nil {
				return err
			}
		}
		dbURL = "sqlite:" + filepath.Join(dir, "reach.db")
		if keepDB {
			fmt.Printf("keeping the SQLite database: -use-db %s\n", filepath.Join(dir, "reach.db"))
		}
	case backend == "postgres" && o.useDB != "":
		u, err := url.Parse(o.postgresURL)
		if err != nil {
			return err
		}
		u.Path = "/" + o.useDB
		dbURL = u.String()
	case backend == "postgres":
		name := "reach_bench_" + strconv.FormatInt(time.Now().UnixNano(), 36)
		dbURL, err = createDatabase(ctx, o.postgresURL, name)
		if err != nil {
			return err
		}
		if keepDB {
			fmt.Printf("keeping the PostgreSQL database: -use-db %s\n", name)
		} else {
			defer dropDatabase(o.postgresURL, name)
		}
	default:
		return fmt.Errorf("unknown backend %q", backend)
	}
	d, err := db.Open(ctx, dbURL, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err := d.Migrate(ctx, sqlstore.Migrations); err != nil {
		return err
	}
	blobs, err := fsblob.New(filepath.Join(tmp, "blobs"))
	if err != nil {
		return err
	}
	store := sqlstore.New(d)
	svc := lrs.NewService(store, blobs)
	p := auth.Principal{BoroughID: "bench", Scopes: []auth.Scope{auth.ScopeAll},
		Authority: []byte(`{"objectType":"Agent","account":{"homePage":"https://reach.example","name":"bench"}}`)}
	h := xapi.New(xapi.Deps{Statements: svc, Auth: benchAuth{p}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	e := echo.New()
	e.HTTPErrorHandler = errorHandler
	h.Register(e.Group("/xapi"))
	srv := httptest.NewServer(e)
	defer srv.Close()

	gen := newGenerator(1)
	fmt.Printf("== %s (GOMAXPROCS=%d, load average %s)\n", backend, runtime.GOMAXPROCS(0), loadAverage())

	if o.useDB != "" {
		return measureQueries(ctx, d, store, svc, p, gen, client(o), srv.URL, o, 0)
	}

	// Ingest over HTTP.
	batches := make([][]byte, 0, o.n/o.batch)
	for i := 0; i < o.n/o.batch; i++ {
		batches = append(batches, gen.batch(o.batch))
	}
	client := client(o)
	// Hand back what earlier work left, so the RSS figure is this run's.
	debug.FreeOSMemory()
	rss := startRSSSampler()
	cpu0 := cpuTime()
	start := time.Now()
	if err := ingest(client, srv.URL, batches, o.clients); err != nil {
		return err
	}
	httpDur := time.Since(start)
	cpuUsed := cpuTime() - cpu0
	peak := rss.stop()
	httpRate := float64(len(batches)*o.batch) / httpDur.Seconds()
	fmt.Printf("ingest over HTTP: %d statements in batches of %d, %d clients: %.0f statements/s (%.2fs, load average now %s)\n",
		len(batches)*o.batch, o.batch, o.clients, httpRate, httpDur.Seconds(), loadAverage())
	fmt.Printf("CPU time of this process (server and clients%s) during ingest: %.2fs of %.2fs wall on %d cores (%.0f%% of the machine)\n",
		map[bool]string{true: ", not PostgreSQL's", false: ""}[backend == "postgres"], cpuUsed.Seconds(), httpDur.Seconds(), runtime.NumCPU(),
		100*cpuUsed.Seconds()/(httpDur.Seconds()*float64(runtime.NumCPU())))
	fmt.Printf("peak RSS of this process during ingest (server, the 8 clients and the %d MB of pre-built request bodies): %.0f MB\n",
		batchBytes(batches)>>20, float64(peak)/(1<<20))

	// The same statements through the bulk path into the same schema.
	var recs [][]*lrs.Record
	copyP := p
	copyP.BoroughID = "bench-copy"
	for _, b := range batches {
		stmts, err := lrs.ParseStatements(b, lrs.V103)
		if err != nil {
			return err
		}
		r, err := svc.Records(copyP, stmts, lrs.V103)
		if err != nil {
			return err
		}
		recs = append(recs, r)
	}
	const copyChunk = 50
	start = time.Now()
	for i := 0; i < len(recs); i += copyChunk {
		var chunk []*lrs.Record
		for _, r := range recs[i:min(i+copyChunk, len(recs))] {
			chunk = append(chunk, r...)
		}
		if err := store.CopyStatements(ctx, "bench-copy", chunk); err != nil {
			return err
		}
	}
	copyDur := time.Since(start)
	copyRate := float64(len(batches)*o.batch) / copyDur.Seconds()
	method := "COPY"
	if backend == "sqlite" {
		method = "multi-row INSERT"
	}
	fmt.Printf("bulk load (%s, %d statements per transaction): %.0f statements/s; HTTP/bulk ratio %.2f\n",
		method, copyChunk*o.batch, copyRate, httpRate/copyRate)

	if o.queryN <= 0 {
		return nil
	}
	return measureQueries(ctx, d, store, svc, p, gen, client, srv.URL, o, len(batches)*o.batch)
}

func client(o options) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.clients * 2}}
}

// measureQueries tops the store up to o.queryN statements in the HTTP
// borough (have are there already, or counted when 0) and times queries.
func measureQueries(ctx context.Context, d *db.DB, store *sqlstore.Store, svc *lrs.Service, p auth.Principal, gen *generator,
	client *http.Client, base string, o options, have int) error {
	if have == 0 {
		if err := d.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM lrs_statements WHERE borough_id = $1`, p.BoroughID).Scan(&have); err != nil {
			return err
		}
	}
	start := time.Now()
	loaded := false
	for have < o.queryN {
		loaded = true
		n := min(5000, o.queryN-have)
		stmts, err := lrs.ParseStatements(gen.batch(n), lrs.V103)
		if err != nil {
			return err
		}
		r, err := svc.Records(p, stmts, lrs.V103)
		if err != nil {
			return err
		}
		if err := store.CopyStatements(ctx, p.BoroughID, r); err != nil {
			return err
		}
		have += n
	}
	if loaded {
		// Settle as autovacuum would after a bulk load: statistics for
		// the planner, and a visibility map for index-only scans.
		settle := "ANALYZE"
		if d.Dialect == db.Postgres {
			settle = "VACUUM ANALYZE"
		}
		if _, err := d.SQL.ExecContext(ctx, settle); err != nil {
			return err
		}
		fmt.Printf("loaded up to %d statements for queries in %.0fs\n", have, time.Since(start).Seconds())
	}
	fmt.Printf("%d statements stored in the queried borough\n", have)
	for _, kind := range []string{"agent", "verb+activity", "registration", "related agent"} {
		lat, n, err := queryLatencies(client, base, gen, kind, o.queries)
		if err != nil {
			return err
		}
		fmt.Printf("GET /xapi/statements by %-13s limit=100: p50 %6.2f ms, p95 %6.2f ms, max %6.2f ms (%d queries, %.0f statements per answer)\n",
			kind, ms(pct(lat, 50)), ms(pct(lat, 95)), ms(pct(lat, 100)), len(lat), n)
	}
	return nil
}

func batchBytes(batches [][]byte) int {
	n := 0
	for _, b := range batches {
		n += len(b)
	}
	return n
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func pct(lat []time.Duration, p int) time.Duration {
	s := slices.Clone(lat)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(i-1, len(s)-1))]
}

var authHeader = "Basic " + base64.StdEncoding.EncodeToString([]byte("bench:bench"))

func ingest(client *http.Client, base string, batches [][]byte, clients int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, clients)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(batches) {
					return
				}
				req, _ := http.NewRequest("POST", base+"/xapi/statements", bytes.NewReader(batches[i]))
				req.Header.Set("Authorization", authHeader)
				req.Header.Set("X-Experience-API-Version", "1.0.3")
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					errc <- err
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errc <- fmt.Errorf("POST statements: %d %s", resp.StatusCode, body)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc
}

func queryLatencies(client *http.Client, base string, g *generator, kind string, n int) ([]time.Duration, float64, error) {
	var lat []time.Duration
	total := 0
	for i := 0; i < n; i++ {
		q := url.Values{"limit": {"100"}}
		switch kind {
		case "agent":
			q.Set("agent", g.agentJSON(g.r.IntN(g.learners)))
		case "verb+activity":
			q.Set("verb", g.verb(g.r.IntN(len(verbs))))
			q.Set("activity", g.activity(g.r.IntN(g.activities)))
		case "related agent":
			q.Set("agent", g.agentJSON(g.r.IntN(g.learners)))
			q.Set("related_agents", "true")
		case "registration":
			q.Set("registration", g.registration(g.r.IntN(g.learners), g.r.IntN(g.courses)))
		}
		req, _ := http.NewRequest("GET", base+"/xapi/statements?"+q.Encode(), nil)
		req.Header.Set("Authorization", authHeader)
		req.Header.Set("X-Experience-API-Version", "1.0.3")
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return nil, 0, err
		}
		var res struct{ Statements []json.RawMessage }
		err = json.NewDecoder(resp.Body).Decode(&res)
		resp.Body.Close()
		lat = append(lat, time.Since(start))
		if err != nil || resp.StatusCode != 200 {
			return nil, 0, fmt.Errorf("query %s: status %d: %v", q.Encode(), resp.StatusCode, err)
		}
		total += len(res.Statements)
	}
	return lat, float64(total) / float64(n), nil
}

var verbs = []string{"experienced", "attempted", "answered", "completed", "passed", "failed", "launched", "terminated"}

// generator makes statements shaped like a course's: learners, courses,
// activities within them, a registration per learner and course.
type generator struct {
	r          *rand.Rand
	learners   int
	courses    int
	activities int
}

func newGenerator(seed uint64) *generator {
	return &generator{r: rand.New(rand.NewPCG(seed, seed)), learners: 20000, courses: 20, activities: 2000}
}

func (g *generator) agentJSON(i int) string {
	return `{"objectType":"Agent","account":{"homePage":"https://reach.example","name":"learner-` + strconv.Itoa(i) + `"}}`
}

func (g *generator) verb(i int) string { return "http://adlnet.gov/expapi/verbs/" + verbs[i] }

func (g *generator) activity(i int) string {
	return "https://reach.example/course/" + strconv.Itoa(i%g.courses) + "/activity/" + strconv.Itoa(i)
}

func (g *generator) registration(learner, course int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", learner, course)
}

func (g *generator) batch(n int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		learner := g.r.IntN(g.learners)
		act := g.r.IntN(g.activities)
		course := act % g.courses
		v := g.r.IntN(len(verbs))
		fmt.Fprintf(&b, `{"actor":%s,"verb":{"id":"%s","display":{"en-GB":"%s"}},`+
			`"object":{"id":"%s","definition":{"name":{"en-GB":"Activity %d"},"type":"http://adlnet.gov/expapi/activities/lesson"}},`+
			`"result":{"completion":true,"success":true,"score":{"scaled":0.%02d},"duration":"PT%dM"},`+
			`"context":{"registration":"%s","contextActivities":{"parent":[{"id":"https://reach.example/course/%d"}],"grouping":[{"id":"https://reach.example"}]},"platform":"Reach"},`+
			`"timestamp":"%s"}`,
			g.agentJSON(learner), g.verb(v), verbs[v], g.activity(act), act, g.r.IntN(100), 1+g.r.IntN(59),
			g.registration(learner, course), course, time.Now().UTC().Format(time.RFC3339Nano))
	}
	b.WriteByte(']')
	return b.Bytes()
}

// rssSampler records the process's peak resident set size.
type rssSampler struct {
	done chan struct{}
	peak atomic.Int64
	wg   sync.WaitGroup
}

func startRSSSampler() *rssSampler {
	s := &rssSampler{done: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if v := readRSS(); v > s.peak.Load() {
				s.peak.Store(v)
			}
			select {
			case <-s.done:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) stop() int64 {
	close(s.done)
	s.wg.Wait()
	return s.peak.Load()
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage is the 1-minute load average: figures taken on a busy
// machine say so.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}

func readRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func createDatabase(ctx context.Context, base, name string) (string, error) {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

func dropDatabase(base, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
}
