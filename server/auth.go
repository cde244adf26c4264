package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/csrf"
	"github.com/reach-london/reach/internal/errs"
)

type authSource int

const (
	sourceNone authSource = iota
	sourceCookie
	sourceBearer
)

// authenticate reads a bearer token or the session cookie, if any, and
// puts the principal in the request context. Routes decide whether one is
// required.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		token, src := "", sourceNone
		if h := req.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
			token, src = strings.TrimSpace(strings.TrimPrefix(h, "Bearer ")), sourceBearer
		} else if ck, err := req.Cookie(s.sessionCookie()); err == nil && ck.Value != "" {
			token, src = ck.Value, sourceCookie
		}
		if token == "" {
			return next(c)
		}
		p, err := s.deps.Auth.AuthenticateToken(req.Context(), token)
		if err != nil {
			// A stale token must not block public routes such as sign-in;
			// routes that need a principal report this error instead.
			if src == sourceCookie {
				s.clearSessionCookies(c)
			}
			c.Set("authError", err)
			return next(c)
		}
		if src == sourceCookie {
			if err := s.requirePasswordChanged(c, p); err != nil {
				return err
			}
		}
		ctx := auth.WithPrincipal(req.Context(), p)
		c.Set("authSource", src)
		c.SetRequest(req.WithContext(ctx))
		return next(c)
	}
}

// principal returns the request's principal or an Unauthorized error.
func principal(c echo.Context) (auth.Principal, error) {
	p, ok := auth.PrincipalFrom(c.Request().Context())
	if !ok {
		if err, _ := c.Get("authError").(error); err != nil {
			return auth.Principal{}, err
		}
		return auth.Principal{}, errs.E(errs.Unauthorized, "sign in first")
	}
	return p, nil
}

// requireRole returns the principal if it is a signed-in user with one of roles.
func requireRole(c echo.Context, roles ...auth.Role) (auth.Principal, error) {
	p, err := principal(c)
	if err != nil {
		return p, err
	}
	if p.Kind != auth.KindUser {
		return p, errs.E(errs.Forbidden, "this needs a signed-in account")
	}
	for _, r := range roles {
		if p.Role == r {
			return p, nil
		}
	}
	return p, errs.E(errs.Forbidden, "your account's role may not do this")
}

// setSessionCookies sets the session cookie (SameSite=Lax, so a link from
// elsewhere still arrives signed in) and returns the session's CSRF token.
// The anonymous CSRF cookie is dropped: the token is now bound to the
// session.
func (s *Server) setSessionCookies(c echo.Context, token string, expires time.Time) string {
	c.SetCookie(s.cookie(s.sessionCookie(), token, expires, http.SameSiteLaxMode))
	s.clearCookie(c, s.csrfCookie())
	return csrf.Token(token)
}

func (s *Server) clearSessionCookies(c echo.Context) {
	s.clearCookie(c, s.sessionCookie())
	s.clearCookie(c, s.csrfCookie())
}

// clearCookie expires a cookie; a __Host- cookie is only replaced by one
// with the same attributes, Secure included.
func (s *Server) clearCookie(c echo.Context, name string) {
	ck := s.cookie(name, "", time.Unix(0, 0), http.SameSiteLaxMode)
	ck.MaxAge = -1
	c.SetCookie(ck)
}

type loginRequest struct {
	Borough  string `json:"borough"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

type loginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	User      auth.User `json:"user"`
	// CSRFToken goes in the X-CSRF-Token header of unsafe requests made
	// with the session cookie this answer sets (not with the Bearer token).
	CSRFToken string `json:"csrfToken"`
}

// login signs a person in. Attempts are throttled per client address and
// per account and address (login_throttle.go) to slow password guessing.
func (s *Server) login(c echo.Context) error {
	var req loginRequest
	if err := bindJSON(c, &req, "body must be JSON with email, password and (for borough accounts) borough"); err != nil {
		return err
	}
	if req.Email == "" || req.Password == "" {
		return errs.E(errs.Invalid, "email and password are required")
	}
	ctx := c.Request().Context()
	if err := s.loginAllowed(c, req.Borough, req.Email); err != nil {
		return err
	}
	boroughID := ""
	if req.Borough != "" {
		b, err := s.deps.Auth.BoroughBySlug(ctx, req.Borough)
		if err != nil {
			err = s.deps.Auth.FailLogin(req.Password)
			s.loginDone(c, req.Borough, req.Email, err)
			return err
		}
		boroughID = b.ID
	}
	u, token, sess, err := s.deps.Auth.Login(ctx, boroughID, req.Email, req.Password)
	s.loginDone(c, req.Borough, req.Email, err)
	if err != nil {
		return err
	}
	csrf := s.setSessionCookies(c, token, sess.ExpiresAt)
	return c.JSON(http.StatusOK, loginResponse{Token: token, ExpiresAt: sess.ExpiresAt, User: u, CSRFToken: csrf})
}

// limit answers 429 with Retry-After once key has been used limit times in window.
func (s *Server) limit(c echo.Context, key string, limit int, window time.Duration) error {
	if s.deps.Limiter == nil {
		return nil
	}
	ok, retry, err := s.deps.Limiter.Allow(c.Request().Context(), key, limit, window)
	if err != nil {
		s.log.Warn("rate limiter unavailable", "err", err)
		return nil
	}
	if !ok {
		secs := int(retry.Seconds() + 0.999)
		if secs < 1 {
			secs = 1
		}
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		return errs.E(errs.RateLimited, "too many attempts; try again in %d seconds", secs)
	}
	return nil
}

func (s *Server) logout(c echo.Context) error {
	p, err := principal(c)
	if err != nil {
		return err
	}
	if p.Kind == auth.KindUser && p.SessionID != "" {
		if err := s.deps.Auth.Logout(c.Request().Context(), p.SessionID); err != nil {
			return err
		}
	}
	s.clearSessionCookies(c)
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) me(c echo.Context) error {
	p, err := requireRole(c, auth.RoleLearner, auth.RoleBoroughAdmin, auth.RolePlatformAdmin)
	if err != nil {
		return err
	}
	u, err := s.deps.Auth.Store().UserByID(c.Request().Context(), p.Subject)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

type passwordRequest struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

func (s *Server) changePassword(c echo.Context) error {
	p, err := requireRole(c, auth.RoleLearner, auth.RoleBoroughAdmin, auth.RolePlatformAdmin)
	if err != nil {
		return err
	}
	var req passwordRequest
	if err := bindJSON(c, &req, "body must be JSON with current and new"); err != nil {
		return err
	}
	if req.Current == "" || req.New == "" {
		return errs.E(errs.Invalid, "body must be JSON with current and new")
	}
	if err := s.limit(c, "password:"+p.Subject, 10, 10*time.Minute); err != nil {
		return err
	}
	if err := s.deps.Auth.ChangePassword(c.Request().Context(), p.Subject, p.SessionID, req.Current, req.New); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) routesAuth(g *echo.Group) {
	g.POST("/auth/login", s.login)
	g.POST("/auth/logout", s.logout)
	g.GET("/me", s.me)
	g.POST("/me/password", s.changePassword)
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// oauthToken is the OAuth 2.0 client-credentials grant (RFC 6749 §4.4)
// for LMSs that prefer bearer tokens to Basic auth. Errors use the OAuth
// shape, as clients of this endpoint expect.
func (s *Server) oauthToken(c echo.Context) error {
	req := c.Request()
	if err := req.ParseForm(); err != nil {
		return c.JSON(http.StatusBadRequest, oauthError{"invalid_request", "body must be application/x-www-form-urlencoded"})
	}
	if gt := req.PostForm.Get("grant_type"); gt != "client_credentials" {
		return c.JSON(http.StatusBadRequest, oauthError{"unsupported_grant_type", "only grant_type=client_credentials is supported"})
	}
	key, secret, ok := req.BasicAuth()
	if !ok {
		key, secret = req.PostForm.Get("client_id"), req.PostForm.Get("client_secret")
	}
	if err := s.limit(c, "oauth:"+c.RealIP(), 120, time.Minute); err != nil {
		return err
	}
	var requested []auth.Scope
	if sc := req.PostForm.Get("scope"); sc != "" {
		parsed, err := auth.ParseScopes(sc)
		if err != nil {
			return c.JSON(http.StatusBadRequest, oauthError{"invalid_scope", err.Error()})
		}
		requested = parsed
	}
	tok, granted, err := s.deps.Auth.IssueClientToken(req.Context(), key, secret, requested)
	switch {
	case errs.Is(err, errs.Unauthorized):
		c.Response().Header().Set("WWW-Authenticate", `Basic realm="reach"`)
		return c.JSON(http.StatusUnauthorized, oauthError{"invalid_client", errs.MessageOf(err)})
	case errs.Is(err, errs.Forbidden):
		return c.JSON(http.StatusBadRequest, oauthError{"invalid_scope", errs.MessageOf(err)})
	case err != nil:
		return err
	}
	scopes := make([]string, len(granted))
	for i, g := range granted {
		scopes[i] = string(g)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, tokenResponse{AccessToken: tok, TokenType: "Bearer",
		ExpiresIn: int(auth.ClientTokenTTL.Seconds()), Scope: strings.Join(scopes, " ")})
}
