package dbfallback

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/kv"
	"github.com/reach-london/reach/internal/kv/kvtest"
	"github.com/reach-london/reach/internal/kv/rediskv"
	"github.com/reach-london/reach/internal/testenv"
)

func openDB(t *testing.T, url string) *db.DB {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, url, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx, Migrations); err != nil {
		t.Fatal(err)
	}
	return d
}

func redisStore(t *testing.T, url, prefix string) *rediskv.Store {
	t.Helper()
	s, err := rediskv.New(context.Background(), url, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestContract: with Redis up, the wrapper is a kv.Store like any other.
func TestContract(t *testing.T) {
	url, prefix := testenv.Redis(t)
	d := openDB(t, testenv.PostgresURL(t))
	kvtest.Run(t, func(t *testing.T) kv.Store {
		return New(redisStore(t, url, prefix+testenv.RandomSuffix(4)+":"), d, nil)
	})
}

// TestOutage closes the Redis store (later calls fail with
// kv.ErrUnavailable, as when Redis is down) and checks one-time values
// still work through the database, on both dialects.
func TestOutage(t *testing.T) {
	for dialect, dbURL := range testenv.DatabaseURLs(t) {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			url, prefix := testenv.Redis(t)
			d := openDB(t, dbURL)
			live := redisStore(t, url, prefix)
			down := redisStore(t, url, prefix)
			down.Close()
			a, b := New(down, d, nil), New(down, d, nil)

			// Written during the outage, taken once by either replica.
			if err := a.Set(ctx, "fetch:1", []byte("token"), time.Minute); err != nil {
				t.Fatalf("Set during the outage: %v", err)
			}
			if v, err := b.Get(ctx, "fetch:1"); err != nil || string(v) != "token" {
				t.Fatalf("Get during the outage: %q %v", v, err)
			}
			var wg sync.WaitGroup
			got := make([]error, 8)
			for i := range got {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := a
					if i%2 == 1 {
						s = b
					}
					_, got[i] = s.Take(ctx, "fetch:1")
				}()
			}
			wg.Wait()
			wins := 0
			for _, err := range got {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, kv.ErrUnavailable):
					// Not in the database and Redis cannot be asked: the
					// caller must hear "unavailable", not "unknown".
					t.Errorf("losing Take during the outage: %v, want ErrUnavailable", err)
				}
			}
			if wins != 1 {
				t.Errorf("%d Takes got the value, want exactly 1", wins)
			}

			// Written during the outage, taken after Redis is back.
			if err := a.Set(ctx, "fetch:2", []byte("later"), time.Minute); err != nil {
				t.Fatal(err)
			}
			back := New(live, d, nil)
			if v, err := back.Take(ctx, "fetch:2"); err != nil || string(v) != "later" {
				t.Fatalf("Take after the outage: %q %v", v, err)
			}
			if _, err := back.Take(ctx, "fetch:2"); !errors.Is(err, kv.ErrNotFound) {
				t.Errorf("second Take after the outage: %v, want ErrNotFound", err)
			}

			// Expired values are gone.
			if err := a.Set(ctx, "fetch:3", []byte("old"), time.Millisecond); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
			if _, err := back.Get(ctx, "fetch:3"); !errors.Is(err, kv.ErrNotFound) {
				t.Errorf("expired value: %v, want ErrNotFound", err)
			}

			// A lock taken during the outage excludes the other replica
			// until it is deleted or expires.
			if ok, err := a.SetNX(ctx, "lock:1", []byte("a"), 50*time.Millisecond); err != nil || !ok {
				t.Fatalf("first SetNX during the outage: %v %v", ok, err)
			}
			if ok, err := b.SetNX(ctx, "lock:1", []byte("b"), time.Minute); err != nil || ok {
				t.Errorf("second SetNX during the outage: %v %v, want false", ok, err)
			}
			time.Sleep(60 * time.Millisecond)
			if ok, err := b.SetNX(ctx, "lock:1", []byte("b"), time.Minute); err != nil || !ok {
				t.Errorf("SetNX after the lock expired: %v %v, want true", ok, err)
			}
			if err := b.Delete(ctx, "lock:1"); err != nil {
				t.Fatal(err)
			}
			if ok, err := a.SetNX(ctx, "lock:1", []byte("a"), time.Minute); err != nil || !ok {
				t.Errorf("SetNX after Delete: %v %v, want true", ok, err)
			}

			// With Redis up nothing goes to the database.
			if err := back.Set(ctx, "fetch:4", []byte("redis"), time.Minute); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := d.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM kv_fallback WHERE key = $1`, "fetch:4").Scan(&n); err != nil || n != 0 {
				t.Errorf("value written with Redis up is in the database: %d %v", n, err)
			}
		})
	}
}
