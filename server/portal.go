package server

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/reach-london/reach/content/launch"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/server/web"
)

// MountPortal binds the learner portal (/b/{slug}/...) and the learner
// admin API (registrations, waive) on the app origin. Invitations are
// created through the learners API (server/learners.go).
func MountPortal(svc *launch.Service) func(e *echo.Echo, s *Server) {
	return func(e *echo.Echo, s *Server) {
		p := &portal{s: s, launch: svc}
		body := middleware.BodyLimit(byteLimit(s.cfg.MaxBodyBytes))
		e.GET("/b/:slug", func(c echo.Context) error {
			return c.Redirect(http.StatusMovedPermanently, "/b/"+url.PathEscape(c.Param("slug"))+"/")
		})
		g := e.Group("/b/:slug", body, s.authenticate, p.htmlErrors, s.formCSRF)
		g.GET("/", p.landing)
		g.GET("/brand.css", p.brandCSS)
		g.GET("/logo", p.logo)
		g.GET("/signup", p.signupForm)
		g.POST("/signup", p.signup)
		g.GET("/signin", p.signinForm)
		g.POST("/signin", p.signin)
		g.POST("/signout", p.signout)
		g.GET("/invite/:token", p.inviteForm)
		g.POST("/invite/:token", p.acceptInvite)
		g.GET("/role", p.roleForm)
		g.POST("/role", p.setRole)
		g.GET("/dashboard", p.dashboard)
		g.POST("/modules/:module/launch", p.launchModule)
		g.GET("/certificate", p.certificate)

		api := e.Group("/api/v1", body, s.authenticate, s.csrf)
		api.GET("/boroughs/:borough/learners/:id/registrations", p.learnerRegistrations)
		api.POST("/boroughs/:borough/learners/:id/registrations/:registration/waive", p.waive)
		api.GET("/me/progress", p.myProgress)
	}
}

type portal struct {
	s      *Server
	launch *launch.Service
}

// htmlErrors renders errors from portal pages as HTML pages; the CSRF
// check runs inside it so a stale form gets a page too.
func (p *portal) htmlErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err == nil || c.Response().Committed {
			return err
		}
		if he, ok := err.(*echo.HTTPError); ok {
			if he.Code == http.StatusNotFound {
				err = errs.E(errs.NotFound, "there is no page at this address")
			} else {
				return err
			}
		}
		if errs.Is(err, errs.Forbidden) && strings.HasPrefix(errs.MessageOf(err), "missing or wrong CSRF token") {
			// The API's wording helps developers; a learner needs to know
			// what to do.
			err = errs.E(errs.Forbidden, "this form has expired or was opened in another tab; go back, reload the page and try again")
		}
		page := web.Page{}
		if b, berr := p.s.deps.Auth.BoroughBySlug(c.Request().Context(), c.Param("slug")); berr == nil {
			page.Borough = p.brand(c, b)
		}
		return p.s.renderError(c, err, page)
	}
}

// learnerCtx is the borough of the page and the signed-in learner of that
// borough, if any.
type learnerCtx struct {
	borough auth.Borough
	user    *auth.User
	csrf    string
}

func (p *portal) ctx(c echo.Context) (learnerCtx, error) {
	b, err := p.s.deps.Auth.BoroughBySlug(c.Request().Context(), c.Param("slug"))
	if err != nil {
		return learnerCtx{}, errs.E(errs.NotFound, "there is no borough %q on this site", c.Param("slug"))
	}
	lc := learnerCtx{borough: b}
	lc.csrf = p.s.csrfToken(c)
	if pr, ok := auth.PrincipalFrom(c.Request().Context()); ok && pr.Kind == auth.KindUser && pr.BoroughID == b.ID {
		if u, err := p.s.deps.Auth.Store().UserByID(c.Request().Context(), pr.Subject); err == nil && u.Status == auth.StatusActive {
			lc.user = &u
		}
	}
	return lc, nil
}

// requireLearner is ctx for pages that need a signed-in learner: others
// are sent to sign in.
func (p *portal) requireLearner(c echo.Context) (learnerCtx, bool, error) {
	lc, err := p.ctx(c)
	if err != nil {
		return lc, false, err
	}
	if lc.user == nil {
		return lc, false, c.Redirect(http.StatusSeeOther, "/b/"+b64slug(lc.borough)+"/signin?next="+url.QueryEscape(c.Request().URL.Path))
	}
	return lc, true, nil
}

func b64slug(b auth.Borough) string { return url.PathEscape(b.Slug) }

func (p *portal) page(c echo.Context, lc learnerCtx, title string, data any) web.Page {
	pg := web.Page{Title: title, Borough: p.brand(c, lc.borough), CSRF: lc.csrf, Data: data}
	if lc.user != nil {
		pg.User = lc.user.Name
		if pg.User == "" {
			pg.User = lc.user.Email
		}
	}
	return pg
}

var colourRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// brand is the page header's borough branding: the name, and the colour
// stylesheet when the published course sets a colour.
func (p *portal) brand(c echo.Context, b auth.Borough) *web.Borough {
	wb := &web.Borough{Slug: b.Slug, Name: b.Name}
	v, err := p.launch.PublishedVersion(c.Request().Context(), b.ID)
	if err != nil {
		return wb
	}
	if colourRE.MatchString(v.Slots.Branding.PrimaryColour) {
		wb.BrandCSS = "/b/" + url.PathEscape(b.Slug) + "/brand.css?v=" + url.QueryEscape(v.ID)
	}
	if len(v.Slots.Branding.Logo) > 0 && strings.HasPrefix(v.Slots.Branding.LogoType, "image/") {
		wb.LogoURL = "/b/" + url.PathEscape(b.Slug) + "/logo?v=" + url.QueryEscape(v.ID)
		wb.LogoAlt = v.Slots.Branding.LogoAlt
		if wb.LogoAlt == "" {
			wb.LogoAlt = b.Name + " logo"
		}
	}
	return wb
}

// brandCSS sets the borough's colour; a stylesheet rather than an inline
// style keeps the CSP strict.
func (p *portal) brandCSS(c echo.Context) error {
	lc, err := p.ctx(c)
	if err != nil {
		return err
	}
	colour := "#1d4f91"
	v, err := p.launch.PublishedVersion(c.Request().Context(), lc.borough.ID)
	if err == nil && colourRE.MatchString(v.Slots.Branding.PrimaryColour) {
		colour = v.Slots.Branding.PrimaryColour
	}
	if c.QueryParam("v") == v.ID && v.ID != "" {
		c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		c.Response().Header().Set("Cache-Control", "public, max-age=300")
	}
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", []byte(":root { --brand: "+colour+"; }\n"))
}

// logo serves the borough's logo from the published course's branding.
// SVG is served as an image with a CSP of its own, so a logo cannot run
// script even when opened directly.
func (p *portal) logo(c echo.Context) error {
	lc, err := p.ctx(c)
	if err != nil {
		return err
	}
	v, err := p.launch.PublishedVersion(c.Request().Context(), lc.borough.ID)
	if err != nil {
		return err
	}
	br := v.Slots.Branding
	if len(br.Logo) == 0 || !strings.HasPrefix(br.LogoType, "image/") {
		return errs.E(errs.NotFound, "this borough has no logo")
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	if c.QueryParam("v") == v.ID {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	return c.Blob(http.StatusOK, br.LogoType, br.Logo)
}

func professionOptions() []web.Option {
	hints := map[string]string{
		"artist":     "You make or run creative, cultural or heritage activities.",
		"linkworker": "You connect people with community support, for example as a social prescribing link worker.",
		"gp":         "You work in a GP practice or another primary-care team.",
		"other":      "",
	}
	var out []web.Option
	for _, pr := range launch.Professions {
		label := launch.ProfessionLabel(pr)
		out = append(out, web.Option{Value: pr, Label: strings.ToUpper(label[:1]) + label[1:], Hint: hints[pr]})
	}
	return out
}

func validProfession(pr string) bool { return launch.ProfessionLabel(pr) != "" }

var passwordHint = fmt.Sprintf("At least %d characters. A few unrelated words make a strong password; common passwords and ones containing your name or email address are refused.", auth.MinPasswordLength)

func (p *portal) landing(c echo.Context) error {
	lc, err := p.ctx(c)
	if err != nil {
		return err
	}
	data := struct {
		CourseTitle string
		Description string
		Modules     []string
	}{CourseTitle: "Deepening the Reach of Creative Health & Social Prescribing"}
	v, base, err := p.launch.Published(c.Request().Context(), lc.borough.ID)
	switch {
	case err == nil:
		data.CourseTitle, data.Description = base.Course.Title, base.Course.Description
		for _, m := range v.Modules {
			data.Modules = append(data.Modules, m.Title)
		}
	case !errs.Is(err, errs.NotFound):
		return err
	}
	return p.s.render(c, http.StatusOK, "portal_landing", p.page(c, lc, data.CourseTitle, data))
}

type accountForm struct {
	Name, Email, Profession, PasswordHint, Token string
	Professions                                  []web.Option
}

func (p *portal) signupForm(c echo.Context) error {
	lc, err := p.ctx(c)
	if err != nil {
		return err
	}
	if lc.user != nil {
		return c.Redirect(http.StatusSeeOther, "/b/"+b64slug(lc.borough)+"/dashboard")
	}
	return p.s.render(c, http.StatusOK, "portal_signup", p.page(c, lc, "Create an account",
		accountForm{Professions: professionOptions(), PasswordHint: passwordHint}))
}

// orderErrors puts field errors in the order the fields appear, so the
// error summary reads top to bottom.
func orderErrors(fe web.FormErrors, fields ...string) web.FormErrors {
	var out web.FormErrors
	for _, f := range fields {
		if m := fe.For(f); m != "" {
			out.Add(f, m)
		}
	}
	return out
}

// checkAccount validates the fields sign-up and invitations share. The
// password rules (auth.CheckPassword) depend only on what was typed, never
// on whether an account exists, so they reveal nothing.
func checkAccount(name, email, password, profession string) web.FormErrors {
	var fe web.FormErrors
	if strings.TrimSpace(name) == "" {
		fe.Add("name", "Enter your full name")
	} else if len([]rune(name)) > 200 {
		fe.Add("name", "Your name must be 200 characters or fewer")
	}
	if password == "" {
		fe.Add("password", "Enter a password")
	} else if err := auth.CheckPassword(password, auth.NormalizeEmail(email), strings.TrimSpace(name)); err != nil {
		fe.Add("password", "Your "+errs.MessageOf(err))
	}
	if !validProfession(profession) {
		fe.Add("profession", "Select your professional role")
	}
	return fe
}

// signup creates a learner account. It answers the same whether or not
// the email address already has an account, so the form cannot be used
// to find out who has one: both go to the sign-in page with the same
// notice, nothing is created for an address already taken (its owner's
// account and password are unchanged) and no one is signed in; both cost
// the same password check and hash. Without a mail system the owner of
// a taken address is not told of the attempt.
func (p *portal) signup(c echo.Context) error {
	lc, err := p.ctx(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	f := accountForm{Name: strings.TrimSpace(c.FormValue("name")), Email: strings.TrimSpace(c.FormValue("email")),
		Profession: c.FormValue("profession"), Professions: professionOptions(), PasswordHint: passwordHint}
	password := c.FormValue("password")
	fe := checkAccount(f.Name, f.Email, password, f.Profession)
	if f.Email == "" {
		fe.Add("email", "Enter your email address")
	} else if auth.ValidateEmail(auth.NormalizeEmail(f.Email)) != nil {
		fe.Add("email", "Enter an email address like name@example.org")
	}
	fe = orderErrors(fe, "name", "email", "password", "profession")
	if len(fe) == 0 {
		if err := p.s.limit(c, "signup:ip:"+c.RealIP(), 20, time.Hour); err != nil {
			return err
		}
		_, _, err := p.s.deps.Auth.CreateUser(ctx, "self-signup", auth.NewUser{BoroughID: lc.borough.ID, Email: f.Email,
			Name: f.Name, Role: auth.RoleLearner, Profession: f.Profession, Password: password})
		switch {
		case err == nil, errs.Is(err, errs.Conflict):
			// The learner's role reaches the AU at their first launch
			// (launch writes it when absent), so nothing more is done
			// here for a new account than for a taken address.
			return c.Redirect(http.StatusSeeOther, "/b/"+b64slug(lc.borough)+"/signin?signup=done")
		case errs.Is(err, errs.Invalid):
			fe.Add("email", errs.MessageOf(err))
		default:
			return err
		}
	}
	pg := p.page(c, lc, "Create an account", f)
	pg.Errors = fe
	return p.s.render(c, http.StatusUnprocessableEntity, "portal_signup", pg)
}

// signupDone is the sign-in page's notice after a sign-up: the same for a
// new account and for an address that already had one.
const signupDone = "Thank you. If this email address is new here, your account is ready: sign in with it and the password you chose. " +
	"If it already had an account, sign in with that account's password."

// startSession signs the new account in and records its role for the AU.
func (p *portal) startSession(c echo.Context, lc learnerCtx, email, password, profession string) error {
	ctx := c.Request().Context()
	u, tok, sess, err := p.s.deps.Auth.Login(ctx, lc.borough.ID, email, password)
	if err != nil {
		return err
	}
	p.s.setSessionCookies(c, tok, sess.ExpiresAt)
	if err := p.launch.SetRole(ctx, lc.borough.ID, u.ID, profession); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/b/"+b64slug(lc.borough)+"/dashboard")
}

type signinForm struct{ Email, Next string }

func (p *portal) signinForm(c echo.Context) error {
	lc, err := p.ctx(c)
	if err != nil {
		return err
	}
	if lc.user != nil {
		return c.Redirect(http.StatusSeeOther, "/b/"+b64slug(lc.borough)+"/dashboard")
	}
	pg := p.page(c, lc, "Sign in", signinForm{Next: safeNext(lc, c.QueryParam("next"))})
	if c.QueryParam("signup") == "done" {
		pg.Notice = signupDone
	}
	return p.s.render(c, http.StatusOK, "portal_signin", pg)
}

// safeNext keeps a post-sign-in redirect inside this borough's portal.
func safeNext(lc learnerCtx, next string) string {
	prefix := "/b/" + b64slug(lc.borough) + "/"
	if strings.HasPrefix(next, prefix) && !strings.Contains(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return prefix + "dashboard"
}

func (p *portal) signin(c echo.Context) error {
	lc, err := p.ctx(c)
	if err != nil {
		return err
	}
	f := signinForm{Email: strings.TrimSpace(c.FormValue("email")), Next: safeNext(lc, c.FormValue("next"))}
	password := c.FormValue("password")
	var fe web.FormErrors
	if f.Email == "" {
		fe.Add("email", "Enter your email address")
	}
	if password == "" {
		fe.Add("password", "Enter your password")
	}
	if len(fe) == 0 {
		if err := p.s.loginAllowed(c, lc.borough.Slug, f.Email); err != nil {
			return err
		}
		u, tok, sess, err := p.s.deps.Auth.Login(c.Request().Context(), lc.borough.ID, f.Email, password)
		p.s.loginDone(c, lc.borough.Slug, f.Email, err)
		switch {
		case err == nil && u.Role != auth.RoleLearner:
			_ = p.s.deps.Auth.Logout(c.Request().Context(), sess.ID)
			fe.Add("email", "This is an admin account; admins sign in to the admin pages")
		case err == nil:
			p.s.setSessionCookies(c, tok, sess.ExpiresAt)
			return c.Redirect(http.StatusSeeOther, f.Next)
		case errs.Is(err, errs.Unauthorized), errs.Is(err, errs.Forbidden):
			fe.Add("email", "The email address or password is wrong")
		default:
			return err
		}
	}
	pg := p.page(c, lc, "Sign in", f)
	pg.Errors = fe
	return p.s.render(c, http.StatusUnprocessableEntity, "portal_signin", pg)
}

func (p *portal) signout(c echo.Context) error {
	lc, err := p.ctx(c)
	if err != nil {
		return err
	}
	if pr, ok := auth.PrincipalFrom(c.Request().Context()); ok && pr.Kind == auth.KindUser && pr.SessionID != "" {
		if err := p.s.deps.Auth.Logout(c.Request().Context(), pr.SessionID); err != nil {
			return err
		}
	}
	p.s.clearSessionCookies(c)
	return c.Redirect(http.StatusSeeOther, "/b/"+b64slug(lc.borough)+"/")
}

func (p *portal) inviteForm(c echo.Context) error {
	lc, err := p.ctx(c)
	if err != nil {
		return err
	}
	inv, err := p.s.deps.Auth.Invitation(c.Request().Context(), lc.borough.ID, c.Param("token"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	return p.s.render(c, http.StatusOK, "portal_invite", p.page(c, lc, "Accept your invitation",
		accountForm{Email: inv.Email, Token: c.Param("token"), Professions: professionOptions(), PasswordHint: passwordHint}))
}

func (p *portal) acceptInvite(c echo.Context) error {
	lc, err := p.ctx(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	inv, err := p.s.deps.Auth.Invitation(ctx, lc.borough.ID, c.Param("token"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	f := accountForm{Name: strings.TrimSpace(c.FormValue("name")), Email: inv.Email, Token: c.Param("token"),
		Profession: c.FormValue("profession"), Professions: professionOptions(), PasswordHint: passwordHint}
	password := c.FormValue("password")
	fe := checkAccount(f.Name, inv.Email, password, f.Profession)
	if len(fe) == 0 {
		if _, err := p.s.deps.Auth.AcceptInvitation(ctx, lc.borough.ID, c.Param("token"), f.Name, password, f.Profession); err != nil {
			return err
		}
		return p.startSession(c, lc, inv.Email, password, f.Profession)
	}
	pg := p.page(c, lc, "Accept your invitation", f)
	pg.Errors = fe
	return p.s.render(c, http.StatusUnprocessableEntity, "portal_invite", pg)
}

type roleForm struct {
	Profession  string
	Professions []web.Option
}

func (p *portal) roleForm(c echo.Context) error {
	lc, ok, err := p.requireLearner(c)
	if !ok {
		return err
	}
	pg := p.page(c, lc, "Your professional role", roleForm{Profession: lc.user.Profession, Professions: professionOptions()})
	if c.QueryParam("saved") == "1" {
		pg.Notice = "Your role is saved."
	}
	return p.s.render(c, http.StatusOK, "portal_role", pg)
}

func (p *portal) setRole(c echo.Context) error {
	lc, ok, err := p.requireLearner(c)
	if !ok {
		return err
	}
	pr := c.FormValue("profession")
	if !validProfession(pr) {
		pg := p.page(c, lc, "Your professional role", roleForm{Profession: lc.user.Profession, Professions: professionOptions()})
		pg.Errors.Add("profession", "Select your professional role")
		return p.s.render(c, http.StatusUnprocessableEntity, "portal_role", pg)
	}
	ctx := c.Request().Context()
	u := *lc.user
	u.Profession = pr
	if err := p.s.deps.Auth.Store().UpdateUser(ctx, u); err != nil {
		return err
	}
	if err := p.launch.SetRole(ctx, lc.borough.ID, u.ID, pr); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/b/"+b64slug(lc.borough)+"/role?saved=1")
}

type dashboardModule struct {
	launch.ModuleProgress
	// Reviewable modules are finished: they can be opened in Review
	// mode, which records nothing new.
	Reviewable  bool
	StatusClass string
	TimeSpent   string
	Action      string
	Score       string
}

type dashboardData struct {
	RoleLabel        string
	Modules          []dashboardModule
	Done             int
	CertificateReady bool
}

// formatSpent says time spent the way a person would.
func formatSpent(secs float64) string {
	m := int(secs/60 + 0.5)
	switch {
	case secs <= 0:
		return "none yet"
	case m < 1:
		return "less than a minute"
	case m < 60:
		return fmt.Sprintf("%d min", m)
	}
	return fmt.Sprintf("%d h %d min", m/60, m%60)
}

func (p *portal) dashboard(c echo.Context) error {
	lc, ok, err := p.requireLearner(c)
	if !ok {
		return err
	}
	data := dashboardData{RoleLabel: launch.ProfessionLabel(lc.user.Profession)}
	prog, err := p.launch.Progress(c.Request().Context(), lc.borough.ID, lc.user.ID)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return err
	}
	for _, m := range prog.Modules {
		dm := dashboardModule{ModuleProgress: m, StatusClass: strings.ReplaceAll(m.Status, " ", "-"), TimeSpent: formatSpent(m.Seconds)}
		switch m.Status {
		case launch.StatusNotStarted:
			dm.Action = "Start"
		case launch.StatusInProgress:
			dm.Action = "Resume"
		default:
			dm.Action = "Open again"
			dm.Reviewable = m.Status == launch.StatusSatisfied
		}
		if m.Score != nil {
			dm.Score = fmt.Sprintf("%.0f%%", *m.Score*100)
		}
		data.Modules = append(data.Modules, dm)
	}
	data.Done, data.CertificateReady = prog.Done, prog.AllSatisfied
	pg := p.page(c, lc, "My learning", data)
	if m := c.QueryParam("returned"); m != "" {
		pg.Notice = "Welcome back. Your progress is saved."
	}
	return p.s.render(c, http.StatusOK, "portal_dashboard", pg)
}

func (p *portal) launchModule(c echo.Context) error {
	lc, ok, err := p.requireLearner(c)
	if !ok {
		return err
	}
	// Each launch writes statements and documents; a runaway client
	// must not flood the LRS.
	if err := p.s.limit(c, "launch:"+lc.user.ID, 60, 10*time.Minute); err != nil {
		return err
	}
	module := c.Param("module")
	mode := launch.ModeNormal
	if c.FormValue("mode") == launch.ModeReview {
		mode = launch.ModeReview
	}
	res, err := p.launch.Launch(c.Request().Context(), launch.Request{
		Mode:      mode,
		Learner:   launch.Learner{ID: lc.user.ID, BoroughID: lc.borough.ID, Profession: lc.user.Profession, Name: lc.user.Name},
		Module:    module,
		ReturnURL: strings.TrimRight(p.s.cfg.PublicURL, "/") + "/b/" + b64slug(lc.borough) + "/dashboard?returned=" + url.QueryEscape(module),
	})
	if err != nil {
		return err
	}
	// A page on this origin moves on to the content origin: the CSP's
	// form-action would stop a redirect from this form to another origin.
	return p.s.render(c, http.StatusOK, "portal_launching", p.page(c, lc, "Opening "+res.Title,
		map[string]string{"Title": res.Title, "URL": res.URL}))
}

type certificateData struct {
	Name, CourseTitle, Date, Number string
	Modules                         []map[string]string
}

func (p *portal) certificate(c echo.Context) error {
	lc, ok, err := p.requireLearner(c)
	if !ok {
		return err
	}
	prog, err := p.launch.Progress(c.Request().Context(), lc.borough.ID, lc.user.ID)
	if err != nil {
		return err
	}
	if !prog.AllSatisfied {
		return errs.E(errs.Forbidden, "your certificate is ready once you have finished all %d modules; you have finished %d",
			len(prog.Modules), prog.Done)
	}
	var last time.Time
	d := certificateData{Name: lc.user.Name, CourseTitle: prog.CourseTitle}
	for _, m := range prog.Modules {
		at := *m.SatisfiedAt
		if at.After(last) {
			last = at
		}
		d.Modules = append(d.Modules, map[string]string{"Title": m.Title, "Date": at.Format("2 January 2006")})
	}
	d.Date = last.Format("2 January 2006")
	sum := sha256.Sum256([]byte(lc.borough.ID + "|" + lc.user.ID + "|" + prog.CourseTitle))
	d.Number = strings.ToUpper(hex.EncodeToString(sum[:5]))
	return p.s.render(c, http.StatusOK, "certificate", p.page(c, lc, "Certificate", d))
}
