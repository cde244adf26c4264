package sqlstore_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/testenv"
	"github.com/reach-london/reach/lrs"
)

// TestSmallWritesPassQueuedBatches: while the SQLite writer commits one
// batch, two more batches and then a single statement queue; the single
// statement must be answered before the last batch, not behind every batch
// that queued first (issue 13: a 200,000-statement batch held every other
// writer for 15.7 s). The assertion is on the order of the answers, not on
// times.
func TestSmallWritesPassQueuedBatches(t *testing.T) {
	e := newEnv(t, testenv.SQLiteURL(t))
	ctx := context.Background()
	batch := func(name string, n int) []*lrs.Statement {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = stmt("", "bulk", "did", act(name), "")
		}
		stmts, err := lrs.ParseStatements([]byte("["+strings.Join(parts, ",")+"]"), lrs.V103)
		if err != nil {
			t.Fatal(err)
		}
		return stmts
	}
	first, second, third := batch("first", 3000), batch("second", 1000), batch("third", 1000)
	single := batch("single", 1)
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	store := func(name string, stmts []*lrs.Statement) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.svc.Store(ctx, e.a, stmts, nil, lrs.V103); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
		}()
	}
	store("first", first)
	// The others queue, in this order, while the first is committed.
	time.Sleep(20 * time.Millisecond)
	store("second", second)
	time.Sleep(20 * time.Millisecond)
	store("third", third)
	time.Sleep(20 * time.Millisecond)
	store("single", single)
	wg.Wait()
	if order[0] != "first" {
		t.Skipf("the first batch was committed before the others queued (order %v); nothing to show", order)
	}
	pos := map[string]int{}
	for i, n := range order {
		pos[n] = i
	}
	if pos["single"] > pos["third"] {
		t.Fatalf("answers came in the order %v: the single statement waited behind every queued batch", order)
	}
}
