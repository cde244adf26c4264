package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/content/launch"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs"
)

// MountLaunch binds the cmi5 fetch URL on the app origin. The AU on the
// content origin (or anywhere, for externally hosted AUs) POSTs it once
// without cookies; the one-time code in the path is the credential, so
// any origin may read the answer.
func MountLaunch(svc *launch.Service) func(e *echo.Echo, s *Server) {
	return func(e *echo.Echo, s *Server) {
		e.POST("/launch/fetch/:code", func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Cache-Control", "no-store")
			tok, err := svc.Fetch(c.Request().Context(), c.Param("code"))
			var fe *launch.FetchError
			if errors.As(err, &fe) {
				// cmi5 §8.2.2: the status is 200 even for the error answer.
				return c.JSON(http.StatusOK, fe)
			}
			if err != nil {
				return err
			}
			return c.JSON(http.StatusOK, map[string]string{"auth-token": tok})
		})
		e.OPTIONS("/launch/fetch/:code", func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type")
			return c.NoContent(http.StatusNoContent)
		})
	}
}

// XAPIAuthenticator wraps the xAPI authenticator so that a launch token
// sent as HTTP Basic ("launch" and the token, base64-encoded) is accepted:
// cmi5 AUs and tincan content send the fetched token as
// "Authorization: Basic <auth-token>".
type XAPIAuthenticator struct{ Auth *auth.Service }

// AuthenticateXAPI implements xapi.Authenticator.
func (a XAPIAuthenticator) AuthenticateXAPI(r *http.Request) (auth.Principal, error) {
	if tok := basicLaunchToken(r.Header.Get("Authorization")); tok != "" {
		p, err := a.Auth.AuthenticateToken(r.Context(), tok)
		if err != nil {
			return auth.Principal{}, err
		}
		if p.Kind != auth.KindLaunch {
			return auth.Principal{}, errs.E(errs.Unauthorized, "only launch tokens may be sent as Basic %q credentials", launch.BasicUser)
		}
		return p, nil
	}
	return a.Auth.AuthenticateXAPI(r)
}

// basicLaunchToken returns the JWT of a Basic-encoded launch token, or "".
func basicLaunchToken(h string) string {
	raw, ok := strings.CutPrefix(h, "Basic ")
	if !ok {
		return ""
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(raw))
	if err != nil {
		return ""
	}
	user, tok, ok := strings.Cut(string(b), ":")
	if !ok || user != launch.BasicUser {
		return ""
	}
	return tok
}

// launchTokenOf returns the launch token a request carries, Bearer or
// Basic-encoded, or "".
func launchTokenOf(h string) string {
	if t := basicLaunchToken(h); t != "" {
		return t
	}
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}

// StatementRules is what the cmi5 guard asks of the launch room.
type StatementRules interface {
	Lock(ctx context.Context, p auth.Principal) (func(), error)
	Check(ctx context.Context, p auth.Principal, stmts []*lrs.Statement) error
	Stored(ctx context.Context, p auth.Principal, stmts []*lrs.Statement) error
}

// CMI5Guard is middleware for the /xapi group, added before the LRS's own
// middleware: statement writes made with a launch token are checked
// against the cmi5 statement rules before the LRS stores them, and the
// launch room follows them (session state, satisfied) before the answer
// reaches the AU, so the AU's next statement sees the new state. Writes
// with other credentials pass through untouched.
func CMI5Guard(a *auth.Service, rules StatementRules, maxBytes int64, log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if !strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/statements") ||
				(r.Method != http.MethodPost && r.Method != http.MethodPut) {
				return next(c)
			}
			if r.URL.Query().Has("method") {
				// The 1.0.3 alternate syntax carries the credentials in the
				// form; content given a launch token uses the plain syntax.
				if err := r.ParseForm(); err == nil && launchTokenOf(r.PostForm.Get("Authorization")) != "" {
					return withCORS(c, errs.E(errs.Invalid, "launch tokens must use the standard xAPI request syntax, not method="))
				}
				return next(c)
			}
			tok := launchTokenOf(r.Header.Get("Authorization"))
			if tok == "" {
				return next(c)
			}
			p, err := a.AuthenticateToken(r.Context(), tok)
			if err != nil || p.Kind != auth.KindLaunch {
				return next(c) // the LRS's own authentication answers
			}
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
				return withCORS(c, errs.E(errs.UnsupportedMediaType, "statements sent with a launch token must be application/json"))
			}
			body, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
			if err != nil {
				return withCORS(c, errs.Wrap(errs.Invalid, err, "could not read the request body"))
			}
			if int64(len(body)) > maxBytes {
				return withCORS(c, errs.E(errs.TooLarge, "request body is larger than allowed"))
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			ver := lrs.V103
			if strings.HasPrefix(r.Header.Get("X-Experience-API-Version"), "2.") {
				ver = lrs.V200
			}
			stmts, err := lrs.ParseStatements(body, ver)
			if err != nil {
				return next(c) // the LRS reports what is malformed
			}
			unlock, err := rules.Lock(r.Context(), p)
			if err != nil {
				return withCORS(c, err)
			}
			defer unlock()
			if err := rules.Check(r.Context(), p, stmts); err != nil {
				return withCORS(c, err)
			}
			res := c.Response()
			orig := res.Writer
			buf := &heldResponse{ResponseWriter: orig}
			res.Writer = buf
			err = next(c)
			res.Writer = orig
			if err == nil && buf.status >= 200 && buf.status < 300 {
				if ferr := rules.Stored(r.Context(), p, stmts); ferr != nil {
					// The statements are stored; the session bookkeeping can
					// be redone, so the AU still gets its answer.
					log.Error("following cmi5 statements failed", "err", ferr, "session", p.SessionID)
				}
			}
			buf.release()
			return err
		}
	}
}

// withCORS lets the AU on the content origin read an error the guard
// answers before the LRS's CORS middleware has run.
func withCORS(c echo.Context, err error) error {
	if o := c.Request().Header.Get("Origin"); o != "" {
		h := c.Response().Header()
		h.Set("Access-Control-Allow-Origin", o)
		h.Set("Access-Control-Expose-Headers", "ETag, Last-Modified, X-Experience-API-Version, X-Experience-API-Consistent-Through")
	}
	return err
}

// heldResponse holds a handler's answer until the guard has followed the
// stored statements.
type heldResponse struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (h *heldResponse) WriteHeader(code int) { h.status = code }

func (h *heldResponse) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return h.body.Write(b)
}

func (h *heldResponse) release() {
	if h.status == 0 {
		return
	}
	h.ResponseWriter.WriteHeader(h.status)
	_, _ = h.ResponseWriter.Write(h.body.Bytes())
}
