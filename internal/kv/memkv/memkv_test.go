package memkv

import (
	"context"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/kv"
	"github.com/reach-london/reach/internal/kv/kvtest"
)

func TestContract(t *testing.T) {
	kvtest.Run(t, func(t *testing.T) kv.Store { return New() })
}

// TestSweep checks that expired keys nobody reads again are removed by the
// sweep, and that live ones survive it.
func TestSweep(t *testing.T) {
	s := New()
	defer s.Close()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s.mu.Lock()
	s.now = func() time.Time { return now }
	s.mu.Unlock()
	ctx := context.Background()
	tests := []struct {
		key string
		ttl time.Duration
	}{
		{"expires-soon", time.Second},
		{"expires-later", time.Hour},
		{"never", 0},
	}
	for _, tt := range tests {
		if err := s.Set(ctx, tt.key, []byte("v"), tt.ttl); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Incr(ctx, "counter", time.Second); err != nil {
		t.Fatal(err)
	}
	s.sweep()
	if got := s.Len(); got != 4 {
		t.Fatalf("after sweep with nothing expired: got %d keys, want 4", got)
	}
	s.mu.Lock()
	now = now.Add(time.Minute)
	s.mu.Unlock()
	s.sweep()
	if got := s.Len(); got != 2 {
		t.Errorf("after sweep a minute later: got %d keys, want 2", got)
	}
	for _, key := range []string{"expires-later", "never"} {
		if _, err := s.Get(ctx, key); err != nil {
			t.Errorf("Get(%q) after sweep: %v", key, err)
		}
	}
}

// TestCloseStopsSweeper checks Close waits for the sweeper goroutine.
func TestCloseStopsSweeper(t *testing.T) {
	s := New()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.sweepDone:
	default:
		t.Error("sweeper still running after Close")
	}
}
