// Package kvtest is the contract every kv.Store must meet, written once and
// run against each implementation (in-process and Redis), so that the
// embedded default and production behave alike.
package kvtest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/kv"
)

// Run runs the contract suite. newStore must return a store with no keys
// (a fresh prefix will do); it is called once per subtest and the suite
// closes the stores it gets.
func Run(t *testing.T, newStore func(t *testing.T) kv.Store) {
	open := func(t *testing.T) kv.Store {
		s := newStore(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	t.Run("GetSet", func(t *testing.T) { testGetSet(t, open(t)) })
	t.Run("Expiry", func(t *testing.T) { testExpiry(t, open(t)) })
	t.Run("SetNX", func(t *testing.T) { testSetNX(t, open(t)) })
	t.Run("Take", func(t *testing.T) { testTake(t, open(t)) })
	t.Run("TakeExactlyOnce", func(t *testing.T) { TakeExactlyOnce(t, open(t), open(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, open(t)) })
	t.Run("Incr", func(t *testing.T) { testIncr(t, open(t)) })
	t.Run("IncrWindow", func(t *testing.T) { testIncrWindow(t, open(t)) })
	t.Run("BadTTL", func(t *testing.T) { testBadTTL(t, open(t)) })
	t.Run("PubSub", func(t *testing.T) { s := open(t); PubSub(t, s, s) })
	t.Run("SlowSubscriber", func(t *testing.T) { testSlowSubscriber(t, open(t)) })
	t.Run("Close", func(t *testing.T) { testClose(t, newStore(t)) })
}

func mustSet(t *testing.T, s kv.Store, key, val string, ttl time.Duration) {
	t.Helper()
	if err := s.Set(context.Background(), key, []byte(val), ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

// wantValue checks key holds want, or is absent if want is nil.
func wantValue(t *testing.T, s kv.Store, key string, want *string) {
	t.Helper()
	got, err := s.Get(context.Background(), key)
	switch {
	case want == nil && !errors.Is(err, kv.ErrNotFound):
		t.Errorf("Get(%q): got %q, %v; want ErrNotFound", key, got, err)
	case want != nil && err != nil:
		t.Errorf("Get(%q): %v; want %q", key, err, *want)
	case want != nil && string(got) != *want:
		t.Errorf("Get(%q): got %q, want %q", key, got, *want)
	}
}

func ptr(s string) *string { return &s }

func testGetSet(t *testing.T, s kv.Store) {
	ctx := context.Background()
	tests := []struct {
		name, key, val string
	}{
		{"text", "session:abc", "hello"},
		{"empty value", "empty", ""},
		{"binary value", "bin", "\x00\xff\x01 \n"},
		{"unicode key", "clé:ü/ß", "v"},
		{"overwrite", "session:abc", "replaced"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustSet(t, s, tt.key, tt.val, 0)
			wantValue(t, s, tt.key, ptr(tt.val))
		})
	}
	wantValue(t, s, "never-set", nil)
	// Neither the caller's slice nor a returned one aliases the stored value.
	in := []byte("original")
	if err := s.Set(ctx, "alias", in, 0); err != nil {
		t.Fatal(err)
	}
	in[0] = 'X'
	out, err := s.Get(ctx, "alias")
	if err != nil {
		t.Fatal(err)
	}
	out[0] = 'Y'
	wantValue(t, s, "alias", ptr("original"))
}

func testExpiry(t *testing.T, s kv.Store) {
	ctx := context.Background()
	mustSet(t, s, "short", "v", 150*time.Millisecond)
	mustSet(t, s, "forever", "v", 0)
	mustSet(t, s, "long", "v", time.Hour)
	mustSet(t, s, "reset", "v", 150*time.Millisecond)
	mustSet(t, s, "reset", "w", 0) // Set replaces the expiry too
	if ok, err := s.SetNX(ctx, "nx-short", []byte("v"), 150*time.Millisecond); !ok || err != nil {
		t.Fatalf("SetNX: %v, %v", ok, err)
	}
	wantValue(t, s, "short", ptr("v"))
	time.Sleep(400 * time.Millisecond)
	tests := []struct {
		key  string
		want *string
	}{
		{"short", nil},
		{"nx-short", nil},
		{"forever", ptr("v")},
		{"long", ptr("v")},
		{"reset", ptr("w")},
	}
	for _, tt := range tests {
		wantValue(t, s, tt.key, tt.want)
	}
	if _, err := s.Take(ctx, "short"); !errors.Is(err, kv.ErrNotFound) {
		t.Errorf("Take of expired key: got %v, want ErrNotFound", err)
	}
}

func testSetNX(t *testing.T, s kv.Store) {
	ctx := context.Background()
	steps := []struct {
		name   string
		val    string
		ttl    time.Duration
		sleep  time.Duration // before the step
		wantOK bool
		want   string
	}{
		{"absent", "first", 150 * time.Millisecond, 0, true, "first"},
		{"present", "second", 0, 0, false, "first"},
		{"expired", "third", 0, 400 * time.Millisecond, true, "third"},
		{"present without ttl", "fourth", 0, 0, false, "third"},
	}
	for _, st := range steps {
		time.Sleep(st.sleep)
		ok, err := s.SetNX(ctx, "lock", []byte(st.val), st.ttl)
		if err != nil {
			t.Fatalf("%s: SetNX: %v", st.name, err)
		}
		if ok != st.wantOK {
			t.Errorf("%s: SetNX: got %v, want %v", st.name, ok, st.wantOK)
		}
		wantValue(t, s, "lock", ptr(st.want))
	}
}

func testTake(t *testing.T, s kv.Store) {
	ctx := context.Background()
	mustSet(t, s, "token", "secret", time.Minute)
	got, err := s.Take(ctx, "token")
	if err != nil || string(got) != "secret" {
		t.Fatalf("Take: got %q, %v; want %q", got, err, "secret")
	}
	if _, err := s.Take(ctx, "token"); !errors.Is(err, kv.ErrNotFound) {
		t.Errorf("second Take: got %v, want ErrNotFound", err)
	}
	wantValue(t, s, "token", nil)
	if _, err := s.Take(ctx, "never-set"); !errors.Is(err, kv.ErrNotFound) {
		t.Errorf("Take of absent key: got %v, want ErrNotFound", err)
	}
}

// TakeExactlyOnce races 50 goroutines, spread over two stores sharing one
// backend (a and b may be the same store), to Take each of several one-time
// tokens: every token must go to exactly one of them.
func TakeExactlyOnce(t *testing.T, a, b kv.Store) {
	ctx := context.Background()
	const racers, tokens = 50, 10
	for i := range tokens {
		mustSet(t, a, fmt.Sprintf("once:%d", i), fmt.Sprintf("value-%d", i), time.Minute)
	}
	for i := range tokens {
		key := fmt.Sprintf("once:%d", i)
		var mu sync.Mutex
		var winners []string
		var wg sync.WaitGroup
		start := make(chan struct{})
		for r := range racers {
			s := a
			if r%2 == 1 {
				s = b
			}
			wg.Go(func() {
				<-start
				v, err := s.Take(ctx, key)
				if errors.Is(err, kv.ErrNotFound) {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					winners = append(winners, "error: "+err.Error())
					return
				}
				winners = append(winners, string(v))
			})
		}
		close(start)
		wg.Wait()
		if len(winners) != 1 || winners[0] != fmt.Sprintf("value-%d", i) {
			t.Errorf("%s: got winners %q, want exactly one with %q", key, winners, fmt.Sprintf("value-%d", i))
		}
	}
}

func testDelete(t *testing.T, s kv.Store) {
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c"} {
		mustSet(t, s, k, k, 0)
	}
	tests := []struct {
		name string
		keys []string
		want map[string]*string
	}{
		{"none", nil, map[string]*string{"a": ptr("a"), "b": ptr("b"), "c": ptr("c")}},
		{"absent key", []string{"zzz"}, map[string]*string{"a": ptr("a"), "b": ptr("b"), "c": ptr("c")}},
		{"one", []string{"a"}, map[string]*string{"a": nil, "b": ptr("b"), "c": ptr("c")}},
		{"several with absent", []string{"b", "zzz", "c"}, map[string]*string{"a": nil, "b": nil, "c": nil}},
	}
	for _, tt := range tests {
		if err := s.Delete(ctx, tt.keys...); err != nil {
			t.Fatalf("%s: Delete: %v", tt.name, err)
		}
		for k, want := range tt.want {
			wantValue(t, s, k, want)
		}
	}
}

func testIncr(t *testing.T, s kv.Store) {
	ctx := context.Background()
	for want := int64(1); want <= 3; want++ {
		got, err := s.Incr(ctx, "count", 0)
		if err != nil || got != want {
			t.Fatalf("Incr: got %d, %v; want %d", got, err, want)
		}
	}
	wantValue(t, s, "count", ptr("3"))
	// A counter Set as decimal text continues from there.
	mustSet(t, s, "from-set", "41", 0)
	if got, err := s.Incr(ctx, "from-set", 0); err != nil || got != 42 {
		t.Errorf("Incr after Set 41: got %d, %v; want 42", got, err)
	}
	// A value that is not an integer is an error and stays as it was.
	mustSet(t, s, "text", "hello", 0)
	if _, err := s.Incr(ctx, "text", 0); err == nil {
		t.Error("Incr of a non-integer: got nil error")
	}
	wantValue(t, s, "text", ptr("hello"))

	// Concurrent increments are each counted once.
	const n = 50
	var wg sync.WaitGroup
	results := make([]int64, n)
	errc := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			v, err := s.Incr(ctx, "concurrent", time.Minute)
			results[i] = v
			errc <- err
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatalf("concurrent Incr: %v", err)
		}
	}
	sort.Slice(results, func(i, j int) bool { return results[i] < results[j] })
	for i, v := range results {
		if v != int64(i+1) {
			t.Fatalf("concurrent Incr results: got %v, want 1..%d each once", results, n)
		}
	}
}

func testIncrWindow(t *testing.T, s kv.Store) {
	ctx := context.Background()
	const window = 300 * time.Millisecond
	steps := []struct {
		sleep time.Duration // before the Incr
		want  int64
	}{
		{0, 1},
		{100 * time.Millisecond, 2},
		// Later increments must not push the expiry back: at 200ms into
		// the window the count is 3, and at 450ms the window has ended
		// although the last increment was only 250ms earlier.
		{100 * time.Millisecond, 3},
		{250 * time.Millisecond, 1},
		{50 * time.Millisecond, 2},
	}
	for i, st := range steps {
		time.Sleep(st.sleep)
		got, err := s.Incr(ctx, "window", window)
		if err != nil {
			t.Fatalf("step %d: Incr: %v", i, err)
		}
		if got != st.want {
			t.Errorf("step %d: Incr: got %d, want %d", i, got, st.want)
		}
	}
}

func testBadTTL(t *testing.T, s kv.Store) {
	ctx := context.Background()
	mustSet(t, s, "k", "kept", 0)
	for _, ttl := range []time.Duration{-time.Second, -1, time.Microsecond} {
		t.Run(ttl.String(), func(t *testing.T) {
			if err := s.Set(ctx, "k", []byte("changed"), ttl); !errs.Is(err, errs.Invalid) {
				t.Errorf("Set: got %v, want an Invalid error", err)
			}
			if ok, err := s.SetNX(ctx, "new", []byte("v"), ttl); ok || !errs.Is(err, errs.Invalid) {
				t.Errorf("SetNX: got %v, %v; want false and an Invalid error", ok, err)
			}
			if _, err := s.Incr(ctx, "counter", ttl); !errs.Is(err, errs.Invalid) {
				t.Errorf("Incr: got %v, want an Invalid error", err)
			}
			wantValue(t, s, "k", ptr("kept"))
			wantValue(t, s, "new", nil)
			wantValue(t, s, "counter", nil)
		})
	}
}

// receive waits for the next message on ch.
func receive(t *testing.T, ch <-chan []byte) (string, bool) {
	t.Helper()
	select {
	case m, ok := <-ch:
		return string(m), ok
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5s")
		return "", false
	}
}

// PubSub checks delivery from a publishing store to subscribers on another
// store sharing the backend (or the same store): every subscriber of a
// channel gets each message in order, other channels get nothing, and a
// subscription ends, closing its channel, when its context does.
func PubSub(t *testing.T, pub, sub kv.Store) {
	ctx := context.Background()
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	one, err := sub.Subscribe(subCtx, "news")
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	two, err := sub.Subscribe(ctx, "news")
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	other, err := sub.Subscribe(ctx, "other")
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if err := pub.Publish(ctx, "nobody-listens", []byte("x")); err != nil {
		t.Fatalf("Publish without subscribers: %v", err)
	}
	msgs := []string{"first", "", "third\x00binary"}
	for _, m := range msgs {
		if err := pub.Publish(ctx, "news", []byte(m)); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	for name, ch := range map[string]<-chan []byte{"one": one, "two": two} {
		for _, want := range msgs {
			if got, ok := receive(t, ch); !ok || got != want {
				t.Errorf("subscriber %s: got %q (open %v), want %q", name, got, ok, want)
			}
		}
	}
	// The "other" channel saw none of it: the first thing it receives is
	// what is published to it.
	if err := pub.Publish(ctx, "other", []byte("for other")); err != nil {
		t.Fatal(err)
	}
	if got, _ := receive(t, other); got != "for other" {
		t.Errorf("other channel: got %q, want %q", got, "for other")
	}
	// Ending the context ends the subscription and closes the channel.
	cancel()
	deadline := time.After(5 * time.Second)
	for closed := false; !closed; {
		select {
		case _, ok := <-one:
			closed = !ok
		case <-deadline:
			t.Fatal("channel not closed within 5s of its context ending")
		}
	}
	if err := pub.Publish(ctx, "news", []byte("after")); err != nil {
		t.Fatal(err)
	}
	if got, _ := receive(t, two); got != "after" {
		t.Errorf("remaining subscriber: got %q, want %q", got, "after")
	}
}

// testSlowSubscriber checks that a subscriber that never reads neither
// blocks Publish nor starves a subscriber that keeps up.
func testSlowSubscriber(t *testing.T, s kv.Store) {
	ctx := context.Background()
	slow, err := s.Subscribe(ctx, "busy")
	if err != nil {
		t.Fatal(err)
	}
	fast, err := s.Subscribe(ctx, "busy")
	if err != nil {
		t.Fatal(err)
	}
	const total, batch = 1000, 20
	start := time.Now()
	for i := 0; i < total; i += batch {
		for j := i; j < i+batch; j++ {
			if err := s.Publish(ctx, "busy", []byte(strconv.Itoa(j))); err != nil {
				t.Fatalf("Publish %d: %v", j, err)
			}
		}
		// The fast subscriber reads each batch before the next is sent, so
		// it never falls behind by more than a batch.
		for j := i; j < i+batch; j++ {
			if got, ok := receive(t, fast); !ok || got != strconv.Itoa(j) {
				t.Fatalf("fast subscriber: got %q (open %v), want %d", got, ok, j)
			}
		}
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("publishing %d messages with a stalled subscriber took %v", total, d)
	}
	// The slow subscriber got some of the messages, in order (gaps are
	// where its buffer was full), rather than holding them all.
	n, last := 0, -1
	for more := true; more; {
		select {
		case m := <-slow:
			v, err := strconv.Atoi(string(m))
			if err != nil || v <= last {
				t.Fatalf("slow subscriber: got %q after %d, want messages in order", m, last)
			}
			n, last = n+1, v
		case <-time.After(200 * time.Millisecond):
			more = false
		}
	}
	if n == 0 || n >= total {
		t.Errorf("slow subscriber received %d of %d messages, want some but not all", n, total)
	}
}

func testClose(t *testing.T, s kv.Store) {
	ctx := context.Background()
	ch, err := s.Subscribe(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case _, ok := <-ch:
		if ok {
			t.Error("subscription delivered a message after Close")
		}
	case <-time.After(5 * time.Second):
		t.Error("subscription channel still open 5s after Close")
	}
	calls := map[string]func() error{
		"Get":       func() error { _, err := s.Get(ctx, "k"); return err },
		"Set":       func() error { return s.Set(ctx, "k", []byte("v"), 0) },
		"Take":      func() error { _, err := s.Take(ctx, "k"); return err },
		"Incr":      func() error { _, err := s.Incr(ctx, "k", 0); return err },
		"Publish":   func() error { return s.Publish(ctx, "c", []byte("v")) },
		"Subscribe": func() error { _, err := s.Subscribe(ctx, "c"); return err },
		"Ping":      func() error { return s.Ping(ctx) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, kv.ErrUnavailable) || !errs.Is(err, errs.Unavailable) {
			t.Errorf("%s after Close: got %v, want ErrUnavailable", name, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
