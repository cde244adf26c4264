package ratelimit

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/reach-london/reach/internal/kv"
)

// Backoff slows down repeated failures of one key (sign-in failures of one
// account from one address): the first Free failures cost nothing, then
// each failure makes the key wait Base, 2×Base, 4×Base… up to Max before
// its next try. A success (Reset) forgets them. Unlike a fixed lock on
// the account, it cannot be used to shut the owner out from elsewhere:
// keys name the address too. The counts live in the kv.Store, so replicas
// sharing Redis share them; while the store is unavailable they are kept
// in process (per replica) rather than dropped.
type Backoff struct {
	store  kv.Store
	free   int64
	base   time.Duration
	max    time.Duration
	memory time.Duration
	now    func() time.Time

	mu    sync.Mutex
	local map[string]localBackoff
}

type localBackoff struct {
	n      int64
	until  time.Time
	forget time.Time
}

// BackoffOptions sets a Backoff's free failures, first and longest wait,
// and how long a run of failures is remembered.
type BackoffOptions struct {
	Free   int
	Base   time.Duration
	Max    time.Duration
	Memory time.Duration
}

// NewBackoff returns a Backoff counting in store (nil: in process only).
func NewBackoff(store kv.Store, o BackoffOptions) *Backoff {
	if o.Base <= 0 {
		o.Base = time.Second
	}
	if o.Max < o.Base {
		o.Max = o.Base
	}
	if o.Memory < o.Max {
		o.Memory = o.Max
	}
	return &Backoff{store: store, free: int64(o.Free), base: o.Base, max: o.Max, memory: o.Memory, now: time.Now,
		local: map[string]localBackoff{}}
}

const backoffPrefix = "backoff:"

// Wait returns how long key must wait before its next try (0: it may try
// now).
func (b *Backoff) Wait(ctx context.Context, key string) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now := b.now()
	if b.store != nil {
		v, err := b.store.Get(ctx, backoffPrefix+"until:"+key)
		switch {
		case errors.Is(err, kv.ErrNotFound):
			return 0, nil
		case err == nil:
			ns, perr := strconv.ParseInt(string(v), 10, 64)
			if perr != nil {
				return 0, nil
			}
			return max(0, time.Unix(0, ns).Sub(now)), nil
		case !errors.Is(err, kv.ErrUnavailable):
			return 0, err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(0, b.local[key].until.Sub(now)), nil
}

// Fail records a failure of key and returns how long it must now wait.
func (b *Backoff) Fail(ctx context.Context, key string) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now := b.now()
	if b.store != nil {
		n, err := b.store.Incr(ctx, backoffPrefix+"n:"+key, b.memory)
		if err == nil {
			d := b.delay(n)
			if d > 0 {
				until := strconv.FormatInt(now.Add(d).UnixNano(), 10)
				if err := b.store.Set(ctx, backoffPrefix+"until:"+key, []byte(until), d); err != nil && !errors.Is(err, kv.ErrUnavailable) {
					return 0, err
				}
			}
			return d, nil
		}
		if !errors.Is(err, kv.ErrUnavailable) {
			return 0, err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.local) > 4096 {
		for k, v := range b.local {
			if now.After(v.forget) {
				delete(b.local, k)
			}
		}
	}
	v := b.local[key]
	if now.After(v.forget) {
		v = localBackoff{}
	}
	v.n++
	v.forget = now.Add(b.memory)
	d := b.delay(v.n)
	v.until = now.Add(d)
	b.local[key] = v
	return d, nil
}

// Reset forgets key's failures, after a success.
func (b *Backoff) Reset(ctx context.Context, key string) error {
	b.mu.Lock()
	delete(b.local, key)
	b.mu.Unlock()
	if b.store == nil {
		return nil
	}
	err := b.store.Delete(ctx, backoffPrefix+"n:"+key, backoffPrefix+"until:"+key)
	if errors.Is(err, kv.ErrUnavailable) {
		return nil
	}
	return err
}

// delay is the wait after the nth failure.
func (b *Backoff) delay(n int64) time.Duration {
	over := n - b.free
	if over <= 0 {
		return 0
	}
	d := b.base
	for i := int64(1); i < over; i++ {
		d *= 2
		if d >= b.max {
			return b.max
		}
	}
	return min(d, b.max)
}
