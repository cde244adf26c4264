// Package blob stores immutable files (package contents, statement
// attachments, exports) behind one small interface, with a local-directory
// implementation for the embedded default and an S3 implementation
// (MinIO, AWS S3 and compatibles, through minio-go) for production.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/reach-london/reach/internal/errs"
)

// ErrNotFound is returned when a key has no object.
var ErrNotFound = errors.New("blob: not found")

// ErrUnavailable wraps failures to reach the backing store, so callers can
// answer 503 with Retry-After rather than 500. Implementations return it
// inside an *errs.Error of kind errs.Unavailable, so the server's error
// handler maps it without knowing about blobs.
var ErrUnavailable = errors.New("blob: store unavailable")

// ErrInvalidKey is wrapped by the errors Put and the other methods return
// for a key ValidateKey rejects (inside an *errs.Error of kind errs.Invalid).
var ErrInvalidKey = errors.New("blob: invalid key")

// MaxKeyLen is the longest key accepted, in bytes (S3's own limit).
const MaxKeyLen = 1024

// MaxSegmentLen is the longest "/"-separated key segment accepted, in bytes:
// the local store keeps each segment as a file name, and file systems stop
// at 255 bytes.
const MaxSegmentLen = 200

// MaxContentTypeLen is the longest content type accepted, in bytes.
const MaxContentTypeLen = 255

// DefaultContentType is stored when Put is given an empty content type.
const DefaultContentType = "application/octet-stream"

// ValidateKey checks key against the rules every Store enforces, so that a
// key valid on the local store is valid on S3 and the other way round: not
// empty, at most MaxKeyLen bytes of valid UTF-8 without control characters
// or backslashes, no leading or trailing "/", and no empty, "." or ".."
// segments. The error says which rule was broken.
func ValidateKey(key string) error {
	bad := func(reason string) error {
		return &errs.Error{Kind: errs.Invalid, Message: fmt.Sprintf("invalid blob key %q: %s", key, reason), Err: ErrInvalidKey}
	}
	switch {
	case key == "":
		return bad("empty")
	case len(key) > MaxKeyLen:
		return bad(fmt.Sprintf("longer than %d bytes", MaxKeyLen))
	case !utf8.ValidString(key):
		return bad("not valid UTF-8")
	case strings.HasPrefix(key, "/"):
		return bad(`starts with "/"`)
	case strings.HasSuffix(key, "/"):
		return bad(`ends with "/"`)
	case strings.Contains(key, `\`):
		return bad("contains a backslash")
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return bad("contains a control character")
		}
	}
	for _, seg := range strings.Split(key, "/") {
		switch {
		case seg == "":
			return bad(`contains an empty segment ("//")`)
		case seg == "." || seg == "..":
			return bad(fmt.Sprintf("contains a %q segment", seg))
		case len(seg) > MaxSegmentLen:
			return bad(fmt.Sprintf("has a segment longer than %d bytes", MaxSegmentLen))
		}
	}
	return nil
}

// ValidateContentType checks a content type given to Put and returns the one
// to store: DefaultContentType for "", otherwise ct itself if it parses as a
// media type of at most MaxContentTypeLen bytes.
func ValidateContentType(ct string) (string, error) {
	if ct == "" {
		return DefaultContentType, nil
	}
	if len(ct) > MaxContentTypeLen {
		return "", errs.E(errs.Invalid, "invalid content type: longer than %d bytes", MaxContentTypeLen)
	}
	for i := 0; i < len(ct); i++ {
		if ct[i] < 0x20 || ct[i] >= 0x7f {
			return "", errs.E(errs.Invalid, "invalid content type %q: only printable ASCII is allowed", ct)
		}
	}
	if _, _, err := mime.ParseMediaType(ct); err != nil {
		return "", errs.E(errs.Invalid, "invalid content type %q: %v", ct, err)
	}
	return ct, nil
}

// Info describes a stored object.
type Info struct {
	Key         string
	Size        int64
	ContentType string
	ModTime     time.Time
	// ETag is a strong validator for the object's bytes, without the
	// surrounding quotes HTTP adds; two objects with the same ETag in one
	// store have the same bytes.
	ETag string
}

// Object is an open object: seekable so HTTP Range requests stream from
// the store without buffering the whole file.
type Object interface {
	io.ReadSeekCloser
	Info() Info
}

// Store is a flat key space of immutable objects. Keys use "/" separators
// and never start with "/" or contain ".." (see ValidateKey). A Put over an
// existing key replaces the object whole: readers see the old bytes or the
// new ones, never a mix. Implementations are safe for concurrent use.
//
// A key must not also be a prefix of another key followed by "/" (objects
// "a" and "a/b" at once): MinIO, a production backend, stores and lists such
// pairs inconsistently, so callers must choose key schemes that avoid them
// (for example, content files under "packages/<id>/files/…" and the
// package's own object under "packages/<id>/package.zip"). The behaviour of
// such pairs is undefined.
type Store interface {
	// Put stores r under key. size is the exact length, or -1 if unknown;
	// a reader that yields a different length fails the Put. An empty
	// contentType stores DefaultContentType. A failed Put leaves no object
	// behind (and an overwritten object as it was).
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
