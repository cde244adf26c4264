// Package errs is the one error type the domain packages (lrs, content,
// auth) return. Each error has a Kind; the server maps kinds to HTTP status
// codes in exactly one place, and only Message ever reaches a client.
package errs

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error by what the caller should do about it.
type Kind int

// The kinds, each mapped to one HTTP status by the server.
const (
	Internal             Kind = iota // 500: a bug or an unexpected failure; details are logged, not shown
	Invalid                          // 400: the request is malformed or breaks a rule
	Unauthorized                     // 401: no or bad credentials
	Forbidden                        // 403: credentials lack the right
	NotFound                         // 404
	Conflict                         // 409: clashes with stored state
	PreconditionFailed               // 412: If-Match / If-None-Match did not hold
	TooLarge                         // 413
	UnsupportedMediaType             // 415
	PreconditionRequired             // 428: a concurrency header is required
	RateLimited                      // 429
	Unavailable                      // 503: a backend is down; try again later
)

var kindNames = map[Kind]string{
	Internal: "internal", Invalid: "invalid", Unauthorized: "unauthorized", Forbidden: "forbidden",
	NotFound: "not_found", Conflict: "conflict", PreconditionFailed: "precondition_failed",
	TooLarge: "too_large", UnsupportedMediaType: "unsupported_media_type",
	PreconditionRequired: "precondition_required", RateLimited: "rate_limited", Unavailable: "unavailable",
}

// String returns the kind's stable machine name, used as the "code" field of
// JSON error bodies.
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "internal"
}

// Error is a classified error. Message is safe to show to a client; Err, if
// set, is the underlying cause and is only logged.
type Error struct {
	Kind    Kind
	Message string
	Err     error
	// Code, if set, replaces the kind's name as the "code" of JSON error
	// bodies, for the few errors a client must tell apart from others of
	// the same kind (a password that must be changed first).
	Code string
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Message
	}
	cause := e.Err.Error()
	if e.Message == "" {
		return cause
	}
	// A message that already quotes its cause (Wrap(k, err, "invalid
	// manifest: %s", err)) would otherwise print it twice.
	if strings.HasSuffix(e.Message, cause) {
		return e.Message
	}
	var inner *Error
	if errors.As(e.Err, &inner) && inner == e.Err && inner.Message != "" && strings.HasSuffix(e.Message, inner.Message) {
		return e.Message + strings.TrimPrefix(cause, inner.Message)
	}
	return e.Message + ": " + cause
}

func (e *Error) Unwrap() error { return e.Err }

// E makes an error of kind with a client-safe message.
func E(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap classifies cause under kind with a client-safe message.
func Wrap(kind Kind, cause error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...), Err: cause}
}

// KindOf returns the kind of the first *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// MessageOf returns the client-safe message of err, or a generic one for
// unclassified errors.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != Internal {
		return e.Message
	}
	return "internal error"
}

// Is reports whether err is classified as kind.
func Is(err error, kind Kind) bool { return err != nil && KindOf(err) == kind }

// Coded makes an error of kind with a client-safe message and a code of
// its own for JSON error bodies.
func Coded(kind Kind, code, format string, args ...any) error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of the first *Error in err's chain, or "" when
// it has none of its own.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
