package rediskv

import (
	"context"
	"errors"
	"net"
	neturl "net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/kv"
	"github.com/reach-london/reach/internal/testenv"
)

// freezer is a TCP proxy to Redis that, when frozen, keeps connections
// open but passes nothing on: Redis seems to hang.
type freezer struct {
	ln     net.Listener
	frozen atomic.Bool
}

func newFreezer(t *testing.T, target string) *freezer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln}
	t.Cleanup(func() { ln.Close() })
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if err != nil {
				dst.Close()
				return
			}
			if f.frozen.Load() {
				continue // swallowed: no answer ever comes
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				src.Close()
				return
			}
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go pipe(up, c)
			go pipe(c, up)
		}
	}()
	return f
}

// storeBehindFreezer is a Store that reaches the test Redis through a
// freezer, holding "k" = "v".
func storeBehindFreezer(t *testing.T) (*freezer, *Store) {
	t.Helper()
	redisURL, prefix := testenv.Redis(t)
	u, err := neturl.Parse(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	f := newFreezer(t, u.Host)
	s := newTestStore(t, "redis://"+f.ln.Addr().String()+"/0", prefix)
	t.Cleanup(func() { s.Close() })
	if err := s.Set(context.Background(), "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	return f, s
}

// TestHungRedisFailsFast: with Redis not answering, the first command
// gives up within the short timeouts and the next ones fail at once
// (kv.ErrUnavailable, so callers fall back) until Redis answers again.
func TestHungRedisFailsFast(t *testing.T) {
	f, s := storeBehindFreezer(t)
	ctx := context.Background()
	f.frozen.Store(true)
	start := time.Now()
	_, err := s.Get(ctx, "k")
	first := time.Since(start)
	if !errors.Is(err, kv.ErrUnavailable) {
		t.Fatalf("Get from a hung Redis: %v, want ErrUnavailable", err)
	}
	if first > 3*time.Second {
		t.Errorf("first Get from a hung Redis took %v", first)
	}
	start = time.Now()
	for range 20 {
		if _, err := s.Get(ctx, "k"); !errors.Is(err, kv.ErrUnavailable) {
			t.Fatalf("Get while the breaker is open: %v", err)
		}
	}
	if took := time.Since(start); took > 200*time.Millisecond {
		t.Errorf("20 Gets while the breaker is open took %v; they must fail at once", took)
	}
	f.frozen.Store(false)
	time.Sleep(breakerPause + 100*time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, err := s.Get(ctx, "k")
		if err == nil && string(v) == "v" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redis answering again, Get still fails: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("first failure after %v", first.Round(time.Millisecond))
}

// TestBreakerProbesRedis: while Redis stays hung, commands keep failing at
// once past the breaker's pause (the probe's failed PINGs keep it open);
// once Redis answers again, the probe closes the breaker well before a
// pause started by the last failure would have ended.
func TestBreakerProbesRedis(t *testing.T) {
	f, s := storeBehindFreezer(t)
	ctx := context.Background()
	f.frozen.Store(true)
	if _, err := s.Get(ctx, "k"); !errors.Is(err, kv.ErrUnavailable) {
		t.Fatalf("Get from a hung Redis: %v, want ErrUnavailable", err)
	}
	// Past the pause the first failure started, Redis still hung.
	time.Sleep(breakerPause + 500*time.Millisecond)
	start := time.Now()
	for range 20 {
		if _, err := s.Get(ctx, "k"); !errors.Is(err, kv.ErrUnavailable) {
			t.Fatalf("Get while Redis is still hung: %v", err)
		}
	}
	if took := time.Since(start); took > 200*time.Millisecond {
		t.Errorf("20 Gets %v after the first failure, Redis still hung, took %v; the probe must keep the breaker open", breakerPause, took)
	}
	// A command that fails just before Redis answers again opens a full
	// pause; the probe must close it sooner.
	f.frozen.Store(false)
	s.breaker.openUntil.Store(time.Now().Add(breakerPause).UnixNano())
	back := time.Now()
	for {
		v, err := s.Get(ctx, "k")
		if err == nil && string(v) == "v" {
			break
		}
		if time.Since(back) > breakerPause {
			t.Fatalf("Redis answering again for %v, Get still fails: %v", breakerPause, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("Redis used again %v after it answered", time.Since(back).Round(time.Millisecond))
}
