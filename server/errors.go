package server

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/errs"
)

// statusOf is the one table from error kinds to HTTP status codes.
var statusOf = map[errs.Kind]int{
	errs.Internal:             http.StatusInternalServerError,
	errs.Invalid:              http.StatusBadRequest,
	errs.Unauthorized:         http.StatusUnauthorized,
	errs.Forbidden:            http.StatusForbidden,
	errs.NotFound:             http.StatusNotFound,
	errs.Conflict:             http.StatusConflict,
	errs.PreconditionFailed:   http.StatusPreconditionFailed,
	errs.TooLarge:             http.StatusRequestEntityTooLarge,
	errs.UnsupportedMediaType: http.StatusUnsupportedMediaType,
	errs.PreconditionRequired: http.StatusPreconditionRequired,
	errs.RateLimited:          http.StatusTooManyRequests,
	errs.Unavailable:          http.StatusServiceUnavailable,
}

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error     ErrorDetail `json:"error"`
	RequestID string      `json:"requestId,omitempty"`
}

// ErrorDetail names what went wrong.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// handleError is Echo's HTTPErrorHandler: it turns any error a handler
// returns into a status and a JSON body, logging internal errors in full
// and showing clients only safe messages.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, code, msg := http.StatusInternalServerError, "internal", "internal error"
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		status = he.Code
		code = http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok {
			msg = m
		} else {
			msg = http.StatusText(he.Code)
		}
		if he.Code == http.StatusRequestEntityTooLarge {
			code, msg = errs.TooLarge.String(), "request body is larger than allowed"
		}
	default:
		kind := errs.KindOf(err)
		if kind == errs.Internal && s.deps.BackendDown != nil && s.deps.BackendDown(err) {
			// The database is down or restarting: nothing was stored and
			// a retry may work, so say so (503 with Retry-After below).
			kind = errs.Unavailable
			status, code, msg = statusOf[kind], kind.String(), "the database is unavailable; try again shortly"
			break
		}
		status, code, msg = statusOf[kind], kind.String(), errs.MessageOf(err)
		if own := errs.CodeOf(err); own != "" && kind != errs.Internal {
			code = own
		}
	}
	rid := c.Response().Header().Get(echo.HeaderXRequestID)
	if status >= 500 {
		s.log.ErrorContext(c.Request().Context(), "request failed", "request_id", rid, "method", c.Request().Method,
			"path", c.Request().URL.Path, "status", status, "err", err)
	}
	if status == http.StatusServiceUnavailable && c.Response().Header().Get("Retry-After") == "" {
		c.Response().Header().Set("Retry-After", "5")
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, ErrorBody{Error: ErrorDetail{Code: code, Message: msg}, RequestID: rid})
}
