package server

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/content/dispatch"
	"github.com/reach-london/reach/content/launch"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/server/web"
)

// The content origin's side of a SCORM 1.2 dispatch. The other LMS's SCO
// page (content/dispatch/scorm12.go) frames
//
//	GET /d/{token}/play/{module}?student_id=…&student_name=…&lms_origin=…
//
// which maps the LMS's student to a learner of the borough (making the
// account on their first visit, within the dispatch's learner limit),
// launches the module for them as a cmi5 launch, and answers a page that
// frames the AU and posts its outcome to the SCO page:
//
//	{type: "reach-dispatch-outcome", completed, passed, failed, satisfied, score?}
//
// at once and whenever it changes, polling
//
//	GET /d/{token}/outcome/{registration}/{module}  → launch.ModuleOutcome as JSON
//
// every few seconds until the outcome is settled. GET /d/closed is the
// launch's returnURL: the AU shows it in its frame when the learner exits.

// outcomePollMillis is how often the play page asks for the outcome.
const outcomePollMillis = 3000

// dispatchPage is what the dispatch templates receive as Page.Data.
type dispatchPage struct {
	Nonce        string
	Message      string
	NotifyParent bool
	LaunchURL    string
	Config       playConfig
}

// playConfig is the play page's script configuration.
type playConfig struct {
	OutcomeURL   string               `json:"outcomeURL"`
	TargetOrigin string               `json:"targetOrigin"`
	Interval     int                  `json:"interval"`
	Initial      launch.ModuleOutcome `json:"initial"`
}

// dispatchCSP is the policy of a dispatch page: nothing but its own nonced
// script and style, fetches to this origin, the AU's frame, and framing by
// any LMS (the SCO page is served by whichever LMS imported the package).
func dispatchCSP(nonce, frameSrc string) string {
	csp := "default-src 'none'; script-src 'nonce-" + nonce + "'; style-src 'nonce-" + nonce + "'; connect-src 'self'; img-src 'self' data:; "
	if frameSrc != "" {
		csp += "frame-src " + frameSrc + "; "
	}
	return csp + "base-uri 'none'; form-action 'none'; frame-ancestors *"
}

// renderDispatch writes a dispatch page with its CSP. The play URL holds
// the dispatch token and the LMS's student id, so no referrer is sent.
func (h *dispatchHandlers) renderDispatch(c echo.Context, status int, name, title string, data dispatchPage, frameSrc string) error {
	var buf bytes.Buffer
	if err := webPages.Render(&buf, name, web.Page{Title: title, Data: data}); err != nil {
		return errs.Wrap(errs.Internal, err, "render page")
	}
	hdr := c.Response().Header()
	hdr.Set("Content-Security-Policy", dispatchCSP(data.Nonce, frameSrc))
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Referrer-Policy", "no-referrer")
	return c.HTMLBlob(status, buf.Bytes())
}

// dispatchError shows err as a dispatch message page with the status the
// one error table gives its kind; internal details are logged only.
func (h *dispatchHandlers) dispatchError(c echo.Context, err error) error {
	status, ok := statusOf[errs.KindOf(err)]
	if !ok {
		status = http.StatusInternalServerError
	}
	msg := errs.MessageOf(err)
	title := map[int]string{
		http.StatusBadRequest: "This course link is incomplete",
		http.StatusForbidden:  "You cannot open this course",
		http.StatusNotFound:   "Module not found",
	}[status]
	if status >= 500 {
		h.s.log.ErrorContext(c.Request().Context(), "dispatch page failed", "path", c.Request().URL.Path, "status", status, "err", err,
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		title, msg = "Sorry, there is a problem", "Something went wrong on our side. Please try again in a moment."
		if status == http.StatusServiceUnavailable {
			c.Response().Header().Set("Retry-After", "5")
		}
	} else if title == "" {
		title = "That did not work"
	}
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
		if !strings.HasSuffix(msg, ".") {
			msg += "."
		}
	}
	return h.renderDispatch(c, status, "dispatch_message", title, dispatchPage{Nonce: auth.RandomToken(16), Message: msg}, "")
}

// lmsOrigin is the origin the play page posts outcomes to: lms_origin when
// it is an http(s) origin, or "*" (any) when it is missing or not one.
func lmsOrigin(raw string) string {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "*"
	}
	return u.Scheme + "://" + strings.ToLower(u.Host)
}

// play opens a module of the published course for the other LMS's
// student. Bad input changes nothing: the student id and the module are
// checked before any learner is made.
func (h *dispatchHandlers) play(c echo.Context) error {
	ctx := c.Request().Context()
	d, err := h.store.ByToken(ctx, c.Param("token"))
	if err != nil {
		return h.dispatchError(c, err)
	}
	studentID, module := c.QueryParam("student_id"), c.Param("module")
	if err := dispatch.CheckStudentID(studentID); err != nil {
		return h.dispatchError(c, err)
	}
	v, err := h.pkgs.PublishedVersion(ctx, d.BoroughID)
	if err != nil {
		return h.dispatchError(c, err)
	}
	title := ""
	found := false
	for _, m := range v.Modules {
		if m.Module == module {
			found, title = true, m.Title
		}
	}
	if !found {
		return h.dispatchError(c, errs.E(errs.NotFound, "this course has no module %q; ask your LMS administrator to import the course again", module))
	}
	// A new account is audited as user.create by the dispatch.
	u, _, err := h.store.LearnerFor(ctx, h.s.deps.Auth, d, studentID, c.QueryParam("student_name"))
	if err != nil {
		return h.dispatchError(c, err)
	}
	contentURL := strings.TrimRight(h.s.cfg.ContentURL, "/")
	l, err := h.launches.Launch(ctx, launch.Request{Learner: launch.Learner{ID: u.ID, BoroughID: d.BoroughID, Profession: u.Profession, Name: u.Name},
		Module: module, ReturnURL: contentURL + "/d/closed"})
	if err != nil {
		return h.dispatchError(c, err)
	}
	initial, err := h.launches.ModuleOutcome(ctx, d.BoroughID, l.Registration, module)
	if err != nil {
		return h.dispatchError(c, err)
	}
	if l.Title != "" {
		title = l.Title
	}
	if title == "" {
		title = module
	}
	nonce := auth.RandomToken(16)
	cfg := playConfig{
		OutcomeURL:   "/d/" + url.PathEscape(d.Token) + "/outcome/" + url.PathEscape(l.Registration) + "/" + url.PathEscape(module),
		TargetOrigin: lmsOrigin(c.QueryParam("lms_origin")),
		Interval:     outcomePollMillis,
		Initial:      initial,
	}
	launchURL := dispatchLaunchURL(l.URL, contentURL, d.Token)
	frameSrc := "'self'"
	if o := originOf(launchURL); o != "" && o != "://" {
		frameSrc += " " + o
	}
	return h.renderDispatch(c, http.StatusOK, "dispatch_play", title, dispatchPage{Nonce: nonce, LaunchURL: launchURL, Config: cfg}, frameSrc)
}

// dispatchLaunchURL moves a launch of a package file (/p/<package>/<content
// token>/<path>) under the dispatch's file route (/d/<dispatch>/<package>/
// <path>, the same bytes): the play page is framed by another LMS, and
// package files under /p/ may be framed only by the content origin
// (packageCSP), while the dispatch's files may be framed anywhere.
func dispatchLaunchURL(launchURL, contentURL, dispatchToken string) string {
	rest, ok := strings.CutPrefix(launchURL, contentURL+"/p/")
	if !ok {
		return launchURL
	}
	pkg, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return launchURL
	}
	_, path, ok := strings.Cut(rest, "/")
	if !ok {
		return launchURL
	}
	return contentURL + "/d/" + url.PathEscape(dispatchToken) + "/" + pkg + "/" + path
}

// outcome answers the outcome of a module in a registration of one of the
// dispatch's learners. The registration id is random and known only to
// the play page (and the AU), so with the live token it is the capability.
func (h *dispatchHandlers) outcome(c echo.Context) error {
	ctx := c.Request().Context()
	c.Response().Header().Set("Cache-Control", "no-store")
	d, err := h.store.ByToken(ctx, c.Param("token"))
	if err != nil {
		return err
	}
	o, err := h.launches.ModuleOutcome(ctx, d.BoroughID, c.Param("registration"), c.Param("module"))
	if err != nil {
		return err
	}
	if ok, err := h.store.LearnerOf(ctx, d.ID, o.LearnerID); err != nil {
		return err
	} else if !ok {
		return errs.E(errs.NotFound, "module %q was never launched in registration %s", c.Param("module"), c.Param("registration"))
	}
	return c.JSON(http.StatusOK, o)
}

// closed is the launch's returnURL: the AU shows it in its frame when the
// learner exits the module. It asks the play page around it to look at
// the outcome at once.
func (h *dispatchHandlers) closed(c echo.Context) error {
	return h.renderDispatch(c, http.StatusOK, "dispatch_message", "Module closed", dispatchPage{Nonce: auth.RandomToken(16),
		Message:      "You have closed this module. Your LMS has your progress; you can close this window or go back to your course there.",
		NotifyParent: true}, "")
}
