// Package blob stores immutable files (package contents, statement
// attachments, exports) behind one small interface, with a local-directory
// implementation for the embedded default and an S3 implementation
// (MinIO, AWS S3 and compatibles, through minio-go) for production.
package blob

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned when a key has no object.
var ErrNotFound = errors.New("blob: not found")

// ErrUnavailable wraps failures to reach the backing store, so callers can
// answer 503 with Retry-After rather than 500.
var ErrUnavailable = errors.New("blob: store unavailable")

// Info describes a stored object.
type Info struct {
	Key         string
	Size        int64
	ContentType string
	ModTime     time.Time
	// ETag is a strong validator for the object's bytes.
	ETag string
}

// Object is an open object: seekable so HTTP Range requests stream from
// the store without buffering the whole file.
type Object interface {
	io.ReadSeekCloser
	Info() Info
}

// Store is a flat key space of immutable objects. Keys use "/" separators
// and never start with "/" or contain "..".
type Store interface {
	// Put stores r under key. size is the exact length, or -1 if unknown.
	// A failed Put leaves no object behind.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Open returns the object for reading; ErrNotFound if absent.
	Open(ctx context.Context, key string) (Object, error)
	// Stat returns an object's Info; ErrNotFound if absent.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes key; deleting an absent key is not an error.
	Delete(ctx context.Context, key string) error
	// List calls fn for every key with the given prefix, in key order.
	List(ctx context.Context, prefix string, fn func(Info) error) error
	// Ping checks the store is reachable (for /readyz).
	Ping(ctx context.Context) error
}
