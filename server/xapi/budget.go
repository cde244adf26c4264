package xapi

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/errs"
)

// A statement decoded for validation takes many times its JSON in memory
// (every object a Go map), and the ratio is the sender's to choose: a body
// of tiny objects, {"a":1} repeated, takes about 45 bytes per byte. So the
// memory of requests is bounded by what their bodies will cost, estimated
// before they are parsed, not by their number: largeBodies makes every
// request with a body over SmallBody wait for a share of MemoryBudget and
// hold it until it is answered.

// Per-item costs of a decoded JSON tree on 64-bit Go, rounded up from
// measurement: an object is a map (a group of 8 slots and its header) with
// its keys, an array a slice of interfaces, every other value an interface
// with its data.
const (
	costObject = 384
	costArray  = 96
	costValue  = 48
)

// estimateTree returns an upper estimate of the memory a JSON statements
// body takes while it is handled, by counting its structure outside
// strings in one pass: the body, the strings decoded from it, the records
// built for the store and the database driver's copy (each about the
// body's size), and the decoded tree's structure.
func estimateTree(b []byte) int64 {
	var objects, arrays, values int64
	in, esc := false, false
	for _, c := range b {
		if in {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				in = false
			}
			continue
		}
		switch c {
		case '"':
			in = true
		case '{':
			objects++
		case '[':
			arrays++
		case ',', ':':
			values++
		}
	}
	return 4*int64(len(b)) + objects*costObject + arrays*costArray + values*costValue
}

type bodyKey struct{}

// largeBodies gives a request with a large body its share of the memory
// budget before the handler sees it. A JSON body is read first (it is held
// once, and the handler gets the same bytes) so that its share is its
// estimated decoded size; another body (attachments, binary documents) is
// held about three times over while it is read, checked and stored, so
// its share is three times its length, taken before it is read. A body of
// unknown length takes the whole budget.
func (h *Handler) largeBodies(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Body == nil || r.Body == http.NoBody || (r.ContentLength >= 0 && r.ContentLength <= SmallBody) {
			return next(c)
		}
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		share := h.budgetSize
		if r.ContentLength >= 0 {
			share = r.ContentLength
			if ct != "application/json" {
				share *= 3
			}
		}
		if share > h.budgetSize {
			return errs.E(errs.TooLarge, "a body of %d bytes would take about %d MiB to handle, more than the %d MiB one request may use", r.ContentLength, share>>20, h.budgetSize>>20)
		}
		release, err := h.acquire(r.Context(), share)
		if err != nil {
			return err
		}
		defer func() { release() }()
		if ct != "application/json" {
			return next(c)
		}
		limit := h.maxBytes
		if strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/statements") {
			limit = h.maxJSON
		}
		body, err := readBody(r, limit, "request body")
		if err != nil {
			return err
		}
		if need := estimateTree(body); need > share {
			if need > h.budgetSize {
				return errs.E(errs.TooLarge, "this body of %d bytes would take about %d MiB of memory to parse, more than the %d MiB one request may use; send fewer or simpler statements", len(body), need>>20, h.budgetSize>>20)
			}
			// Queue again for the larger share rather than wait for more
			// while holding some: two requests doing that could wait on
			// each other forever.
			release()
			if release, err = h.acquire(r.Context(), need); err != nil {
				release = func() {}
				return err
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), bodyKey{}, body)))
		return next(c)
	}
}

// acquire waits up to 30 seconds for share bytes of the budget.
func (h *Handler) acquire(ctx context.Context, share int64) (func(), error) {
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := h.budget.Acquire(wctx, share); err != nil {
		if ctx.Err() != nil {
			return nil, errs.Wrap(errs.Unavailable, ctx.Err(), "request abandoned while waiting")
		}
		return nil, errs.E(errs.Unavailable, "the LRS is busy with other large requests; try again shortly")
	}
	return func() { h.budget.Release(share) }, nil
}

// ReadBody returns a request's body of at most limit bytes: the bytes
// largeBodies already read, or else read into one buffer sized from
// Content-Length when the client gave it, so a body is held once rather
// than in the doubling buffers of io.ReadAll. what names the body in the
// 413 answer.
func ReadBody(r *http.Request, limit int64, what string) ([]byte, error) {
	return readBody(r, limit, what)
}

func readBody(r *http.Request, limit int64, what string) ([]byte, error) {
	tooLarge := func() error {
		return errs.E(errs.TooLarge, "%s is larger than %d bytes, the limit of one request", what, limit)
	}
	if b, ok := r.Context().Value(bodyKey{}).([]byte); ok {
		if int64(len(b)) > limit {
			return nil, tooLarge()
		}
		return b, nil
	}
	if r.ContentLength > limit {
		return nil, tooLarge()
	}
	if r.ContentLength >= 0 {
		buf := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			return nil, readErr(err)
		}
		return buf, nil
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1)); err != nil {
		return nil, readErr(err)
	}
	if int64(buf.Len()) > limit {
		return nil, tooLarge()
	}
	return buf.Bytes(), nil
}
