// Package rediskv is the Redis kv.Store, through go-redis, which lets
// replicas share one-time tokens, rate-limit counters, revocations and
// pub/sub. Every key and channel carries the store's prefix, so several
// deployments (or test runs) can share one Redis.
package rediskv

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/kv"
)

// SubscriberBuffer is how many messages a subscriber may fall behind by
// before further messages to it are dropped, as in the in-process store:
// one slow reader must not stall the connection feeding the others.
const SubscriberBuffer = 64

// pingTimeout keeps /readyz quick when Redis does not answer.
const pingTimeout = 2 * time.Second

// incrScript increments and, on the first increment only, sets the expiry,
// in one atomic step: with two commands a crash (or a lost reply) between
// them would leave a counter that never expires and a rate limit that
// never resets.
var incrScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 and tonumber(ARGV[1]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n
`)

// Store is a kv.Store on Redis. It is safe for concurrent use.
type Store struct {
	c       *redis.Client
	prefix  string
	breaker *breaker

	mu     sync.Mutex
	subs   map[*redis.PubSub]chan struct{} // closed when the subscription ends
	closed bool
}

var _ kv.Store = (*Store)(nil)

// New connects to the Redis at url (redis://[user:password@]host:port/db
// or rediss:// for TLS) and checks that it answers. prefix is put before
// every key and channel name, e.g. "reach:".
func New(ctx context.Context, url string, prefix string) (*Store, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "Redis URL %q", redact(url))
	}
	withTimeouts(opts)
	s := &Store{c: redis.NewClient(opts), prefix: prefix, subs: make(map[*redis.PubSub]chan struct{}), breaker: newBreaker()}
	s.breaker.ping = func(ctx context.Context) error { return s.c.Ping(ctx).Err() }
	s.c.AddHook(s.breaker)
	if err := s.Ping(ctx); err != nil {
		s.breaker.close()
		s.c.Close()
		return nil, err
	}
	return s, nil
}

// redact hides the password in a Redis URL for error messages.
func redact(raw string) string {
	opts, err := redis.ParseURL(raw)
	if err != nil || opts.Password == "" {
		if err != nil {
			return "(unparseable)"
		}
		return raw
	}
	return fmt.Sprintf("redis://%s/%d", opts.Addr, opts.DB)
}

// Prefix returns the prefix put before every key and channel.
func (s *Store) Prefix() string { return s.prefix }

func (s *Store) key(k string) string { return s.prefix + k }

// classify maps go-redis errors: a missing key to kv.ErrNotFound, the
// caller's cancellation to itself, a Redis error reply (wrong type, not an
// integer) to a plain error, and everything else (refused connections,
// timeouts, a closed client) to an errs.Unavailable error wrapping
// kv.ErrUnavailable.
func classify(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, redis.Nil) {
		return kv.ErrNotFound
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return ctx.Err()
	}
	var reply redis.Error
	if errors.As(err, &reply) {
		return fmt.Errorf("redis %s: %w", op, err)
	}
	return &errs.Error{Kind: errs.Unavailable, Message: "cache unavailable",
		Err: fmt.Errorf("%w: redis %s: %w", kv.ErrUnavailable, op, err)}
}

// Get implements kv.Store.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.c.Get(ctx, s.key(key)).Bytes()
	return b, classify(ctx, "get", err)
}

// Set implements kv.Store.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := kv.ValidateTTL(ttl); err != nil {
		return err
	}
	return classify(ctx, "set", s.c.Set(ctx, s.key(key), value, ttl).Err())
}

// SetNX implements kv.Store.
func (s *Store) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := kv.ValidateTTL(ttl); err != nil {
		return false, err
	}
	ok, err := s.c.SetNX(ctx, s.key(key), value, ttl).Result()
	return ok, classify(ctx, "setnx", err)
}

// Take implements kv.Store with GETDEL (Redis 6.2 or later), which Redis
// runs atomically, so exactly one of several replicas gets the value.
func (s *Store) Take(ctx context.Context, key string) ([]byte, error) {
	b, err := s.c.GetDel(ctx, s.key(key)).Bytes()
	return b, classify(ctx, "getdel", err)
}

// Delete implements kv.Store.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = s.key(k)
	}
	return classify(ctx, "del", s.c.Del(ctx, full...).Err())
}

// Incr implements kv.Store.
func (s *Store) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	if err := kv.ValidateTTL(ttl); err != nil {
		return 0, err
	}
	n, err := incrScript.Run(ctx, s.c, []string{s.key(key)}, ttl.Milliseconds()).Int64()
	if err != nil {
		var reply redis.Error
		if errors.As(err, &reply) {
			return 0, errs.Wrap(errs.Invalid, err, "kv key %q does not hold an integer", key)
		}
		return 0, classify(ctx, "incr", err)
	}
	return n, nil
}

// Publish implements kv.Store.
func (s *Store) Publish(ctx context.Context, channel string, msg []byte) error {
	return classify(ctx, "publish", s.c.Publish(ctx, s.key(channel), msg).Err())
}

// Subscribe implements kv.Store. It returns once Redis has confirmed the
// subscription, so a message published afterwards (by any replica) is
// delivered. go-redis reconnects and resubscribes after a dropped
// connection; messages published meanwhile are lost, as pub/sub allows.
func (s *Store) Subscribe(ctx context.Context, channel string) (<-chan []byte, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, classify(ctx, "subscribe", redis.ErrClosed)
	}
	ps := s.c.Subscribe(ctx, s.key(channel))
	done := make(chan struct{})
	s.subs[ps] = done
	s.mu.Unlock()
	if _, err := ps.Receive(ctx); err != nil {
		s.closeSub(ps)
		return nil, classify(ctx, "subscribe", err)
	}
	in := ps.Channel()
	out := make(chan []byte, SubscriberBuffer)
	go func() {
		select {
		case <-ctx.Done():
			s.closeSub(ps)
		case <-done: // closed by Close
		}
	}()
	go func() {
		defer close(out)
		// in is closed when ps is closed, by ctx ending or by Close.
		for m := range in {
			select {
			case out <- []byte(m.Payload):
			default: // the reader is behind: drop rather than stall
			}
		}
	}()
	return out, nil
}

func (s *Store) closeSub(ps *redis.PubSub) {
	s.mu.Lock()
	done, ok := s.subs[ps]
	delete(s.subs, ps)
	s.mu.Unlock()
	if ok {
		close(done)
		_ = ps.Close()
	}
}

// Ping implements kv.Store, within a short timeout.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(withPass(ctx), pingTimeout)
	defer cancel()
	err := s.c.Ping(ctx).Err()
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		// Our own timeout means Redis did not answer: unavailable, not the
		// caller's cancellation.
		return &errs.Error{Kind: errs.Unavailable, Message: "cache unavailable",
			Err: fmt.Errorf("%w: redis ping: %w", kv.ErrUnavailable, err)}
	}
	return classify(ctx, "ping", err)
}

// Close ends every subscription and closes the connections; later calls
// fail with kv.ErrUnavailable. Closing twice is harmless.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	subs := make([]*redis.PubSub, 0, len(s.subs))
	for ps := range s.subs {
		subs = append(subs, ps)
	}
	s.mu.Unlock()
	for _, ps := range subs {
		s.closeSub(ps)
	}
	s.breaker.close()
	return s.c.Close()
}
