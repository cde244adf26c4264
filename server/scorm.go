package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/reach-london/reach/content/scorm"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
)

// MountSCORM returns the routes of the SCORM tracker: its JSON API on the
// app origin, which the player calls with a launch token, and the player
// page on the content origin. internal/app appends them to Deps.MountApp
// and Deps.MountContent.
func MountSCORM(svc *scorm.Service) (appRoutes, contentRoutes func(*echo.Echo, *Server)) {
	h := &scormHandler{svc: svc}
	return h.routesApp, h.routesPlayer
}

type scormHandler struct {
	svc *scorm.Service
	s   *Server // set when the routes are bound
}

// routesApp binds /api/v1/scorm. The player runs on the content origin and
// authenticates with its launch token only: cookies are never read here,
// so CORS admits the content origin without credentials and no CSRF
// check is needed.
func (h *scormHandler) routesApp(e *echo.Echo, s *Server) {
	h.s = s
	g := e.Group("/api/v1/scorm", h.cors(s), middleware.BodyLimit(byteLimit(s.cfg.MaxBodyBytes)))
	g.GET("/attempts/:attempt", h.launch)
	g.POST("/attempts/:attempt/commit", h.commit)
	g.POST("/attempts/:attempt/navigate", h.navigate)
	g.OPTIONS("/*", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })

	// Admins read a registration's attempts with their stored CMI data.
	admin := e.Group("/api/v1/boroughs/:borough/scorm", middleware.BodyLimit(byteLimit(s.cfg.MaxBodyBytes)), s.authenticate, s.csrf)
	admin.GET("/registrations/:registration/attempts", h.registrationAttempts)
}

// registrationAttempts lists a registration's SCORM attempts, oldest first,
// for the borough's admins.
func (h *scormHandler) registrationAttempts(c echo.Context) error {
	b, _, err := h.s.adminOf(c)
	if err != nil {
		return err
	}
	list, err := h.svc.Attempts(c.Request().Context(), b.ID, c.Param("registration"))
	if err != nil {
		return err
	}
	if list == nil {
		list = []scorm.Attempt{}
	}
	return c.JSON(http.StatusOK, map[string]any{"attempts": list})
}

// cors answers the content origin's requests and preflights; other
// origins get no CORS headers, so browsers keep their pages out.
func (h *scormHandler) cors(s *Server) echo.MiddlewareFunc {
	allowed := originOf(s.cfg.ContentURL)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			hdr := c.Response().Header()
			hdr.Add("Vary", "Origin")
			if o := c.Request().Header.Get("Origin"); o != "" && o == allowed {
				hdr.Set("Access-Control-Allow-Origin", o)
				hdr.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
				hdr.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
				hdr.Set("Access-Control-Max-Age", "600")
			}
			return next(c)
		}
	}
}

func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// launchPrincipal authenticates the request's launch token: the
// Authorization header, or for commits sent with navigator.sendBeacon
// (which cannot set headers) the body's token field.
func (h *scormHandler) launchPrincipal(c echo.Context, bodyToken string) (auth.Principal, error) {
	tok := ""
	if v := c.Request().Header.Get("Authorization"); strings.HasPrefix(v, "Bearer ") {
		tok = strings.TrimSpace(strings.TrimPrefix(v, "Bearer "))
	} else {
		tok = bodyToken
	}
	if tok == "" {
		return auth.Principal{}, errs.E(errs.Unauthorized, "send the player's launch token as a Bearer token")
	}
	p, err := h.s.deps.Auth.AuthenticateToken(c.Request().Context(), tok)
	if err != nil {
		return auth.Principal{}, err
	}
	if p.Kind != auth.KindLaunch {
		return auth.Principal{}, errs.E(errs.Forbidden, "the SCORM API takes a player's launch token only")
	}
	return p, nil
}

func (h *scormHandler) launch(c echo.Context) error {
	p, err := h.launchPrincipal(c, "")
	if err != nil {
		return err
	}
	l, err := h.svc.Launch(c.Request().Context(), p, c.Param("attempt"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, launchBody(l))
}

// launchBody is the player's view of a launch: no learner agent JSON or
// stored write-only values beyond what the runtime loads.
func launchBody(l scorm.Launch) map[string]any {
	a := l.Attempt
	return map[string]any{
		"attempt": map[string]any{"id": a.ID, "version": a.Version, "number": a.Number, "status": a.Status,
			"entry": a.Entry, "scoId": a.SCOID, "commitSeq": a.CommitSeq},
		"runtime":   l.Runtime,
		"scoUrl":    l.SCOURL,
		"title":     l.Title,
		"items":     l.Items,
		"returnUrl": l.ReturnURL,
	}
}

// commitRequest is the player's commit: the event, its sequence number in
// the session, and the SetValue calls since the last acknowledged commit
// as [element, value] pairs in call order. Commits sent as the page goes
// away (keepalive fetch or sendBeacon, text/plain so they need no CORS
// preflight) carry the launch token in the body.
type commitRequest struct {
	Event  scorm.Event `json:"event"`
	Seq    int64       `json:"seq"`
	Values [][]string  `json:"values"`
	Token  string      `json:"token"`
}

func (h *scormHandler) commit(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	var req commitRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return errs.E(errs.Invalid, "body must be JSON: {\"event\": \"commit\", \"values\": [[element, value], ...]}")
	}
	p, err := h.launchPrincipal(c, req.Token)
	if err != nil {
		return err
	}
	values := make([]scorm.SetValue, len(req.Values))
	for i, pair := range req.Values {
		if len(pair) != 2 {
			return errs.E(errs.Invalid, "values[%d] must be [element, value]", i)
		}
		values[i] = scorm.SetValue{Element: pair[0], Value: pair[1]}
	}
	done, err := h.svc.Commit(c.Request().Context(), p, c.Param("attempt"), scorm.Commit{Event: req.Event, Seq: req.Seq, Values: values})
	if err != nil {
		return err
	}
	// result and errorCode are what scorm-again's response handler reads;
	// seq is the highest commit applied, applied whether this one was
	// (false for a replay or a commit a later one superseded).
	return c.JSON(http.StatusOK, map[string]any{"result": "true", "errorCode": 0, "status": done.Attempt.Status,
		"seq": done.Attempt.CommitSeq, "applied": done.Applied})
}

type navigateRequest struct {
	Item string `json:"item"`
}

func (h *scormHandler) navigate(c echo.Context) error {
	p, err := h.launchPrincipal(c, "")
	if err != nil {
		return err
	}
	var req navigateRequest
	if err := json.NewDecoder(c.Request().Body).Decode(&req); err != nil {
		return errs.E(errs.Invalid, "body must be JSON: {\"item\": \"<item identifier>\"}")
	}
	u, err := h.svc.Navigate(c.Request().Context(), p, c.Param("attempt"), req.Item)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"playerUrl": u})
}
