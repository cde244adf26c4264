package clustertest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reach-london/reach/internal/config"
	"github.com/reach-london/reach/internal/testenv"
	"github.com/reach-london/reach/lrs"
)

// BenchmarkHostileBodies (issue 13) starts `reach serve` as its own process
// on each database backend and sends it, kind by kind, 8 concurrent bodies
// of the largest size the default configuration accepts: a learner's
// launch-token statements, an LMS key's batch, a multipart statement with
// its attachment, and a State document. The statements are made to cost
// the parser the most memory per byte (extensions of many tiny objects).
// It prints the process's peak RSS for each kind (VmHWM, reset before each
// kind through /proc/PID/clear_refs) and then, while 4 clients send
// maximum-count batches in a loop, the worst wait of 4 other clients
// sending single statements. Run it with `make bench-hostile`.
func BenchmarkHostileBodies(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			var be Backends
			if backend == "postgres" {
				redisURL, prefix := testenv.Redis(b)
				be = Backends{DatabaseURL: testenv.PostgresURL(b), RedisURL: redisURL, RedisPrefix: prefix}
			}
			c := startCluster(b, be, 1)
			h := newHostile(b, c)
			for i := 0; i < b.N; i++ {
				h.run(b, backend)
			}
		})
	}
}

type hostile struct {
	c     *Cluster
	base  string
	pid   int
	au    *AU
	cred  Credential
	cfg   config.Config
	hc    *http.Client
	agent json.RawMessage
}

func newHostile(b *testing.B, c *Cluster) *hostile {
	ctx := context.Background()
	r := c.Replicas[0]
	h := &hostile{c: c, base: r.URL, pid: r.PID(), cfg: config.Default(), hc: &http.Client{Timeout: 2 * time.Minute}}
	// The command runs against the replica's own data directory, where the
	// embedded database is.
	cmd := exec.CommandContext(ctx, c.Bin, "credentials", "create", "--borough", "london", "--scope", "all", "--name", "hostile", "--json")
	cmd.Env = append(append(os.Environ(), c.Backends.env()...), "REACH_DATA_DIR="+filepath.Join(c.Dir, "data-"+r.Name), "REACH_LOG_LEVEL=warn")
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("credentials create: %v", err)
	}
	if err := json.Unmarshal(out, &h.cred); err != nil || h.cred.Key == "" {
		b.Fatalf("credentials create printed %q: %v", out, err)
	}
	br := NewBrowser(r.URL, "10.13.0.1")
	email := "hostile-" + uuid.NewString()[:8] + "@example.org"
	if err := br.SignUp(ctx, "london", "Hostile Learner", email, "correct horse battery staple"); err != nil {
		b.Fatal(err)
	}
	mods, err := br.Modules(ctx, "london")
	if err != nil {
		b.Fatal(err)
	}
	l, err := br.LaunchModule(ctx, "london", mods[0])
	if err != nil {
		b.Fatal(err)
	}
	_, tok, code, err := FetchToken(ctx, h.hc, Rebase(l.Fetch, r.URL))
	if err != nil || tok == "" {
		b.Fatalf("fetch token: %v (cmi5 error-code %q)", err, code)
	}
	h.au = &AU{Base: r.URL, Token: tok, Launch: l, HTTP: h.hc}
	h.agent = l.Actor
	return h
}

// hostileStatement returns a statement by actor of about size bytes, most
// of them an extension holding an array of tiny objects, which decode into
// the most memory per byte.
func hostileStatement(actor json.RawMessage, size int) []byte {
	head := fmt.Sprintf(`{"id":%q,"actor":%s,"verb":{"id":"http://adlnet.gov/expapi/verbs/experienced"},"object":{"id":"https://reach.test/hostile"},"context":{"extensions":{"https://reach.test/x":[`,
		uuid.NewString(), actor)
	const tail = `]}}}`
	var sb strings.Builder
	sb.Grow(size)
	sb.WriteString(head)
	for n := 0; sb.Len()+len(tail)+8 <= size; n++ {
		if n > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"a":1}`)
	}
	sb.WriteString(tail)
	return []byte(sb.String())
}

// bulkStatement returns an ordinary statement of about size bytes: an
// answered question with its interaction definition, and a long response.
func bulkStatement(size int) []byte {
	head := fmt.Sprintf(`{"id":%q,"actor":{"name":"Bulk Learner","mbox":"mailto:bulk@example.org"},"verb":{"id":"http://adlnet.gov/expapi/verbs/answered","display":{"en-GB":"answered"}},"object":{"id":"https://reach.test/q/1","definition":{"name":{"en-GB":"Question"},"type":"http://adlnet.gov/expapi/activities/cmi.interaction","interactionType":"choice","correctResponsesPattern":["a"],"choices":[{"id":"a","description":{"en-GB":"A"}},{"id":"b","description":{"en-GB":"B"}}]}},"context":{"registration":%q,"contextActivities":{"parent":[{"id":"https://reach.test/course"}]}},"result":{"success":true,"score":{"scaled":0.5},"response":"`,
		uuid.NewString(), uuid.NewString())
	const tail = `"}}`
	return []byte(head + strings.Repeat("r", max(0, size-len(head)-len(tail))) + tail)
}

// batch joins statements of per bytes each into a JSON array of at most
// total bytes and count statements.
func batch(actor json.RawMessage, per, total, count int) []byte {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i := 0; i < count; i++ {
		s := hostileStatement(actor, per)
		if buf.Len()+len(s)+2 > total {
			break
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(s)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

type request struct {
	method, path, ctype, authz string
	body                       []byte
}

func (h *hostile) send(ctx context.Context, rq request) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, rq.method, h.base+"/xapi/"+rq.path, bytes.NewReader(rq.body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", rq.authz)
	req.Header.Set("X-Experience-API-Version", "1.0.3")
	req.Header.Set("Content-Type", rq.ctype)
	res, err := h.hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	return res.StatusCode, string(out), nil
}

func (h *hostile) lms() string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(h.cred.Key+":"+h.cred.Secret))
}

// procStatus reads one kB field of /proc/PID/status in bytes.
func procStatus(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// peakDuring runs fn and returns the process's peak RSS meanwhile: VmHWM
// after resetting it, or the highest VmRSS sampled where the reset is not
// allowed.
func (h *hostile) peakDuring(fn func()) int64 {
	reset := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", h.pid), []byte("5"), 0) == nil
	var sampled int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			if v := procStatus(h.pid, "VmRSS"); v > sampled {
				sampled = v
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(stop)
	<-done
	if hwm := procStatus(h.pid, "VmHWM"); reset && hwm > sampled {
		return hwm
	}
	return sampled
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func (h *hostile) run(b *testing.B, backend string) {
	ctx := context.Background()
	cfg := h.cfg
	const clients = 8
	learnerBody := batch(h.agent, 64<<10, int(cfg.XAPIMaxLearnerBodyBytes), 1000)
	lmsBody := batch(json.RawMessage(`{"mbox":"mailto:lms@example.org"}`), int(cfg.XAPIMaxStatementBytes), int(cfg.XAPIMaxBatchBytes), int(cfg.XAPIMaxBatchStatements))
	n := int(cfg.XAPIMaxBatchStatements)
	// A fresh batch each time, so each is stored, not recognised.
	plainBody := func() []byte {
		return joinJSON(n, func() []byte { return bulkStatement(int(cfg.XAPIMaxBatchBytes)/n - 2) })
	}
	// The attachment fills what is left of the request after its statement.
	att := bytes.Repeat([]byte("reach attachment "), int(cfg.MaxBodyBytes-(64<<10))/17)
	sum := sha256.Sum256(att)
	stmt := fmt.Sprintf(`{"actor":{"mbox":"mailto:lms@example.org"},"verb":{"id":"http://adlnet.gov/expapi/verbs/attached"},"object":{"id":"https://reach.test/attachment"},"attachments":[{"usageType":"https://reach.test/usage","display":{"en":"a"},"contentType":"application/octet-stream","length":%d,"sha2":%q}]}`,
		len(att), hex.EncodeToString(sum[:]))
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	pw, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/json"}})
	pw.Write([]byte(stmt))
	pw, _ = mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/octet-stream"}, "Content-Transfer-Encoding": {"binary"},
		"X-Experience-API-Hash": {hex.EncodeToString(sum[:])}})
	pw.Write(att)
	mw.Close()
	doc := bytes.Repeat([]byte("d"), docLimit(h))

	kinds := []struct {
		name string
		rq   func(i int) request
	}{
		{"learner statements (launch token)", func(int) request {
			return request{http.MethodPost, "statements", "application/json", "Basic " + h.au.Token, learnerBody}
		}},
		{"LMS batch", func(int) request {
			return request{http.MethodPost, "statements", "application/json", h.lms(), plainBody()}
		}},
		{"LMS batch of tiny objects", func(int) request {
			return request{http.MethodPost, "statements", "application/json", h.lms(), freshIDs(lmsBody)}
		}},
		{"attachment multipart", func(int) request {
			return request{http.MethodPost, "statements", "multipart/mixed; boundary=" + mw.Boundary(), h.lms(), mp.Bytes()}
		}},
		{"document PUT", func(i int) request {
			q := url.Values{"activityId": {"https://reach.test/doc"}, "agent": {`{"mbox":"mailto:lms@example.org"}`}, "stateId": {"s" + strconv.Itoa(i)}}
			return request{http.MethodPut, "activities/state?" + q.Encode(), "application/octet-stream", h.lms(), doc}
		}},
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("hostile bodies, %s, %d concurrent clients, baseline RSS %.0f MiB, load average %s\n", backend, clients, mib(procStatus(h.pid, "VmRSS")), strings.Join(strings.Fields(string(load))[:3], " "))
	var worst int64
	for _, k := range kinds {
		statuses := map[int]int{}
		var mu sync.Mutex
		var size int
		peak := h.peakDuring(func() {
			var wg sync.WaitGroup
			for i := 0; i < clients; i++ {
				rq := k.rq(i)
				size = len(rq.body)
				wg.Add(1)
				go func() {
					defer wg.Done()
					st, msg, err := h.send(ctx, rq)
					if err != nil {
						b.Errorf("%s: %v", k.name, err)
						return
					}
					if st >= 500 {
						b.Errorf("%s: HTTP %d %s", k.name, st, msg)
					}
					mu.Lock()
					statuses[st]++
					mu.Unlock()
				}()
			}
			wg.Wait()
		})
		worst = max(worst, peak)
		fmt.Printf("  %-36s body %6.2f MiB  answers %v  peak RSS %6.1f MiB\n", k.name, mib(int64(size)), statuses, mib(peak))
	}
	fmt.Printf("  peak RSS over every kind: %.1f MiB (must stay under 300 MiB)\n", mib(worst))
	b.ReportMetric(mib(worst), "peak-RSS-MiB")
	if mib(worst) >= 300 {
		b.Errorf("peak RSS %.1f MiB is not under 300 MiB", mib(worst))
	}
	wait := h.writerStall(b)
	b.ReportMetric(wait.Seconds()*1000, "worst-single-write-ms")
}

// docLimit is the largest State document the server takes.
func docLimit(*hostile) int { return lrs.MaxDocumentSize }

// joinJSON makes a JSON array of n values from next.
func joinJSON(n int, next func() []byte) []byte {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(next())
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// freshIDs gives each statement of a batch made by batch a new id: the
// first property of each element of the array (batch's statements have no
// other array of objects with ids).
func freshIDs(body []byte) []byte {
	out := bytes.Clone(body)
	for i := 0; i < len(out); i++ {
		if (out[i] == '[' || out[i] == ',') && bytes.HasPrefix(out[i+1:], []byte(`{"id":"`)) {
			copy(out[i+8:i+8+36], uuid.NewString())
		}
	}
	return out
}

// writerStall sends maximum-count batches from 2 clients in a loop for 5
// seconds while 4 other clients send single statements, and prints the
// worst wait of the single statements.
func (h *hostile) writerStall(b *testing.B) time.Duration {
	ctx := context.Background()
	cfg := h.cfg
	n := int(cfg.XAPIMaxBatchStatements)
	per := min(int(cfg.XAPIMaxBatchBytes)/n-2, 2048)
	big := func() []byte { return joinJSON(n, func() []byte { return bulkStatement(per) }) }
	size := len(big())
	end := time.Now().Add(5 * time.Second)
	var mu sync.Mutex
	var waits []time.Duration
	var batches, batchStmts int
	var batchWorst time.Duration
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if i >= 2 {
				return
			}
			for time.Now().Before(end) {
				start := time.Now()
				st, msg, err := h.send(ctx, request{http.MethodPost, "statements", "application/json", h.lms(), big()})
				if err != nil || st != http.StatusOK {
					b.Errorf("batch: %d %s %v", st, msg, err)
					return
				}
				mu.Lock()
				batches++
				batchStmts += n
				batchWorst = max(batchWorst, time.Since(start))
				mu.Unlock()
			}
		}()
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				s := fmt.Sprintf(`{"actor":{"mbox":"mailto:single@example.org"},"verb":{"id":"http://adlnet.gov/expapi/verbs/experienced"},"object":{"id":"https://reach.test/single/%s"}}`, uuid.NewString())
				start := time.Now()
				st, msg, err := h.send(ctx, request{http.MethodPost, "statements", "application/json", h.lms(), []byte(s)})
				d := time.Since(start)
				if err != nil || st != http.StatusOK {
					b.Errorf("single: %d %s %v", st, msg, err)
					return
				}
				mu.Lock()
				waits = append(waits, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(waits, func(i, j int) bool { return waits[i] < waits[j] })
	if len(waits) == 0 {
		b.Error("no single statement was stored")
		return 0
	}
	worst := waits[len(waits)-1]
	fmt.Printf("  writers: 2 clients sent %d batches of %d statements (%.2f MiB each; slowest %v) while 4 others sent %d single statements: median wait %v, p99 %v, worst %v (must be at most 1s)\n",
		batches, n, mib(int64(size)), batchWorst.Round(time.Millisecond), len(waits),
		waits[len(waits)/2].Round(time.Millisecond), waits[len(waits)*99/100].Round(time.Millisecond), worst.Round(time.Millisecond))
	if worst > time.Second {
		b.Errorf("a single statement waited %v behind the batches", worst)
	}
	return worst
}
