package rediskv

import (
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/kv"
	"github.com/reach-london/reach/internal/kv/kvtest"
	"github.com/reach-london/reach/internal/testenv"
)

// newTestStore connects to the test Redis under prefix, and removes the
// prefix's keys when the test ends so runs leave the shared Redis clean.
func newTestStore(t *testing.T, url, prefix string) *Store {
	t.Helper()
	s, err := New(context.Background(), url, prefix)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		opts, _ := redis.ParseURL(url)
		c := redis.NewClient(opts)
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return s
}

func TestContract(t *testing.T) {
	kvtest.Run(t, func(t *testing.T) kv.Store {
		url, prefix := testenv.Redis(t)
		return newTestStore(t, url, prefix)
	})
}

// TestReplicas runs the cross-store checks with two stores on one Redis, as
// two replicas of the server would be.
func TestReplicas(t *testing.T) {
	url, prefix := testenv.Redis(t)
	a, b := newTestStore(t, url, prefix), newTestStore(t, url, prefix)
	defer a.Close()
	defer b.Close()
	t.Run("PubSub", func(t *testing.T) { kvtest.PubSub(t, a, b) })
	t.Run("TakeExactlyOnce", func(t *testing.T) { kvtest.TakeExactlyOnce(t, a, b) })
	t.Run("SharedCounter", func(t *testing.T) {
		ctx := context.Background()
		for i, s := range []*Store{a, b, a} {
			got, err := s.Incr(ctx, "shared", time.Minute)
			if err != nil || got != int64(i+1) {
				t.Errorf("Incr %d: got %d, %v; want %d", i, got, err, i+1)
			}
		}
	})
}

// TestPrefixIsolation checks that stores with different prefixes share
// neither keys nor channels.
func TestPrefixIsolation(t *testing.T) {
	url, prefix := testenv.Redis(t)
	a, b := newTestStore(t, url, prefix+"a:"), newTestStore(t, url, prefix+"b:")
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	if err := a.Set(ctx, "k", []byte("from a"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "k"); !errors.Is(err, kv.ErrNotFound) {
		t.Errorf("b.Get of a's key: got %v, want ErrNotFound", err)
	}
	ch, err := b.Subscribe(ctx, "chan")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(ctx, "chan", []byte("from a")); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "chan", []byte("from b")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-ch:
		if string(m) != "from b" {
			t.Errorf("b's subscriber: got %q, want only b's message", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
	}
	// The key really is stored under the prefix.
	opts, _ := redis.ParseURL(url)
	c := redis.NewClient(opts)
	defer c.Close()
	if got, err := c.Get(ctx, prefix+"a:k").Result(); err != nil || got != "from a" {
		t.Errorf("raw GET %sa:k: got %q, %v", prefix, got, err)
	}
}

func TestNewErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().String()
	l.Close()
	tests := []struct {
		name     string
		url      string
		wantKind errs.Kind
		wantMsg  string
	}{
		{"not a URL", "127.0.0.1:6379", errs.Invalid, "Redis URL"},
		{"wrong scheme", "http://127.0.0.1:6379", errs.Invalid, "Redis URL"},
		{"bad database", "redis://127.0.0.1:6379/notanumber", errs.Invalid, "Redis URL"},
		{"password is not shown", "redis://:s3cret@127.0.0.1:6379/x", errs.Invalid, "Redis URL"},
		{"nothing listening", "redis://" + closedPort + "/0", errs.Unavailable, "cache unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), tt.url, "p:")
			if !errs.Is(err, tt.wantKind) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("got %v, want kind %v containing %q", err, tt.wantKind, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the password: %v", err)
			}
			if tt.wantKind == errs.Unavailable && !errors.Is(err, kv.ErrUnavailable) {
				t.Errorf("got %v, want it to wrap kv.ErrUnavailable", err)
			}
		})
	}
}

// TestCloseEndsSubscriptionGoroutines checks that subscriptions whose
// context never ends do not leave goroutines behind after Close.
func TestCloseEndsSubscriptionGoroutines(t *testing.T) {
	url, prefix := testenv.Redis(t)
	s := newTestStore(t, url, prefix)
	before := runtime.NumGoroutine()
	for range 10 {
		if _, err := s.Subscribe(context.Background(), "forever"); err != nil {
			t.Fatal(err)
		}
	}
	if during := runtime.NumGoroutine(); during < before+10 {
		t.Fatalf("goroutines: %d before, %d with 10 subscriptions; the check below would prove nothing", before, during)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("goroutines: %d before subscribing, %d after Close", before, after)
	}
}
