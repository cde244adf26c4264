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

// TestHungRedisFailsFast: with Redis not answering, the first command
// gives up within the short timeouts and the next ones fail at once
// (kv.ErrUnavailable, so callers fall back) until Redis answers again.
func TestHungRedisFailsFast(t *testing.T) {
	redisURL, prefix := testenv.Redis(t)
	u, err := neturl.Parse(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	f := newFreezer(t, u.Host)
	s := newTestStore(t, "redis://"+f.ln.Addr().String()+"/0", prefix)
	defer s.Close()
	ctx := context.Background()
	if err := s.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	f.frozen.Store(true)
	start := time.Now()
	_, err = s.Get(ctx, "k")
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
