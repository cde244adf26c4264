package server

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/content/dispatch"
	"github.com/reach-london/reach/content/launch"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs/forward"
	"github.com/reach-london/reach/server/web"
)

// The admin UI: server-rendered pages under /admin/ for borough and
// platform admins. Every page calls the same domain services as the JSON
// API; forms post back to the page's own path with the _csrf field, and a
// successful change redirects (303) to a page showing a fixed notice, so
// reloading never repeats it. Secrets (invitation links, LRS secrets,
// one-time passwords) are shown once, in the answer to the POST.

// adminScope says which admins may open a page.
type adminScope int

const (
	anyAdmin      adminScope = iota // platform or borough admins
	boroughAdmin                    // admins of the :borough in the path
	platformAdmin                   // platform admins only
)

// adminView is the signed-in admin and the borough a page is about.
type adminView struct {
	P auth.Principal
	// B is the path's borough (zero for pages not about one borough).
	B    auth.Borough
	User auth.User
}

// adminNav is what the admin navigation needs.
type adminNav struct {
	Slug     string // the borough the nav is about, or ""
	Name     string
	Platform bool // the admin is a platform admin
	Current  string
}

// noticeText maps the ?notice= codes redirects carry to the messages
// shown, so the page never echoes text from the URL.
var noticeText = map[string]string{
	"signedout":       "You have signed out.",
	"password":        "Your password was changed, and every other session of your account was signed out.",
	"deactivated":     "The learner was deactivated: signed out everywhere, and their open modules can no longer record.",
	"cancelled":       "The invitation was cancelled; its link no longer works.",
	"reactivated":     "The learner can sign in again.",
	"erased":          "The learner's data was erased, and the erasure recorded in the audit log.",
	"waived":          "The module was waived: it now counts as satisfied for this learner.",
	"revoked":         "The credential was revoked. LMSs using it can no longer reach the LRS.",
	"published":       "The version was published. New launches use it; learners part-way through a module stay on theirs.",
	"rolledback":      "The course was rolled back to the previous published version.",
	"draft":           "A new draft was created.",
	"basepublished":   "The base course was rebuilt with the borough's local content and published.",
	"baseunchanged":   "The published version already has the current base course; nothing changed.",
	"saved":           "Your changes were saved in the draft.",
	"uploaded":        "The module package was uploaded into the draft.",
	"pkgdeleted":      "The package and the files only it used were deleted.",
	"removed":         "The replacement module was removed from the draft.",
	"paused":          "Forwarding to the target was paused.",
	"resumed":         "Forwarding to the target was resumed.",
	"deleted":         "The forwarding target was deleted.",
	"targetcreated":   "The forwarding target was created.",
	"targetsaved":     "The forwarding target was changed. Delivery carries on from where it was.",
	"dispatchcreated": "The dispatch was created. Download its package below and import it into the other LMS.",
	"dispatchrevoked": "The dispatch was revoked. Its LMS's learners can no longer open the course.",
}

// AdminServices are the other rooms' services the admin pages call
// directly; a nil service leaves its pages out.
type AdminServices struct {
	Content    *content.Service
	Forwarding *forward.Service
	// Launch shows a learner's registrations and waives modules.
	Launch *launch.Service
	// Dispatch lists, creates, exports and revokes the course's dispatches
	// to other LMSs (with Content, which the exports read).
	Dispatch *dispatch.Store
}

// adminUI is the server with the services its admin pages use.
type adminUI struct {
	*Server
	svc AdminServices
}

// MountAdminUI returns the mount that adds the admin pages under /admin/.
func MountAdminUI(svc AdminServices) func(e *echo.Echo, srv *Server) {
	return func(e *echo.Echo, srv *Server) { (&adminUI{Server: srv, svc: svc}).mount(e) }
}

func (s *adminUI) mount(e *echo.Echo) {
	g := e.Group("/admin", middleware.BodyLimit(byteLimit(s.cfg.MaxBodyBytes)), s.authenticate, s.pageCSRF)
	g.GET("", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/admin/") })
	g.GET("/", s.admin(anyAdmin, s.adminHome))
	g.GET("/signin", s.adminSigninPage)
	g.POST("/signin", s.adminSignin)
	g.POST("/signout", s.adminSignout)
	g.GET("/password", s.admin(anyAdmin, s.adminPasswordPage))
	g.POST("/password", s.admin(anyAdmin, s.adminChangePassword))
	g.GET("/boroughs", s.admin(platformAdmin, s.adminBoroughsPage))
	g.POST("/boroughs", s.admin(platformAdmin, s.adminCreateBorough))
	g.GET("/audit", s.admin(platformAdmin, s.adminAuditPage))
	g.GET("/reports", s.admin(platformAdmin, s.adminLondonReportsPage))

	g.GET("/:borough", func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, "/admin/"+url.PathEscape(c.Param("borough"))+"/")
	})
	g.GET("/:borough/", s.admin(boroughAdmin, s.adminDashboard))
	g.GET("/:borough/learners", s.admin(boroughAdmin, s.adminLearnersPage))
	g.GET("/:borough/reports", s.admin(boroughAdmin, s.adminReportsPage))
	g.POST("/:borough/learners/invite", s.admin(boroughAdmin, s.adminInvite))
	g.POST("/:borough/learners/invitations/:id/cancel", s.admin(boroughAdmin, s.adminCancelInvitation))
	g.POST("/:borough/learners/:id/deactivate", s.admin(boroughAdmin, s.adminSetActive(false)))
	g.POST("/:borough/learners/:id/reactivate", s.admin(boroughAdmin, s.adminSetActive(true)))
	g.GET("/:borough/learners/:id", s.admin(boroughAdmin, s.adminLearnerPage))
	g.POST("/:borough/learners/:id/waive", s.admin(boroughAdmin, s.adminWaive))
	g.GET("/:borough/learners/:id/erase", s.admin(boroughAdmin, s.adminErasePage))
	g.POST("/:borough/learners/:id/erase", s.admin(boroughAdmin, s.adminErase))
	g.GET("/:borough/credentials", s.admin(boroughAdmin, s.adminCredentialsPage))
	g.POST("/:borough/credentials", s.admin(boroughAdmin, s.adminCreateCredential))
	g.POST("/:borough/credentials/:id/revoke", s.admin(boroughAdmin, s.adminRevokeCredential))
	g.GET("/:borough/audit", s.admin(boroughAdmin, s.adminAuditPage))
	g.GET("/:borough/admins", s.admin(platformAdmin, s.adminAdminsPage))
	g.POST("/:borough/admins", s.admin(platformAdmin, s.adminCreateAdmin))
	s.mountAdminCourse(g)
	s.mountAdminForwarding(g)
	s.mountAdminExport(g)
	s.mountAdminDispatch(g)
}

// pageCSRF is the forms' CSRF check (the session-bound token in _csrf),
// answering with an error page rather than JSON.
func (s *adminUI) pageCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	check := s.formCSRF(func(echo.Context) error { return nil })
	return func(c echo.Context) error {
		if err := check(c); err != nil {
			return s.renderError(c, errs.E(errs.Forbidden, "this form has expired; go back, reload the page and try again"), web.Page{})
		}
		return next(c)
	}
}

// admin wraps a page handler: it checks who may open it, resolves the
// borough, and shows errors as pages. A visitor who is not signed in is
// sent to the sign-in page and back.
func (s *adminUI) admin(scope adminScope, h func(echo.Context, adminView) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		var v adminView
		var err error
		switch scope {
		case boroughAdmin:
			v.B, v.P, err = s.adminOf(c)
		case platformAdmin:
			v.P, err = requireRole(c, auth.RolePlatformAdmin)
			if err == nil && c.Param("borough") != "" {
				v.B, err = s.deps.Auth.BoroughBySlug(c.Request().Context(), c.Param("borough"))
			}
		default:
			v.P, err = requireRole(c, auth.RoleBoroughAdmin, auth.RolePlatformAdmin)
		}
		if err == nil {
			v.User, err = s.deps.Auth.Store().UserByID(c.Request().Context(), v.P.Subject)
		}
		if err == nil && v.User.MustChange && c.Path() != "/admin/password" {
			// A one-time password is changed before anything else.
			return c.Redirect(http.StatusSeeOther, "/admin/password")
		}
		if err == nil {
			err = h(c, v)
		}
		if err == nil {
			return nil
		}
		if errs.Is(err, errs.Unauthorized) {
			next := c.Request().URL.Path
			if c.Request().Method != http.MethodGet {
				next = "/admin/"
			}
			return c.Redirect(http.StatusSeeOther, "/admin/signin?next="+url.QueryEscape(next))
		}
		return s.renderError(c, err, web.Page{User: v.User.Name, CSRF: s.csrfToken(c)})
	}
}

// adminPage builds the page for an admin view: the borough's branding, the
// admin navigation and the notice named by ?notice=.
func (s *adminUI) adminPage(c echo.Context, v adminView, title, current string, data map[string]any) web.Page {
	nav := adminNav{Platform: v.P.Role == auth.RolePlatformAdmin, Current: current}
	p := web.Page{Title: title, User: displayName(v.User), CSRF: s.csrfToken(c), Notice: noticeText[c.QueryParam("notice")]}
	if v.B.ID != "" {
		nav.Slug, nav.Name = v.B.Slug, v.B.Name
		p.Borough = &web.Borough{Slug: v.B.Slug, Name: v.B.Name}
	}
	if data == nil {
		data = map[string]any{}
	}
	data["Nav"] = nav
	p.Data = data
	return p
}

func displayName(u auth.User) string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

// done redirects after a successful change to path with a notice code.
func done(c echo.Context, path, notice string) error {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return c.Redirect(http.StatusSeeOther, path+sep+"notice="+notice)
}

// formError turns a domain error from a form into a field error to show
// beside the form, or returns it to be shown as an error page when it is
// not about the input.
func formError(err error, field string, fe *web.FormErrors) error {
	switch errs.KindOf(err) {
	case errs.Invalid, errs.Conflict:
		fe.Add(field, errs.MessageOf(err))
		return nil
	}
	return err
}

// statusFor is the HTTP status a form shown again with errors answers.
func statusFor(fe web.FormErrors) int {
	if len(fe) > 0 {
		return http.StatusBadRequest
	}
	return http.StatusOK
}

// --- sign-in ---------------------------------------------------------

// adminNext keeps a post-sign-in redirect inside the admin UI.
func adminNext(next string) string {
	if strings.HasPrefix(next, "/admin/") && !strings.HasPrefix(next, "//") && !strings.Contains(next, `\`) {
		return next
	}
	return "/admin/"
}

func (s *adminUI) adminSigninData(c echo.Context, email, borough, next string) (map[string]any, error) {
	bs, err := s.deps.Auth.Store().ListBoroughs(c.Request().Context())
	if err != nil {
		return nil, err
	}
	opts := []web.Option{{Value: "", Label: "None: I am a London-wide (platform) admin"}}
	for _, b := range bs {
		opts = append(opts, web.Option{Value: b.Slug, Label: b.Name})
	}
	return map[string]any{"Email": email, "Borough": borough, "Boroughs": opts, "Next": adminNext(next),
		"Nav": adminNav{}}, nil
}

// signinCSRF makes sure a visitor of the sign-in page has a CSRF token,
// so the sign-in form itself carries one (originGuard refuses cross-site
// posts before it is checked).
func (s *adminUI) signinCSRF(c echo.Context) string { return s.ensureAnonCSRF(c) }

func (s *adminUI) adminSigninPage(c echo.Context) error {
	if _, err := requireRole(c, auth.RoleBoroughAdmin, auth.RolePlatformAdmin); err == nil {
		return c.Redirect(http.StatusSeeOther, adminNext(c.QueryParam("next")))
	}
	data, err := s.adminSigninData(c, "", "", c.QueryParam("next"))
	if err != nil {
		return s.renderError(c, err, web.Page{})
	}
	return s.render(c, http.StatusOK, "admin_signin", web.Page{Title: "Admin sign in", CSRF: s.signinCSRF(c),
		Notice: noticeText[c.QueryParam("notice")], Data: data})
}

func (s *adminUI) adminSignin(c echo.Context) error {
	ctx := c.Request().Context()
	email, password, slug := strings.TrimSpace(c.FormValue("email")), c.FormValue("password"), c.FormValue("borough")
	data, err := s.adminSigninData(c, email, slug, c.FormValue("next"))
	if err != nil {
		return s.renderError(c, err, web.Page{})
	}
	want := s.csrfToken(c)
	page := web.Page{Title: "Admin sign in", CSRF: s.signinCSRF(c), Data: data}
	if !tokenMatches(want, c.FormValue(csrfField)) {
		page.Errors.Add("email", "The form expired. Please sign in again.")
		return s.render(c, http.StatusForbidden, "admin_signin", page)
	}
	if email == "" {
		page.Errors.Add("email", "Enter your email address")
	}
	if password == "" {
		page.Errors.Add("password", "Enter your password")
	}
	if len(page.Errors) > 0 {
		return s.render(c, http.StatusBadRequest, "admin_signin", page)
	}
	if err := s.loginAllowed(c, slug, email); err != nil {
		page.Errors.Add("email", errs.MessageOf(err))
		return s.render(c, http.StatusTooManyRequests, "admin_signin", page)
	}
	wrong := func() error {
		s.loginDone(c, slug, email, errs.E(errs.Unauthorized, "wrong"))
		page.Errors.Add("email", "Email, password or borough is wrong")
		return s.render(c, http.StatusUnauthorized, "admin_signin", page)
	}
	boroughID := ""
	if slug != "" {
		b, err := s.deps.Auth.BoroughBySlug(ctx, slug)
		if err != nil {
			_ = s.deps.Auth.FailLogin(password)
			return wrong()
		}
		boroughID = b.ID
	}
	u, token, sess, err := s.deps.Auth.Login(ctx, boroughID, email, password)
	if err == nil {
		s.loginDone(c, slug, email, nil)
	}
	switch {
	case errs.Is(err, errs.Unauthorized):
		return wrong()
	case errs.Is(err, errs.Forbidden):
		page.Errors.Add("email", errs.MessageOf(err))
		return s.render(c, http.StatusForbidden, "admin_signin", page)
	case err != nil:
		return s.renderError(c, err, web.Page{})
	}
	if u.Role != auth.RoleBoroughAdmin && u.Role != auth.RolePlatformAdmin {
		// A learner's session is of no use here; end it at once.
		_ = s.deps.Auth.Logout(ctx, sess.ID)
		page.Errors.Add("email", "This sign-in is for admins. Learners sign in on their borough's course page.")
		return s.render(c, http.StatusForbidden, "admin_signin", page)
	}
	s.setSessionCookies(c, token, sess.ExpiresAt)
	next := adminNext(c.FormValue("next"))
	if next == "/admin/" && u.Role == auth.RoleBoroughAdmin {
		next = "/admin/" + slug + "/"
	}
	return c.Redirect(http.StatusSeeOther, next)
}

func (s *adminUI) adminSignout(c echo.Context) error {
	if p, err := principal(c); err == nil && p.Kind == auth.KindUser && p.SessionID != "" {
		if err := s.deps.Auth.Logout(c.Request().Context(), p.SessionID); err != nil {
			return s.renderError(c, err, web.Page{})
		}
	}
	s.clearSessionCookies(c)
	return c.Redirect(http.StatusSeeOther, "/admin/signin?notice=signedout")
}

// --- home and dashboard ------------------------------------------------

func (s *adminUI) adminHome(c echo.Context, v adminView) error {
	if v.P.Role == auth.RoleBoroughAdmin {
		b, err := s.deps.Auth.Store().BoroughByID(c.Request().Context(), v.P.BoroughID)
		if err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/admin/"+b.Slug+"/")
	}
	bs, err := s.deps.Auth.Store().ListBoroughs(c.Request().Context())
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "admin_home", s.adminPage(c, v, "Admin", "home", map[string]any{"Boroughs": bs}))
}

func (s *adminUI) adminDashboard(c echo.Context, v adminView) error {
	ctx := c.Request().Context()
	all, err := s.deps.Auth.ListLearners(ctx, auth.LearnerQuery{BoroughID: v.B.ID, Limit: 1})
	if err != nil {
		return err
	}
	active, err := s.deps.Auth.ListLearners(ctx, auth.LearnerQuery{BoroughID: v.B.ID, Status: auth.StatusActive, Limit: 1})
	if err != nil {
		return err
	}
	creds, err := s.deps.Auth.Store().ListCredentials(ctx, v.B.ID)
	if err != nil {
		return err
	}
	live := 0
	for _, cr := range creds {
		if cr.RevokedAt == nil {
			live++
		}
	}
	invs, err := s.deps.Auth.ListInvitations(ctx, v.B.ID)
	if err != nil {
		return err
	}
	pending := 0
	for _, inv := range invs {
		if inv.AcceptedAt == nil && time.Now().Before(inv.ExpiresAt) {
			pending++
		}
	}
	data := map[string]any{"Learners": all.Total, "Active": active.Total, "Credentials": live, "Pending": pending}
	if cs := s.courseSummary(c, v); cs != nil {
		data["Course"] = cs
	}
	if s.svc.Forwarding != nil {
		sts, err := s.svc.Forwarding.Statuses(ctx, v.B.ID)
		if err != nil {
			return err
		}
		counts := map[string]int{}
		for _, st := range sts {
			counts[healthOf(st)]++
		}
		data["Forwarding"] = map[string]int{"Targets": len(sts), "Failing": counts["failing"], "Paused": counts["paused"]}
	}
	return s.render(c, http.StatusOK, "admin_dashboard", s.adminPage(c, v, "Dashboard", "dashboard", data))
}

// --- password --------------------------------------------------------

func (s *adminUI) adminPasswordPage(c echo.Context, v adminView) error {
	return s.render(c, http.StatusOK, "admin_password", s.adminPage(c, v, "Change your password", "",
		map[string]any{"MustChange": v.User.MustChange, "MinLength": auth.MinPasswordLength}))
}

func (s *adminUI) adminChangePassword(c echo.Context, v adminView) error {
	current, next := c.FormValue("current"), c.FormValue("new")
	pg := s.adminPage(c, v, "Change your password", "", map[string]any{"MustChange": v.User.MustChange, "MinLength": auth.MinPasswordLength})
	if current == "" {
		pg.Errors.Add("current", "Enter your current password")
	}
	if err := auth.CheckPasswordRules(next); err != nil {
		pg.Errors.Add("new", "The new "+err.Error())
	} else if next == current {
		pg.Errors.Add("new", "Choose a password different from the current one")
	}
	if len(pg.Errors) == 0 {
		if err := s.limit(c, "password:"+v.P.Subject, 10, 10*time.Minute); err != nil {
			return err
		}
		err := s.deps.Auth.ChangePassword(c.Request().Context(), v.P.Subject, v.P.SessionID, current, next)
		switch {
		case err == nil:
			return done(c, "/admin/", "password")
		case errs.Is(err, errs.Forbidden):
			pg.Errors.Add("current", "The current password is wrong")
		case errs.Is(err, errs.Invalid):
			// The password rules (common or breached passwords, the
			// account's own name or email) are the domain's to apply.
			pg.Errors.Add("new", "The new "+errs.MessageOf(err))
		default:
			return err
		}
	}
	return s.render(c, http.StatusBadRequest, "admin_password", pg)
}
