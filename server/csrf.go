package server

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/csrf"
	"github.com/reach-london/reach/internal/errs"
)

// Cross-site request forgery defences of the app origin (docs/adr/0001,
// docs/operations/security.md "Cross-origin requests"):
//
//   - originGuard refuses every state-changing request a browser sent from
//     another origin, same-site or not (Sec-Fetch-Site, else Origin);
//   - the JSON API takes unsafe methods only as application/json (or an
//     upload's own type), which no cross-origin page can send without a
//     CORS preflight that the API never grants;
//   - cookie-authenticated requests carry a token bound to the session:
//     the JSON API in the X-CSRF-Token header only, forms in _csrf;
//   - cookies are __Host- prefixed, HttpOnly and SameSite.

const (
	csrfHeader = "X-CSRF-Token"
	csrfField  = "_csrf"
)

// sessionCookie and csrfCookie are the cookie names of this server's
// configuration (internal/csrf).
func (s *Server) sessionCookie() string { return csrf.SessionCookie(s.cfg.SecureCookies()) }
func (s *Server) csrfCookie() string    { return csrf.AnonCookie(s.cfg.SecureCookies()) }

// csrfToken is the token the request's forms and API calls must carry:
// bound to the session cookie when signed in by cookie, else to the
// anonymous CSRF cookie; "" when the request has neither.
func (s *Server) csrfToken(c echo.Context) string {
	if src, _ := c.Get("authSource").(authSource); src == sourceCookie {
		if ck, err := c.Request().Cookie(s.sessionCookie()); err == nil && ck.Value != "" {
			return csrf.Token(ck.Value)
		}
	}
	if ck, err := c.Request().Cookie(s.csrfCookie()); err == nil && ck.Value != "" {
		return csrf.Token(ck.Value)
	}
	return ""
}

// ensureAnonCSRF gives a visitor who is not signed in an anonymous CSRF
// cookie, so forms shown before sign-in carry a token too, and returns
// the request's token.
func (s *Server) ensureAnonCSRF(c echo.Context) string {
	if v := s.csrfToken(c); v != "" {
		return v
	}
	v := auth.RandomToken(24)
	c.SetCookie(s.cookie(s.csrfCookie(), v, time.Now().Add(2*time.Hour), http.SameSiteStrictMode))
	return csrf.Token(v)
}

// cookie builds one of Reach's cookies: host-only (no Domain), Path=/,
// HttpOnly (no script of Reach's reads them), Secure whenever browsers
// keep Secure cookies for the app origin (the __Host- prefix needs it).
func (s *Server) cookie(name, value string, expires time.Time, same http.SameSite) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", Expires: expires, HttpOnly: true,
		Secure: s.cfg.SecureCookies(), SameSite: same}
}

func tokenMatches(want, sent string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(sent)) == 1
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// crossOriginRoutes are the app-origin paths built for other origins.
// None of them reads a cookie: each authenticates by what the request
// carries (an Authorization header, a launch token in the body, a one-time
// code in the path), so a cross-origin request can do nothing with them
// that its sender could not do directly.
var crossOriginRoutes = []string{"/xapi/", "/oauth/token", "/api/v1/scorm/", "/launch/fetch/"}

// originGuard refuses a state-changing request that a browser sent from
// any origin but the app's own: it reads Sec-Fetch-Site, which browsers
// set and scripts cannot, and, from browsers that do not send it, Origin.
// A request with neither is not from a modern browser; the CSRF token
// still protects cookie sessions from it. Requests with explicit
// credentials and no session cookie, and the routes built for other
// origins, are not exposed to forgery and pass.
func (s *Server) originGuard(next echo.HandlerFunc) echo.HandlerFunc {
	self := originOf(s.cfg.PublicURL)
	return func(c echo.Context) error {
		r := c.Request()
		if safeMethod(r.Method) {
			return next(c)
		}
		for _, p := range crossOriginRoutes {
			if strings.HasPrefix(r.URL.Path, p) || r.URL.Path+"/" == p {
				return next(c)
			}
		}
		if s.explicitCredentials(r) {
			return next(c)
		}
		switch site := r.Header.Get("Sec-Fetch-Site"); site {
		case "same-origin":
			return next(c)
		case "":
		default:
			return errs.E(errs.Forbidden, "cross-origin request refused: %s %s came from a %s page (Sec-Fetch-Site: %s); Reach accepts state-changing requests only from its own pages at %s",
				r.Method, r.URL.Path, siteWord(site), site, self)
		}
		switch o := r.Header.Get("Origin"); o {
		case "", self:
			return next(c)
		default:
			return errs.E(errs.Forbidden, "cross-origin request refused: %s %s came from %s (Origin); Reach accepts state-changing requests only from its own pages at %s",
				r.Method, r.URL.Path, o, self)
		}
	}
}

func siteWord(site string) string {
	switch site {
	case "same-site":
		return "same-site (but other-origin)"
	case "none":
		return "user-initiated"
	}
	return site
}

// explicitCredentials reports whether the request authenticates with
// credentials it carries itself rather than ambient cookies: a Bearer
// token (authenticate then never reads the cookie), or any Authorization
// without a session cookie. Browsers add neither to a cross-origin request
// on their own.
func (s *Server) explicitCredentials(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if strings.HasPrefix(h, "Bearer ") {
		return true
	}
	if h == "" {
		return false
	}
	_, err := r.Cookie(s.sessionCookie())
	return errors.Is(err, http.ErrNoCookie)
}

// jsonTypes and uploadTypes are the body types the JSON API accepts on
// unsafe methods; uploads also take the zip itself or a multipart form.
var (
	jsonTypes   = []string{"application/json"}
	uploadTypes = []string{"application/json", "multipart/form-data", "application/zip", "application/x-zip-compressed", "application/octet-stream"}
)

// csrf guards the JSON API's routes: unsafe methods must send a JSON body
// (or none), and cookie-authenticated ones the session's CSRF token in
// the X-CSRF-Token header (never a query or form field, which a
// cross-origin form could fill in). Bearer clients are not exposed to
// CSRF: browsers never attach the header on their own.
func (s *Server) csrf(next echo.HandlerFunc) echo.HandlerFunc { return s.apiGuard(jsonTypes)(next) }

// csrfUpload is csrf for the upload routes, which also take zips.
func (s *Server) csrfUpload(next echo.HandlerFunc) echo.HandlerFunc {
	return s.apiGuard(uploadTypes)(next)
}

func (s *Server) apiGuard(types []string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if safeMethod(r.Method) {
				return next(c)
			}
			if err := checkBodyType(r, types); err != nil {
				return err
			}
			if src, _ := c.Get("authSource").(authSource); src != sourceCookie {
				return next(c)
			}
			if !tokenMatches(s.csrfToken(c), r.Header.Get(csrfHeader)) {
				return errs.E(errs.Forbidden, "missing or wrong CSRF token: a request signed in by cookie must send the csrfToken of the sign-in answer in the %s header", csrfHeader)
			}
			return next(c)
		}
	}
}

// checkBodyType answers 415 unless the body is one of types, or there is
// no body and no type.
func checkBodyType(r *http.Request, types []string) error {
	raw := r.Header.Get("Content-Type")
	if raw == "" && r.ContentLength == 0 {
		return nil
	}
	mt, _, err := mime.ParseMediaType(raw)
	if err == nil {
		for _, t := range types {
			if mt == t {
				return nil
			}
		}
	}
	if raw == "" {
		raw = "none"
	}
	return errs.E(errs.UnsupportedMediaType, "Content-Type %s is not accepted here: send %s", raw, strings.Join(types, " or "))
}

// formCSRF guards the HTML forms of the admin UI and the portal: a
// cookie-authenticated unsafe request must carry the session's token in
// the _csrf field. Anonymous forms (sign-in, sign-up) rely on originGuard;
// the admin sign-in form checks its anonymous token itself.
func (s *Server) formCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if safeMethod(c.Request().Method) {
			return next(c)
		}
		if src, _ := c.Get("authSource").(authSource); src != sourceCookie {
			return next(c)
		}
		if !tokenMatches(s.csrfToken(c), c.FormValue(csrfField)) {
			return errs.E(errs.Forbidden, "missing or wrong CSRF token: this form has expired; go back, reload the page and try again")
		}
		return next(c)
	}
}

// strictJSON is the app origin's JSON serializer: it rejects fields the
// target does not have, so a misspelt or invented field is a 400 naming it
// rather than silently ignored, and trailing data after the value.
type strictJSON struct{ echo.DefaultJSONSerializer }

func (strictJSON) Deserialize(c echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if dec.More() {
		return errs.E(errs.Invalid, "the body has data after its JSON value")
	}
	return nil
}

// bodyError names what is wrong with a JSON body.
func bodyError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return errs.E(errs.TooLarge, "request body is larger than allowed")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return errs.E(errs.Invalid, "the body has an unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	case errors.As(err, &te):
		return errs.E(errs.Invalid, "field %q must be %s, not %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
	case errors.As(err, &se):
		return errs.E(errs.Invalid, "the body is not valid JSON (at byte %d)", se.Offset)
	}
	return errs.E(errs.Invalid, "the body is not a JSON object: %v", err)
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "true or false"
	}
	return "a number"
}

// bindJSON decodes the request's JSON body into v with the strict
// serializer. A body with an unknown field or of the wrong type is an
// error naming it, followed by usage (what the body should hold).
func bindJSON(c echo.Context, v any, usage string) error {
	err := c.Bind(v)
	if err == nil {
		return nil
	}
	var he *echo.HTTPError
	if errors.As(err, &he) && he.Internal != nil {
		err = he.Internal
	}
	switch errs.KindOf(err) {
	case errs.TooLarge:
		return err
	case errs.Invalid:
		return errs.E(errs.Invalid, "%s; %s", errs.MessageOf(err), usage)
	}
	return errs.E(errs.Invalid, "%s", usage)
}
