package clustertest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRedisHung freezes the private Redis (SIGSTOP) for 15 seconds under
// load: connections open but nothing answers, as when Redis hangs or the
// network drops packets. Requests may get slower but must not hang or fail.
func TestRedisHung(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := privateBackends(t, true, false, false)
	c := startCluster(t, p.Backends, 2)
	reader, err := c.Credential(ctx, borough, "all/read")
	if err != nil {
		t.Fatal(err)
	}
	writer, err := c.Credential(ctx, borough, "statements/write")
	if err != nil {
		t.Fatal(err)
	}
	const before, outage, after = 3 * time.Second, 15 * time.Second, 5 * time.Second
	var down, up time.Time
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(before)
		down = time.Now()
		if err := p.Redis.Freeze(); err != nil {
			t.Error(err)
		}
		time.Sleep(outage)
		if err := p.Redis.Thaw(); err != nil {
			t.Error(err)
		}
		up = time.Now()
	}()
	obs := &kindCounts{}
	rep, err := RunLoad(ctx, LoadOptions{Targets: targetsOf(c), Borough: borough, Learners: 3, Readers: 1, Writers: 1,
		WriterPause: 50 * time.Millisecond, Think: 150 * time.Millisecond, Duration: before + outage + after, ReaderCred: reader, WriterCred: writer,
		Observe: obs.observe})
	if err != nil {
		t.Fatal(err)
	}
	<-done
	var out strings.Builder
	rep.Print(&out)
	t.Log("\n" + out.String())
	during := obs.between(down, up)
	t.Logf("while Redis was frozen: %v", statusTable(during))
	slowest := time.Duration(0)
	for _, r := range during {
		slowest = max(slowest, r.Latency)
		if r.Status >= 500 || r.Status == 0 {
			t.Errorf("%s answered %d while Redis was frozen: %v", r.Kind, r.Status, r.Err)
		}
	}
	t.Logf("slowest request while Redis was frozen: %v", slowest)
	tbl := statusTable(during)
	for _, kind := range []string{"launch", "fetch", "statement", "lrs-write"} {
		if tbl[kind][http.StatusOK] == 0 {
			t.Errorf("no %s request succeeded while Redis was frozen", kind)
		}
	}
	if slowest > 5*time.Second {
		t.Errorf("a request took %v while Redis was frozen; a hung cache must not hold requests that long", slowest)
	}
}
