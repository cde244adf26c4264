package xapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs"
)

// Header names of the xAPI protocol.
const (
	HeaderVersion           = "X-Experience-API-Version"
	HeaderConsistentThrough = "X-Experience-API-Consistent-Through"
	HeaderHash              = "X-Experience-API-Hash"
)

type versionKey struct{}

type alternateKey struct{}

// viaAlternateSyntax reports whether the request came as xAPI 1.0.3's
// alternate request syntax (?method=).
func viaAlternateSyntax(ctx context.Context) bool {
	v, _ := ctx.Value(alternateKey{}).(bool)
	return v
}

// VersionFrom returns the xAPI version negotiated for the request
// (lrs.V103 for any 1.0.x, lrs.V200 for 2.0.x); V200 if none was.
func VersionFrom(ctx context.Context) lrs.Version {
	if v, ok := ctx.Value(versionKey{}).(lrs.Version); ok {
		return v
	}
	return lrs.V200
}

// WithVersion returns ctx carrying the negotiated version.
func WithVersion(ctx context.Context, v lrs.Version) context.Context {
	return context.WithValue(ctx, versionKey{}, v)
}

// cors lets learning content served from another origin call the LRS.
// Any origin is allowed: xAPI authenticates by header, never by cookie, so
// a page on another origin gains nothing it does not already hold.
func (h *Handler) cors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		hd := c.Response().Header()
		hd.Set("Access-Control-Allow-Origin", "*")
		hd.Set("Access-Control-Expose-Headers", "ETag, Last-Modified, Content-Type, Content-Length, Location, "+
			HeaderVersion+", "+HeaderConsistentThrough)
		if r.Method == http.MethodOptions {
			hd.Add("Vary", "Origin")
			hd.Set("Access-Control-Allow-Methods", "GET, HEAD, PUT, POST, DELETE, OPTIONS")
			allow := "Authorization, Content-Type, If-Match, If-None-Match, Accept-Language, " + HeaderVersion + ", " + HeaderHash
			if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
				allow += ", " + req
			}
			hd.Set("Access-Control-Allow-Headers", allow)
			hd.Set("Access-Control-Max-Age", "86400")
			if hd.Get(HeaderVersion) == "" {
				hd.Set(HeaderVersion, string(h.defVer))
			}
			return c.NoContent(http.StatusNoContent)
		}
		return next(c)
	}
}

// formHeaders are the form fields the alternate request syntax treats as
// headers (xAPI 1.0.3 Communication 1.3).
var formHeaders = map[string]string{
	"authorization":            "Authorization",
	"x-experience-api-version": HeaderVersion,
	"content-type":             "Content-Type",
	"content-length":           "Content-Length",
	"if-match":                 "If-Match",
	"if-none-match":            "If-None-Match",
	"accept-language":          "Accept-Language",
}

// alternateSyntax unpacks xAPI 1.0.3's alternate request syntax, a POST
// with ?method=… and the real headers, parameters and content as a form,
// into the request it stands for, then routes it again. xAPI 2.0 removed
// the syntax, so there it is rejected.
func (h *Handler) alternateSyntax(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		q := r.URL.Query()
		if !q.Has("method") {
			return next(c)
		}
		if v, ok := parseVersion(r.Header.Get(HeaderVersion)); ok && v.Is2() {
			return errs.E(errs.Invalid, "the alternate request syntax (?method=) is not part of xAPI 2.0")
		}
		if r.Method != http.MethodPost {
			return errs.E(errs.Invalid, "the alternate request syntax must be sent as a POST")
		}
		if len(q) > 1 {
			return errs.E(errs.Invalid, "the alternate request syntax allows no query parameter but method; send the others in the form")
		}
		method := strings.ToUpper(q.Get("method"))
		switch method {
		case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodDelete:
		default:
			return errs.E(errs.Invalid, "the alternate request syntax method must be GET, HEAD, PUT, POST or DELETE, got %q", q.Get("method"))
		}
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct != "application/x-www-form-urlencoded" {
			return errs.E(errs.Invalid, "the alternate request syntax needs a Content-Type of application/x-www-form-urlencoded")
		}
		var form url.Values
		if r.PostForm != nil {
			// An earlier middleware parsed the form and so consumed the body.
			form = r.PostForm
		} else {
			// Read before authentication and the large-body budget, so
			// capped at what one statements request may hold.
			raw, err := readBody(r, h.maxJSON, "the alternate request syntax form")
			if err != nil {
				return err
			}
			if form, err = url.ParseQuery(string(raw)); err != nil {
				return errs.E(errs.Invalid, "the alternate request syntax form is not valid URL encoding")
			}
		}
		params := url.Values{}
		var content []byte
		hasContent, hasContentType := false, false
		for k, vs := range form {
			if name, ok := formHeaders[strings.ToLower(k)]; ok {
				r.Header.Set(name, vs[0])
				if name == "Content-Type" {
					hasContentType = true
				}
				continue
			}
			if k == "content" {
				content, hasContent = []byte(vs[0]), true
				continue
			}
			params[k] = vs
		}
		if (method == http.MethodPut || method == http.MethodPost) && !hasContent {
			return errs.E(errs.Invalid, `the alternate request syntax needs the request body in a form field named "content"`)
		}
		if !hasContentType {
			if hasContent {
				r.Header.Set("Content-Type", "application/json")
			} else {
				r.Header.Del("Content-Type")
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), alternateKey{}, true))
		c.SetRequest(r)
		r.Method = method
		r.URL.RawQuery = params.Encode()
		r.Body = io.NopCloser(bytes.NewReader(content))
		r.ContentLength = int64(len(content))
		r.Header.Set("Content-Length", strconv.Itoa(len(content)))
		// Echo routed the POST; route the request it stands for. The
		// matched handler runs this group's middleware again, which now
		// sees an ordinary request.
		c.Echo().Router().Find(method, echo.GetPath(r), c)
		return c.Handler()(c)
	}
}

var (
	version1RE = regexp.MustCompile(`^1\.0(\.[0-9]+)?$`)
	version2RE = regexp.MustCompile(`^2\.0(\.[0-9]+)?$`)
)

func parseVersion(s string) (lrs.Version, bool) {
	switch {
	case version1RE.MatchString(s):
		return lrs.V103, true
	case version2RE.MatchString(s):
		return lrs.V200, true
	}
	return "", false
}

// isAbout reports whether the request is for the About resource, which
// needs neither a version header nor credentials.
func isAbout(r *http.Request) bool {
	return strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/about")
}

// version negotiates the xAPI version: every request but About must send
// X-Experience-API-Version 1.0.x or 2.0.x, and every response carries the
// version the LRS answered in.
func (h *Handler) version(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		hd := c.Response().Header()
		given := r.Header.Get(HeaderVersion)
		v, ok := parseVersion(given)
		if !ok {
			hd.Set(HeaderVersion, string(h.defVer))
			if isAbout(r) && given == "" {
				return next(c)
			}
			if given == "" {
				return errs.E(errs.Invalid, "the %s header is required (1.0.3 or 2.0.0)", HeaderVersion)
			}
			return errs.E(errs.Invalid, "%s %q is not supported; use 1.0.3 or 2.0.0", HeaderVersion, given)
		}
		hd.Set(HeaderVersion, string(v))
		c.SetRequest(r.WithContext(WithVersion(r.Context(), v)))
		return next(c)
	}
}

// authenticate resolves the request's credentials to a principal.
func (h *Handler) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if isAbout(r) {
			return next(c)
		}
		if h.auth == nil {
			return errs.E(errs.Unavailable, "the LRS has no authenticator configured")
		}
		p, err := h.auth.AuthenticateXAPI(r)
		if err != nil {
			if errs.Is(err, errs.Unauthorized) {
				c.Response().Header().Set("WWW-Authenticate", `Basic realm="xapi"`)
			}
			return err
		}
		if p.Kind == auth.KindLaunch && h.maxLearner > 0 {
			// A learner's content needs little room; the cap holds for
			// every resource, before any of the body is read.
			if r.ContentLength > h.maxLearner {
				return errs.E(errs.TooLarge, "a request sent with a launch token may have a body of at most %d bytes", h.maxLearner)
			}
			r.Body = http.MaxBytesReader(c.Response(), r.Body, h.maxLearner)
		}
		c.SetRequest(r.WithContext(auth.WithPrincipal(r.Context(), p)))
		return next(c)
	}
}

// principal returns the authenticated principal; the middleware makes
// sure there is one.
func principal(c echo.Context) (auth.Principal, error) {
	p, ok := auth.PrincipalFrom(c.Request().Context())
	if !ok {
		return auth.Principal{}, errs.E(errs.Unauthorized, "credentials are required")
	}
	return p, nil
}

// readErr classifies a failure reading a request body.
func readErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errs.E(errs.TooLarge, "request body is larger than %d bytes, the limit for these credentials", mbe.Limit)
	}
	if he := new(echo.HTTPError); errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge {
		return errs.E(errs.TooLarge, "request body is larger than allowed")
	}
	return errs.Wrap(errs.Invalid, err, "could not read the request body")
}
