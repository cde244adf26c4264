// Package memkv is the in-process kv.Store, the embedded default for a
// single server. It keeps everything in one mutex-guarded map; expired keys
// are dropped when touched and by a periodic sweep, so keys nobody reads
// again do not pile up.
package memkv

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/kv"
)

// SweepInterval is how often expired keys are removed in the background.
const SweepInterval = time.Minute

// SubscriberBuffer is how many messages a subscriber may fall behind by
// before further messages to it are dropped. Publish never waits for a
// slow subscriber: pub/sub here carries hints (cache invalidation, live
// updates) whose loss costs freshness, not correctness.
const SubscriberBuffer = 64

type entry struct {
	val []byte
	exp time.Time // zero: no expiry
}

func (e entry) expired(now time.Time) bool { return !e.exp.IsZero() && !now.Before(e.exp) }

type subscriber struct {
	ch   chan []byte
	done chan struct{} // closed when the subscriber is removed
}

// Store is an in-process kv.Store. The zero value is not usable; call New.
type Store struct {
	mu     sync.Mutex
	data   map[string]entry
	subs   map[string]map[*subscriber]struct{}
	closed bool

	now       func() time.Time // replaced by tests
	stopSweep chan struct{}
	sweepDone chan struct{}
}

var _ kv.Store = (*Store)(nil)

// New returns an empty store and starts its sweeper; Close stops it.
func New() *Store {
	s := &Store{
		data:      make(map[string]entry),
		subs:      make(map[string]map[*subscriber]struct{}),
		now:       time.Now,
		stopSweep: make(chan struct{}),
		sweepDone: make(chan struct{}),
	}
	go s.sweepLoop(SweepInterval)
	return s
}

func (s *Store) sweepLoop(every time.Duration) {
	defer close(s.sweepDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stopSweep:
			return
		case <-t.C:
			s.sweep()
		}
	}
}

// sweep removes every expired key.
func (s *Store) sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, e := range s.data {
		if e.expired(now) {
			delete(s.data, k)
		}
	}
}

// Len returns the number of keys held, expired or not: for tests and
// metrics of the sweep.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.data)
}

var errClosed = &errs.Error{Kind: errs.Unavailable, Message: "cache unavailable",
	Err: fmt.Errorf("%w: in-process store is closed", kv.ErrUnavailable)}

// begin locks the store for an operation, failing if ctx is done or the
// store is closed. On success the caller must unlock.
func (s *Store) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	return nil
}

func (s *Store) expiry(ttl time.Duration) time.Time {
	if ttl == 0 {
		return time.Time{}
	}
	return s.now().Add(ttl)
}

// lookup returns the live entry for key, dropping it if expired. The
// caller holds mu.
func (s *Store) lookup(key string) (entry, bool) {
	e, ok := s.data[key]
	if ok && e.expired(s.now()) {
		delete(s.data, key)
		return entry{}, false
	}
	return e, ok
}

// Get implements kv.Store. The caller gets its own copy of the value.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	e, ok := s.lookup(key)
	if !ok {
		return nil, kv.ErrNotFound
	}
	return clone(e.val), nil
}

// Set implements kv.Store. The store keeps its own copy of value.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := kv.ValidateTTL(ttl); err != nil {
		return err
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.data[key] = entry{val: clone(value), exp: s.expiry(ttl)}
	return nil
}

// SetNX implements kv.Store.
func (s *Store) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := kv.ValidateTTL(ttl); err != nil {
		return false, err
	}
	if err := s.begin(ctx); err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	if _, ok := s.lookup(key); ok {
		return false, nil
	}
	s.data[key] = entry{val: clone(value), exp: s.expiry(ttl)}
	return true, nil
}

// Take implements kv.Store.
func (s *Store) Take(ctx context.Context, key string) ([]byte, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	e, ok := s.lookup(key)
	if !ok {
		return nil, kv.ErrNotFound
	}
	delete(s.data, key)
	return e.val, nil
}

// Delete implements kv.Store.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	for _, k := range keys {
		delete(s.data, k)
	}
	return nil
}

// Incr implements kv.Store. Counters are stored as decimal text, as Redis
// stores them, so Get reads them the same way on both stores; incrementing
// a value that is not an integer is an error.
func (s *Store) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	if err := kv.ValidateTTL(ttl); err != nil {
		return 0, err
	}
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	e, ok := s.lookup(key)
	if !ok {
		s.data[key] = entry{val: []byte("1"), exp: s.expiry(ttl)}
		return 1, nil
	}
	n, err := strconv.ParseInt(string(e.val), 10, 64)
	if err != nil {
		return 0, errs.E(errs.Invalid, "kv key %q does not hold an integer", key)
	}
	if n == 1<<63-1 {
		return 0, errs.E(errs.Invalid, "kv key %q: increment would overflow", key)
	}
	n++
	// The expiry stays where the first increment put it: fixed windows.
	s.data[key] = entry{val: []byte(strconv.FormatInt(n, 10)), exp: e.exp}
	return n, nil
}

// Publish implements kv.Store. Delivery never blocks: a subscriber whose
// buffer is full misses the message.
func (s *Store) Publish(ctx context.Context, channel string, msg []byte) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	for sub := range s.subs[channel] {
		select {
		case sub.ch <- clone(msg):
		default:
		}
	}
	return nil
}

// Subscribe implements kv.Store. The subscription is in place when
// Subscribe returns; the channel is closed after ctx ends or the store is
// closed.
func (s *Store) Subscribe(ctx context.Context, channel string) (<-chan []byte, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	sub := &subscriber{ch: make(chan []byte, SubscriberBuffer), done: make(chan struct{})}
	if s.subs[channel] == nil {
		s.subs[channel] = make(map[*subscriber]struct{})
	}
	s.subs[channel][sub] = struct{}{}
	s.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
			s.unsubscribe(channel, sub)
		case <-sub.done:
		}
	}()
	return sub.ch, nil
}

// unsubscribe removes sub and closes its channel, once.
func (s *Store) unsubscribe(channel string, sub *subscriber) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.subs[channel][sub]; !ok {
		return
	}
	delete(s.subs[channel], sub)
	if len(s.subs[channel]) == 0 {
		delete(s.subs, channel)
	}
	// Closing under mu is safe: Publish sends only under mu.
	close(sub.ch)
	close(sub.done)
}

// Ping implements kv.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	s.mu.Unlock()
	return nil
}

// Close stops the sweeper, ends every subscription and drops all keys;
// later calls fail with kv.ErrUnavailable. Closing twice is harmless.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.data = nil
	var subs []func()
	for ch, set := range s.subs {
		for sub := range set {
			subs = append(subs, func() { s.unsubscribe(ch, sub) })
		}
	}
	s.mu.Unlock()
	for _, f := range subs {
		f()
	}
	close(s.stopSweep)
	<-s.sweepDone
	return nil
}

func clone(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return append([]byte(nil), b...)
}
