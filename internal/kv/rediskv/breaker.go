package rediskv

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Timeouts for a Redis that does not answer. Redis answers in well under
// a millisecond, so these only matter when it hangs or the network drops
// packets; go-redis's own defaults (5 s to dial, 3 s to read, 3 retries)
// held a request for 10–15 s in the load test with Redis frozen. A URL
// may still set its own (dial_timeout, read_timeout, max_retries, …).
//
// No retries: a command whose reply was lost may have run, and running
// GETDEL again would lose a one-time value (a cmi5 fetch code) instead of
// reporting the failure; every caller has a fallback for a failed command.
const (
	dialTimeout  = time.Second
	ioTimeout    = time.Second
	noRetries    = -1
	breakerPause = 2 * time.Second
	// probeEvery is how often an open breaker PINGs Redis. A PING that
	// fails keeps the breaker open, so requests never wait on a Redis that
	// is still down; the first one that succeeds closes it, so Redis is
	// used again within a moment of answering instead of after a pause
	// that a failure just before it came back had started.
	probeEvery = 250 * time.Millisecond
	// probeTimeout bounds one probe PING, dial included.
	probeTimeout = 3 * time.Second
)

// withTimeouts fills in the timeouts the URL left unset.
func withTimeouts(o *redis.Options) {
	if o.DialTimeout == 0 {
		o.DialTimeout = dialTimeout
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = ioTimeout
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = ioTimeout
	}
	if o.PoolTimeout == 0 {
		o.PoolTimeout = dialTimeout
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = noRetries
	}
}

// errBreakerOpen is what commands get while the breaker is open; classify
// turns it into kv.ErrUnavailable like any failure to reach Redis.
var errBreakerOpen = errors.New("redis did not answer a moment ago; not trying again yet")

// breaker is a go-redis hook that, once a command fails to reach Redis,
// fails every command at once instead of letting each request wait out
// the timeouts. It stays open for breakerPause after the last failure,
// and while it is open a background probe PINGs Redis every probeEvery:
// each failed PING extends the pause, the first answer closes it.
// Callers fall back (database, local counting) as for any outage. The
// probe's and Store.Ping's PINGs are never short-circuited, so /readyz
// reports what Redis really does.
type breaker struct {
	openUntil atomic.Int64 // unix nanoseconds
	now       func() time.Time

	// ping reaches Redis through the client the hook is on; nil means no
	// probing (the breaker then simply waits out the pause).
	ping    func(ctx context.Context) error
	probing atomic.Bool
	stop    chan struct{}
	stopped sync.Once
}

func newBreaker() *breaker { return &breaker{now: time.Now, stop: make(chan struct{})} }

func (b *breaker) open() bool { return b.now().UnixNano() < b.openUntil.Load() }

// note opens the breaker when err means Redis could not be reached.
func (b *breaker) note(ctx context.Context, err error) {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, errBreakerOpen) || ctx.Err() != nil {
		return
	}
	var reply redis.Error
	if errors.As(err, &reply) {
		return // Redis answered, with an error reply
	}
	if errors.Is(err, redis.ErrClosed) {
		return // our own client is closed; nothing to probe
	}
	b.openUntil.Store(b.now().Add(breakerPause).UnixNano())
	if b.ping != nil && b.probing.CompareAndSwap(false, true) {
		go b.probe()
	}
}

// probe PINGs Redis while the breaker is open and closes it at the first
// answer. One probe runs at a time.
func (b *breaker) probe() {
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			b.probing.Store(false)
			return
		case <-t.C:
		}
		if !b.open() {
			b.probing.Store(false)
			// A failure between the check and the store found probing
			// still set and started no probe; take over its breaker.
			if !b.open() || !b.probing.CompareAndSwap(false, true) {
				return
			}
			continue
		}
		ctx, cancel := context.WithTimeout(withPass(context.Background()), probeTimeout)
		err := b.ping(ctx)
		cancel()
		var reply redis.Error
		switch {
		case errors.Is(err, redis.ErrClosed):
			b.probing.Store(false)
			return
		case err == nil || errors.As(err, &reply):
			b.openUntil.Store(0) // Redis answered
		default:
			b.openUntil.Store(b.now().Add(breakerPause).UnixNano())
		}
	}
}

// passBreaker marks a context whose commands the open breaker lets
// through: PINGs that find out whether Redis answers. The mark is on the
// context, not the command, because a PING on a new connection first runs
// the connection's own set-up commands (HELLO, CLIENT SETINFO) through
// these hooks.
type passBreaker struct{}

func withPass(ctx context.Context) context.Context {
	return context.WithValue(ctx, passBreaker{}, true)
}

func passes(ctx context.Context) bool { return ctx.Value(passBreaker{}) != nil }

// close stops the probe; the client is being closed.
func (b *breaker) close() { b.stopped.Do(func() { close(b.stop) }) }

func (b *breaker) DialHook(next redis.DialHook) redis.DialHook { return next }

func (b *breaker) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if b.open() && !passes(ctx) {
			cmd.SetErr(errBreakerOpen)
			return errBreakerOpen
		}
		err := next(ctx, cmd)
		b.note(ctx, err)
		return err
	}
}

func (b *breaker) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if b.open() && !passes(ctx) {
			for _, c := range cmds {
				c.SetErr(errBreakerOpen)
			}
			return errBreakerOpen
		}
		err := next(ctx, cmds)
		b.note(ctx, err)
		return err
	}
}
