// Package ratelimit limits how often something may happen per key (sign-in
// attempts per account and per address, token requests per credential)
// with fixed windows counted in a kv.Store, so that replicas sharing Redis
// share the limit.
//
// Windows are aligned to the clock (a one-minute window runs from :00 to
// :00), so every replica computes the same window without coordination. As
// with any fixed window, a client can get up to twice the limit across a
// window boundary; limits should be set with that in mind.
//
// When the store is unavailable the limiter does not simply give up: by
// default it counts in process instead, so Redis being down turns a shared
// limit into a per-replica one rather than no limit at all. FailOpen
// chooses to allow everything instead, for limits that only protect
// capacity.
package ratelimit

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/kv"
)

// keyPrefix puts the limiter's counters in their own part of the store.
const keyPrefix = "ratelimit:"

// Limiter counts events per key and window. It is safe for concurrent use.
type Limiter struct {
	store    kv.Store
	failOpen bool
	log      *slog.Logger
	now      func() time.Time

	local localCounts

	warnMu   sync.Mutex
	lastWarn time.Time
}

// Option configures a Limiter.
type Option func(*Limiter)

// FailOpen makes the limiter allow every event while the store is
// unavailable, instead of limiting per replica. Use it only for limits
// whose loss is harmless; never for sign-in.
func FailOpen() Option { return func(l *Limiter) { l.failOpen = true } }

// WithLogger makes the limiter log (at most once a minute) when it falls
// back because the store is unavailable.
func WithLogger(log *slog.Logger) Option { return func(l *Limiter) { l.log = log } }

// New returns a limiter counting in store. A nil store counts in process
// only, for a single server with no shared store.
func New(store kv.Store, opts ...Option) *Limiter {
	l := &Limiter{store: store, now: time.Now, local: localCounts{m: make(map[string]localCount)}}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Allow counts one event for key and reports whether it is within limit
// events per window. When it is not, retryAfter is the time until the
// window ends (for a Retry-After header). key should name what is limited,
// e.g. "login:account:42". Invalid arguments get an errs.Invalid error; the
// caller's cancelled context gets its error and no decision.
func (l *Limiter) Allow(ctx context.Context, key string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error) {
	switch {
	case key == "":
		return false, 0, errs.E(errs.Invalid, "rate limit key is empty")
	case limit < 1:
		return false, 0, errs.E(errs.Invalid, "rate limit %d for %q: must be at least 1", limit, key)
	case window < time.Millisecond:
		return false, 0, errs.E(errs.Invalid, "rate limit window %v for %q: must be at least 1ms", window, key)
	}
	if err := ctx.Err(); err != nil {
		return false, 0, err
	}
	now := l.now()
	idx := now.UnixNano() / int64(window)
	end := time.Unix(0, (idx+1)*int64(window))
	// The window length is part of the counter's name, so one key limited
	// over two windows (5 a minute and 20 an hour) keeps two counts.
	counter := keyPrefix + key + ":" + strconv.FormatInt(window.Milliseconds(), 10) + ":" + strconv.FormatInt(idx, 10)

	var n int64
	if l.store == nil {
		n = l.local.incr(counter, now, end)
	} else {
		// The counter need only outlive its window.
		n, err = l.store.Incr(ctx, counter, window)
		if err != nil {
			if !errors.Is(err, kv.ErrUnavailable) {
				return false, 0, err
			}
			l.warn(err)
			if l.failOpen {
				return true, 0, nil
			}
			n = l.local.incr(counter, now, end)
		}
	}
	if n > int64(limit) {
		return false, end.Sub(now), nil
	}
	return true, 0, nil
}

func (l *Limiter) warn(err error) {
	if l.log == nil {
		return
	}
	l.warnMu.Lock()
	defer l.warnMu.Unlock()
	if now := time.Now(); now.Sub(l.lastWarn) >= time.Minute {
		l.lastWarn = now
		l.log.Warn("rate limit store unavailable; limiting per replica", "fail_open", l.failOpen, "err", err)
	}
}

// localCounts is the in-process fallback: fixed-window counters that are
// pruned once expired.
type localCounts struct {
	mu      sync.Mutex
	m       map[string]localCount
	pruneAt int // prune when the map grows past this size
}

type localCount struct {
	n   int64
	end time.Time
}

// pruneMin is the map size below which expired counters are left alone:
// pruning a small map is not worth the scan.
const pruneMin = 1024

func (c *localCounts) incr(counter string, now, end time.Time) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= max(c.pruneAt, pruneMin) {
		for k, v := range c.m {
			if !now.Before(v.end) {
				delete(c.m, k)
			}
		}
		// Next prune once the live set has doubled, so the scans cost
		// O(1) per call on average.
		c.pruneAt = 2 * len(c.m)
	}
	v := c.m[counter]
	v.n++
	v.end = end
	c.m[counter] = v
	return v.n
}

// size returns the number of local counters held, for tests.
func (c *localCounts) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
