package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/kv"
	"github.com/reach-london/reach/internal/kv/memkv"
	"github.com/reach-london/reach/internal/kv/rediskv"
	"github.com/reach-london/reach/internal/testenv"
)

// t0 is 10s into a minute, so one-minute windows end 50s later.
var t0 = time.Date(2026, 11, 25, 9, 0, 10, 0, time.UTC)

type call struct {
	at        time.Duration // after t0
	key       string
	limit     int
	window    time.Duration
	wantOK    bool
	wantRetry time.Duration
}

// runCalls makes the calls in order on l with a clock set to each call's
// time.
func runCalls(t *testing.T, l *Limiter, calls []call) {
	t.Helper()
	var now time.Time
	l.now = func() time.Time { return now }
	for i, c := range calls {
		now = t0.Add(c.at)
		ok, retry, err := l.Allow(context.Background(), c.key, c.limit, c.window)
		if err != nil {
			t.Fatalf("call %d (%s at +%v): %v", i, c.key, c.at, err)
		}
		if ok != c.wantOK || retry != c.wantRetry {
			t.Errorf("call %d (%s at +%v): got %v, retry %v; want %v, retry %v", i, c.key, c.at, ok, retry, c.wantOK, c.wantRetry)
		}
	}
}

// limitCases are scenarios every way of counting (shared store, local
// fallback, no store) must get right.
var limitCases = []struct {
	name  string
	calls []call
}{
	{"within and over the limit", []call{
		{0, "login:a", 3, time.Minute, true, 0},
		{time.Second, "login:a", 3, time.Minute, true, 0},
		{2 * time.Second, "login:a", 3, time.Minute, true, 0},
		{3 * time.Second, "login:a", 3, time.Minute, false, 47 * time.Second},
		{20 * time.Second, "login:a", 3, time.Minute, false, 30 * time.Second},
	}},
	{"next window starts afresh", []call{
		{0, "login:b", 1, time.Minute, true, 0},
		{time.Second, "login:b", 1, time.Minute, false, 49 * time.Second},
		{50 * time.Second, "login:b", 1, time.Minute, true, 0},
		{51 * time.Second, "login:b", 1, time.Minute, false, 59 * time.Second},
	}},
	{"keys are independent", []call{
		{0, "login:c", 1, time.Minute, true, 0},
		{0, "login:d", 1, time.Minute, true, 0},
		{0, "login:c", 1, time.Minute, false, 50 * time.Second},
	}},
	{"one key over two windows keeps two counts", []call{
		{0, "token:e", 1, time.Minute, true, 0},
		{0, "token:e", 2, time.Hour, true, 0},
		{0, "token:e", 2, time.Hour, true, 0},
		{0, "token:e", 2, time.Hour, false, 59*time.Minute + 50*time.Second},
		{0, "token:e", 1, time.Minute, false, 50 * time.Second},
	}},
}

func TestAllow(t *testing.T) {
	stores := map[string]func(t *testing.T) kv.Store{
		"memkv": func(t *testing.T) kv.Store {
			s := memkv.New()
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
		"redis": func(t *testing.T) kv.Store {
			url, prefix := testenv.Redis(t)
			s, err := rediskv.New(context.Background(), url, prefix)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
		"no store": func(t *testing.T) kv.Store { return nil },
		"unavailable store, local fallback": func(t *testing.T) kv.Store {
			s := memkv.New()
			_ = s.Close() // a closed store answers ErrUnavailable
			return s
		},
	}
	for storeName, newStore := range stores {
		for _, tc := range limitCases {
			t.Run(storeName+"/"+tc.name, func(t *testing.T) {
				runCalls(t, New(newStore(t)), tc.calls)
			})
		}
	}
}

func TestFailOpen(t *testing.T) {
	down := memkv.New()
	_ = down.Close()
	up := memkv.New()
	defer up.Close()
	var allowed []call
	for i := range 5 {
		allowed = append(allowed, call{time.Duration(i) * time.Second, "cap:a", 2, time.Minute, true, 0})
	}
	tests := []struct {
		name  string
		store kv.Store
		calls []call
	}{
		{"store down: everything allowed", down, allowed},
		{"store up: still limits", up, []call{
			{0, "cap:a", 1, time.Minute, true, 0},
			{0, "cap:a", 1, time.Minute, false, 50 * time.Second},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runCalls(t, New(tt.store, FailOpen()), tt.calls)
		})
	}
}

// TestRedisDownLimitsPerReplica uses a Redis store whose connections are
// closed, as when Redis goes away under a running server.
func TestRedisDownLimitsPerReplica(t *testing.T) {
	url, prefix := testenv.Redis(t)
	s, err := rediskv.New(context.Background(), url, prefix)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	runCalls(t, New(s), []call{
		{0, "login:x", 2, time.Minute, true, 0},
		{0, "login:x", 2, time.Minute, true, 0},
		{0, "login:x", 2, time.Minute, false, 50 * time.Second},
	})
	runCalls(t, New(s, FailOpen()), []call{
		{0, "login:x", 1, time.Minute, true, 0},
		{0, "login:x", 1, time.Minute, true, 0},
	})
}

// TestSharedAcrossReplicas checks two limiters on one Redis share a count.
func TestSharedAcrossReplicas(t *testing.T) {
	url, prefix := testenv.Redis(t)
	var limiters []*Limiter
	for range 2 {
		s, err := rediskv.New(context.Background(), url, prefix)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		limiters = append(limiters, New(s))
	}
	key := "login:shared:" + testenv.RandomSuffix(4)
	var got []bool
	for i := range 4 {
		ok, _, err := limiters[i%2].Allow(context.Background(), key, 3, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ok)
	}
	if fmt.Sprint(got) != "[true true true false]" {
		t.Errorf("alternating replicas: got %v, want [true true true false]", got)
	}
}

func TestAllowRejectsBadInput(t *testing.T) {
	s := memkv.New()
	defer s.Close()
	l := New(s)
	tests := []struct {
		name   string
		key    string
		limit  int
		window time.Duration
	}{
		{"empty key", "", 1, time.Minute},
		{"zero limit", "k", 0, time.Minute},
		{"negative limit", "k", -1, time.Minute},
		{"zero window", "k", 1, 0},
		{"sub-millisecond window", "k", 1, time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, _, err := l.Allow(context.Background(), tt.key, tt.limit, tt.window)
			if ok || !errs.Is(err, errs.Invalid) {
				t.Errorf("got %v, %v; want false and an Invalid error", ok, err)
			}
		})
	}
	if s.Len() != 0 {
		t.Errorf("bad calls stored %d counters, want 0", s.Len())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if ok, _, err := l.Allow(ctx, "k", 1, time.Minute); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v, %v; want false, context.Canceled", ok, err)
	}
}

// TestLocalPrune checks the fallback does not keep expired counters forever.
func TestLocalPrune(t *testing.T) {
	l := New(nil)
	now := t0
	l.now = func() time.Time { return now }
	for i := range 3 * pruneMin {
		if _, _, err := l.Allow(context.Background(), fmt.Sprint("k", i), 1, time.Second); err != nil {
			t.Fatal(err)
		}
		if i == pruneMin {
			now = now.Add(time.Hour) // every counter so far has expired
		}
	}
	if got := l.local.size(); got > 2*pruneMin {
		t.Errorf("local counters: got %d, want expired ones pruned (at most %d)", got, 2*pruneMin)
	}
}
