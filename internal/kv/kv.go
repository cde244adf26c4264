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
)

// ErrNotFound is returned when a key is absent or expired.
var ErrNotFound = errors.New("kv: not found")

// ErrUnavailable wraps failures to reach the backing store.
var ErrUnavailable = errors.New("kv: store unavailable")

// Store is a key-value store with expiry and pub/sub. A ttl of 0 means no
// expiry.
type Store interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// SetNX sets key only if it is absent and reports whether it did.
	SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Take atomically reads and deletes key, so exactly one caller gets a
	// one-time value; the others get ErrNotFound.
	Take(ctx context.Context, key string) ([]byte, error)
	Delete(ctx context.Context, keys ...string) error
	// Incr adds one to the counter at key and returns the new value; the
	// first increment starts the ttl (fixed-window rate limits).
	Incr(ctx context.Context, key string, ttl time.Duration) (int64, error)
	// Publish sends msg to every current subscriber of channel.
	Publish(ctx context.Context, channel string, msg []byte) error
	// Subscribe delivers messages published on channel until ctx ends.
	Subscribe(ctx context.Context, channel string) (<-chan []byte, error)
	Ping(ctx context.Context) error
	Close() error
}
