package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/kv"
	"github.com/reach-london/reach/internal/kv/memkv"
	"github.com/reach-london/reach/internal/kv/rediskv"
	"github.com/reach-london/reach/internal/testenv"
)

// TestBackoff: free failures cost nothing, then the wait doubles up to
// the cap; each key (account and address) counts alone; a success
// forgets; the same in Redis, in process, and with no store.
func TestBackoff(t *testing.T) {
	ctx := context.Background()
	url, prefix := testenv.Redis(t)
	redis, err := rediskv.New(ctx, url, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { redis.Close() })
	for name, store := range map[string]kv.Store{"redis": redis, "memory": memkv.New(), "none": nil} {
		t.Run(name, func(t *testing.T) {
			b := NewBackoff(store, BackoffOptions{Free: 3, Base: time.Second, Max: 10 * time.Second, Memory: time.Hour})
			now := t0
			b.now = func() time.Time { return now }
			key, other := "login:"+testenv.RandomSuffix(4)+"|198.51.100.1", "login:x|198.51.100.2"
			var got []time.Duration
			for range 8 {
				d, err := b.Fail(ctx, key)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, d)
			}
			want := []time.Duration{0, 0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("waits after each failure: %v, want %v", got, want)
				}
			}
			if w, _ := b.Wait(ctx, key); w != 10*time.Second {
				t.Errorf("wait now: %v, want 10s", w)
			}
			if w, _ := b.Wait(ctx, other); w != 0 {
				t.Errorf("another address of the same account waits %v, want 0", w)
			}
			now = now.Add(10 * time.Second)
			if w, _ := b.Wait(ctx, key); w != 0 {
				t.Errorf("wait after the wait: %v, want 0", w)
			}
			if err := b.Reset(ctx, key); err != nil {
				t.Fatal(err)
			}
			if d, _ := b.Fail(ctx, key); d != 0 {
				t.Errorf("first failure after a success waits %v, want 0", d)
			}
		})
	}
}
