// Package kv gives Reach's short-lived shared state one interface: caches,
// one-time tokens, counters for rate limits, revocation lists and pub/sub
// for live updates and cache invalidation. The in-process implementation
// serves a single server; the Redis implementation lets replicas share it.
//
// Nothing durable lives here: losing every key costs speed, never data.
package kv

import (
	"context"
	"errors"
	"time"

	"github.com/reach-london/reach/internal/errs"
)

// ErrNotFound is returned when a key is absent or expired.
var ErrNotFound = errors.New("kv: not found")

// ErrUnavailable wraps failures to reach the backing store (and use of a
// closed store). Implementations return it inside an *errs.Error of kind
// errs.Unavailable, so the server answers 503 without knowing about kv.
var ErrUnavailable = errors.New("kv: store unavailable")

// ValidateTTL checks a ttl given to Set, SetNX or Incr: it must be 0 (no
// expiry) or at least a millisecond, Redis's resolution, below which a ttl
// would silently become "never expires".
func ValidateTTL(ttl time.Duration) error {
	if ttl < 0 {
		return errs.E(errs.Invalid, "negative ttl %v", ttl)
	}
	if ttl > 0 && ttl < time.Millisecond {
		return errs.E(errs.Invalid, "ttl %v is below the 1ms resolution", ttl)
	}
	return nil
}

// Store is a key-value store with expiry and pub/sub. A ttl of 0 means no
// expiry; see ValidateTTL. Values returned are the caller's to keep and
// modify. Implementations are safe for concurrent use.
type Store interface {
	// Get returns key's value; ErrNotFound if absent or expired.
	Get(ctx context.Context, key string) ([]byte, error)
	// Set stores value under key, replacing any value and expiry.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// SetNX sets key only if it is absent and reports whether it did.
	SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Take atomically reads and deletes key, so exactly one caller gets a
	// one-time value; the others get ErrNotFound.
	Take(ctx context.Context, key string) ([]byte, error)
	// Delete removes keys; absent keys are not an error.
	Delete(ctx context.Context, keys ...string) error
	// Incr adds one to the counter at key and returns the new value; the
	// first increment starts the ttl (fixed-window rate limits) and later
	// ones leave it alone. Counters are decimal text, so Get reads them;
	// incrementing a value that is not an integer is an error.
	Incr(ctx context.Context, key string, ttl time.Duration) (int64, error)
	// Publish sends msg to every current subscriber of channel, on every
	// replica sharing the store. Delivery is best effort and never waits for
	// a slow subscriber: one that falls too far behind misses messages, so
	// use pub/sub for hints (invalidate, refresh), not for data.
	Publish(ctx context.Context, channel string, msg []byte) error
	// Subscribe delivers messages published on channel until ctx ends, then
	// closes the returned channel (it is also closed by Close). The
	// subscription is in place when Subscribe returns.
	Subscribe(ctx context.Context, channel string) (<-chan []byte, error)
	// Ping checks the store is reachable (for /readyz).
	Ping(ctx context.Context) error
	// Close releases the store; later calls fail with ErrUnavailable.
	Close() error
}
