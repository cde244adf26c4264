package rediskv

import (
	"context"
	"errors"
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
// fails every command at once for breakerPause instead of letting each
// request wait out the timeouts; then the next command tries again.
// Callers fall back (database, local counting) as for any outage. PING is
// never short-circuited, so /readyz reports what Redis really does.
type breaker struct {
	openUntil atomic.Int64 // unix nanoseconds
	now       func() time.Time
}

func newBreaker() *breaker { return &breaker{now: time.Now} }

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
	b.openUntil.Store(b.now().Add(breakerPause).UnixNano())
}

func (b *breaker) DialHook(next redis.DialHook) redis.DialHook { return next }

func (b *breaker) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() != "ping" && b.open() {
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
		if b.open() {
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
