package server

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/content/launch"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
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
