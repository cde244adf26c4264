package server

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
)

// CodePasswordChangeRequired is the JSON error code of a cookie-signed-in
// API request by an account that must change its (one-time) password
// first.
const CodePasswordChangeRequired = "password_change_required"

// passwordChangeExempt are the API routes an account that must change its
// password may still use: changing it, and signing out.
var passwordChangeExempt = map[string]bool{
	http.MethodPost + " /api/v1/me/password": true,
	http.MethodPost + " /api/v1/auth/logout": true,
}

// requirePasswordChanged refuses (403, CodePasswordChangeRequired) a
// cookie-authenticated JSON API request by an account whose password is a
// one-time one, as the admin pages do by sending it to the password page:
// otherwise anyone who read the one-time password could use the account
// through the API without ever choosing a password of their own. It
// costs one account read per cookie-authenticated API request.
func (s *Server) requirePasswordChanged(c echo.Context, p auth.Principal) error {
	req := c.Request()
	if p.Kind != auth.KindUser || !strings.HasPrefix(req.URL.Path, "/api/") || passwordChangeExempt[req.Method+" "+req.URL.Path] {
		return nil
	}
	u, err := s.deps.Auth.Store().UserByID(req.Context(), p.Subject)
	if err != nil || !u.MustChange {
		return nil // a missing account is the route's to report
	}
	return errs.Coded(errs.Forbidden, CodePasswordChangeRequired,
		"this account signed in with a one-time password: change it first (POST /api/v1/me/password with current and new), or sign out")
}
