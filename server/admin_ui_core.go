package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/content/launch"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/server/web"
)

// Page sizes of the learner list and the audit log.
const (
	adminLearnersPageSize = 25
	adminAuditPageSize    = 100
)

// learnerRow is a learner as the list shows them.
type learnerRow struct {
	auth.Learner
	ProfessionLabel string
	Erased          bool
}

func (s *adminUI) learnersData(c echo.Context, v adminView) (map[string]any, error) {
	page := 1
	if p, err := strconv.Atoi(c.QueryParam("page")); err == nil && p > 1 {
		page = p
	}
	q := auth.LearnerQuery{BoroughID: v.B.ID, Search: c.QueryParam("q"), Status: c.QueryParam("status"),
		Limit: adminLearnersPageSize, Offset: (page - 1) * adminLearnersPageSize}
	res, err := s.deps.Auth.ListLearners(c.Request().Context(), q)
	if err != nil {
		return nil, err
	}
	rows := make([]learnerRow, len(res.Learners))
	for i, l := range res.Learners {
		rows[i] = learnerRow{Learner: l, ProfessionLabel: launch.ProfessionLabel(l.Profession), Erased: auth.IsErased(l.User)}
	}
	link := func(p int) string {
		u := url.Values{}
		if q.Search != "" {
			u.Set("q", q.Search)
		}
		if q.Status != "" {
			u.Set("status", q.Status)
		}
		if p > 1 {
			u.Set("page", strconv.Itoa(p))
		}
		if len(u) == 0 {
			return "?"
		}
		return "?" + u.Encode()
	}
	data := map[string]any{"Learners": rows, "Total": res.Total, "Search": q.Search, "Status": q.Status, "Page": page,
		"From": q.Offset + 1, "To": q.Offset + len(rows),
		"Statuses": []web.Option{{Value: "", Label: "Any status"}, {Value: auth.StatusActive, Label: "Active"},
			{Value: auth.StatusDeactivated, Label: "Deactivated"}}}
	if page > 1 {
		data["Prev"] = link(page - 1)
	}
	if q.Offset+len(rows) < res.Total {
		data["Next"] = link(page + 1)
	}
	invs, err := s.deps.Auth.ListInvitations(c.Request().Context(), v.B.ID)
	if err != nil {
		return nil, err
	}
	var open []auth.Invitation
	for _, inv := range invs {
		if inv.AcceptedAt == nil {
			open = append(open, inv)
		}
	}
	data["Invitations"] = open
	return data, nil
}

func (s *adminUI) adminLearnersPage(c echo.Context, v adminView) error {
	data, err := s.learnersData(c, v)
	if errs.Is(err, errs.Invalid) {
		// A bad filter in the URL: show the page unfiltered with the reason.
		c.QueryParams().Del("q")
		c.QueryParams().Del("status")
		data, err = s.learnersData(c, v)
		if err == nil {
			pg := s.adminPage(c, v, "Learners", "learners", data)
			pg.Errors.Add("q", "That search could not be used; showing every learner")
			return s.render(c, http.StatusBadRequest, "admin_learners", pg)
		}
	}
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "admin_learners", s.adminPage(c, v, "Learners", "learners", data))
}

func (s *adminUI) adminInvite(c echo.Context, v adminView) error {
	email := strings.TrimSpace(c.FormValue("email"))
	var fe web.FormErrors
	var invited map[string]string
	if email == "" {
		fe.Add("email", "Enter the email address of the person to invite")
	} else {
		inv, tok, err := s.deps.Auth.Invite(c.Request().Context(), v.P.Subject, v.B.ID, email)
		if err != nil {
			if err := formError(err, "email", &fe); err != nil {
				return err
			}
		} else {
			invited = map[string]string{"Email": inv.Email, "URL": s.inviteURL(v.B, tok), "Expires": inv.ExpiresAt.Format("2 January 2006")}
		}
	}
	data, err := s.learnersData(c, v)
	if err != nil {
		return err
	}
	data["Invited"] = invited
	if len(fe) > 0 {
		data["InviteEmail"] = email
	}
	pg := s.adminPage(c, v, "Learners", "learners", data)
	pg.Errors = fe
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, statusFor(fe), "admin_learners", pg)
}

func (s *adminUI) adminCancelInvitation(c echo.Context, v adminView) error {
	if err := s.deps.Auth.CancelInvitation(c.Request().Context(), v.P.Subject, v.B.ID, c.Param("id")); err != nil {
		return err
	}
	return done(c, "/admin/"+v.B.Slug+"/learners", "cancelled")
}

func (s *adminUI) adminSetActive(active bool) func(echo.Context, adminView) error {
	return func(c echo.Context, v adminView) error {
		if _, err := s.setLearnerActive(c.Request().Context(), v.P.Subject, v.B.ID, c.Param("id"), active); err != nil {
			return err
		}
		notice := "deactivated"
		if active {
			notice = "reactivated"
		}
		return done(c, "/admin/"+v.B.Slug+"/learners", notice)
	}
}

func (s *adminUI) adminErasePage(c echo.Context, v adminView) error {
	u, err := s.deps.Auth.LearnerIn(c.Request().Context(), v.B.ID, c.Param("id"))
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "admin_learner_erase", s.adminPage(c, v, "Erase a learner", "learners",
		map[string]any{"Learner": u, "Erased": auth.IsErased(u)}))
}

func (s *adminUI) adminErase(c echo.Context, v adminView) error {
	ctx := c.Request().Context()
	u, err := s.deps.Auth.LearnerIn(ctx, v.B.ID, c.Param("id"))
	if err != nil {
		return err
	}
	if c.FormValue("confirm") != "yes" {
		pg := s.adminPage(c, v, "Erase a learner", "learners", map[string]any{"Learner": u, "Erased": auth.IsErased(u)})
		pg.Errors.Add("confirm", "Tick the box to confirm that you want to erase this learner's data")
		return s.render(c, http.StatusBadRequest, "admin_learner_erase", pg)
	}
	if _, err := s.eraseLearner(ctx, v.P.Subject, v.B, u.ID); err != nil {
		return err
	}
	return done(c, "/admin/"+v.B.Slug+"/learners", "erased")
}

// --- LRS credentials ---------------------------------------------------

// credentialScopes are the scope choices the create form offers.
// The narrowest, reading statements, comes first and is the default: it is
// what an LMS showing its learners' results needs.
var credentialScopes = []web.Option{
	{Value: string(auth.ScopeStatementsRead), Label: "Read statements only", Hint: "For an LMS or dashboard that shows learners' results. The safest choice."},
	{Value: string(auth.ScopeAll), Label: "Read and write everything", Hint: "For an LMS that sends and reads statements and documents."},
	{Value: string(auth.ScopeAllRead), Label: "Read everything", Hint: "For reporting tools: statements and documents, no writing."},
	{Value: string(auth.ScopeStatementsWrite), Label: "Send statements only", Hint: "For a system that records learning here but reads nothing."},
}

func (s *adminUI) credentialsData(c echo.Context, v adminView) (map[string]any, error) {
	creds, err := s.deps.Auth.Store().ListCredentials(c.Request().Context(), v.B.ID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Credentials": creds, "Scopes": credentialScopes, "Scope": string(auth.ScopeStatementsRead),
		"Endpoint": s.cfg.PublicURL + "/xapi/"}, nil
}

func (s *adminUI) adminCredentialsPage(c echo.Context, v adminView) error {
	data, err := s.credentialsData(c, v)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "admin_credentials", s.adminPage(c, v, "LRS credentials", "credentials", data))
}

func (s *adminUI) adminCreateCredential(c echo.Context, v adminView) error {
	name, scope := strings.TrimSpace(c.FormValue("name")), c.FormValue("scope")
	var fe web.FormErrors
	var created map[string]string
	scopes, err := auth.ParseScopes(scope)
	switch {
	case name == "":
		fe.Add("name", "Enter a name that says which system will use the credential")
	case scope == "" || err != nil:
		fe.Add("scope", "Choose what the credential may do")
	default:
		cred, secret, err := s.deps.Auth.CreateCredential(c.Request().Context(), v.P.Subject, v.B.ID, name, scopes)
		if err != nil {
			if err := formError(err, "name", &fe); err != nil {
				return err
			}
		} else {
			created = map[string]string{"Name": cred.Name, "Key": cred.Key, "Secret": secret}
		}
	}
	data, err := s.credentialsData(c, v)
	if err != nil {
		return err
	}
	data["Created"] = created
	if len(fe) > 0 {
		data["Name"], data["Scope"] = name, scope
	}
	pg := s.adminPage(c, v, "LRS credentials", "credentials", data)
	pg.Errors = fe
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, statusFor(fe), "admin_credentials", pg)
}

func (s *adminUI) adminRevokeCredential(c echo.Context, v adminView) error {
	if err := s.deps.Auth.RevokeCredential(c.Request().Context(), v.P.Subject, v.B.ID, c.Param("id")); err != nil {
		return err
	}
	return done(c, "/admin/"+v.B.Slug+"/credentials", "revoked")
}

// --- audit log ---------------------------------------------------------

func (s *adminUI) adminAuditPage(c echo.Context, v adminView) error {
	before, _ := strconv.ParseInt(c.QueryParam("before"), 10, 64)
	if before < 0 {
		before = 0
	}
	entries, err := s.deps.Auth.AuditPage(c.Request().Context(), v.B.ID, before, adminAuditPageSize+1)
	if err != nil {
		return err
	}
	older := ""
	if len(entries) > adminAuditPageSize {
		entries = entries[:adminAuditPageSize]
		older = "?before=" + strconv.FormatInt(entries[len(entries)-1].ID, 10)
	}
	// Actors are account ids; people read them as email addresses.
	actors := map[string]string{}
	for _, e := range entries {
		if _, done := actors[e.Actor]; done {
			continue
		}
		actors[e.Actor] = e.Actor
		if u, err := s.deps.Auth.Store().UserByID(c.Request().Context(), e.Actor); err == nil {
			actors[e.Actor] = u.Email
		}
	}
	data := map[string]any{"Entries": entries, "Actors": actors, "Older": older, "Paged": before > 0}
	if v.B.ID == "" {
		// London-wide: name each entry's borough.
		bs, err := s.deps.Auth.Store().ListBoroughs(c.Request().Context())
		if err != nil {
			return err
		}
		names := map[string]string{}
		for _, b := range bs {
			names[b.ID] = b.Name
		}
		data["BoroughNames"] = names
	}
	return s.render(c, http.StatusOK, "admin_audit", s.adminPage(c, v, "Audit log", "audit", data))
}

// --- boroughs and their admins (platform admins) -------------------------

func (s *adminUI) adminBoroughsPage(c echo.Context, v adminView) error {
	bs, err := s.deps.Auth.Store().ListBoroughs(c.Request().Context())
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "admin_boroughs", s.adminPage(c, v, "Boroughs", "boroughs", map[string]any{"Boroughs": bs, "PublishCourse": true}))
}

func (s *adminUI) adminCreateBorough(c echo.Context, v adminView) error {
	ctx := c.Request().Context()
	slug, name := strings.ToLower(strings.TrimSpace(c.FormValue("slug"))), strings.TrimSpace(c.FormValue("name"))
	if slug == "" {
		slug = auth.SlugFrom(name)
	}
	// The form's checkbox is ticked by default; unticked, the borough
	// starts with no course version.
	withCourse := c.FormValue("publishCourse") != ""
	var fe web.FormErrors
	if slug == "" {
		fe.Add("slug", "Enter the borough's name or its short name for web addresses, such as camden")
	} else if b, err := s.createBoroughWithCourse(ctx, v.P.Subject, slug, name, withCourse); err != nil {
		if err := formError(err, "slug", &fe); err != nil {
			return err
		}
	} else {
		return c.Redirect(http.StatusSeeOther, "/admin/"+b.Slug+"/admins?notice=boroughcreated")
	}
	bs, err := s.deps.Auth.Store().ListBoroughs(ctx)
	if err != nil {
		return err
	}
	pg := s.adminPage(c, v, "Boroughs", "boroughs", map[string]any{"Boroughs": bs, "Slug": slug, "Name": name, "PublishCourse": withCourse})
	pg.Errors = fe
	return s.render(c, statusFor(fe), "admin_boroughs", pg)
}

func (s *adminUI) adminAdminsData(c echo.Context, v adminView) (map[string]any, error) {
	admins, err := s.deps.Auth.ListBoroughAdmins(c.Request().Context(), v.B.ID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Admins": admins}, nil
}

func (s *adminUI) adminAdminsPage(c echo.Context, v adminView) error {
	data, err := s.adminAdminsData(c, v)
	if err != nil {
		return err
	}
	pg := s.adminPage(c, v, "Borough admins", "admins", data)
	if c.QueryParam("notice") == "boroughcreated" {
		pg.Notice = "The borough " + v.B.Name + " was created. Add its first admin below."
	}
	return s.render(c, http.StatusOK, "admin_admins", pg)
}

func (s *adminUI) adminCreateAdmin(c echo.Context, v adminView) error {
	email, name := strings.TrimSpace(c.FormValue("email")), strings.TrimSpace(c.FormValue("name"))
	var fe web.FormErrors
	var created map[string]string
	if email == "" {
		fe.Add("email", "Enter the new admin's email address")
	} else {
		u, pw, err := s.deps.Auth.CreateUser(c.Request().Context(), v.P.Subject, auth.NewUser{BoroughID: v.B.ID,
			Email: email, Name: name, Role: auth.RoleBoroughAdmin})
		if err != nil {
			if err := formError(err, "email", &fe); err != nil {
				return err
			}
		} else {
			created = map[string]string{"Email": u.Email, "Password": pw}
		}
	}
	data, err := s.adminAdminsData(c, v)
	if err != nil {
		return err
	}
	data["Created"] = created
	if len(fe) > 0 {
		data["Email"], data["Name"] = email, name
	}
	pg := s.adminPage(c, v, "Borough admins", "admins", data)
	pg.Errors = fe
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, statusFor(fe), "admin_admins", pg)
}

// --- one learner ---------------------------------------------------------

// moduleRow is one AU of a learner's registration, as the page shows it.
type moduleRow struct {
	launch.AUStatus
	Registration string
	State        string
	Minutes      int
}

func auState(a launch.AUStatus) string {
	switch {
	case a.WaivedAt != nil:
		return "Waived (" + a.WaiveReason + ")"
	case a.SatisfiedAt != nil:
		return "Satisfied"
	case a.PassedAt != nil:
		return "Passed"
	case a.CompletedAt != nil:
		return "Completed"
	case a.FailedAt != nil:
		return "Failed"
	case a.Launches > 0:
		return "In progress"
	}
	return "Not started"
}

func (s *adminUI) learnerPageData(c echo.Context, v adminView) (map[string]any, error) {
	ctx := c.Request().Context()
	u, err := s.deps.Auth.LearnerIn(ctx, v.B.ID, c.Param("id"))
	if err != nil {
		return nil, err
	}
	data := map[string]any{"Learner": u, "Erased": auth.IsErased(u), "ProfessionLabel": launch.ProfessionLabel(u.Profession)}
	if s.svc.Launch != nil {
		regs, err := s.svc.Launch.Registrations(ctx, v.B.ID, u.ID)
		if err != nil {
			return nil, err
		}
		var rows []moduleRow
		for _, r := range regs {
			for _, a := range r.AUs {
				rows = append(rows, moduleRow{AUStatus: a, Registration: r.ID, State: auState(a), Minutes: int(a.SecondsSpent / 60)})
			}
		}
		data["Modules"], data["Reasons"] = rows, launch.WaiveReasons
	}
	return data, nil
}

func (s *adminUI) adminLearnerPage(c echo.Context, v adminView) error {
	data, err := s.learnerPageData(c, v)
	if err != nil {
		return err
	}
	name := data["Learner"].(auth.User).Name
	return s.render(c, http.StatusOK, "admin_learner", s.adminPage(c, v, name, "learners", data))
}

// adminWaive marks one module of a learner's registration waived (cmi5
// §9.5.4.1), for a learner who met it another way.
func (s *adminUI) adminWaive(c echo.Context, v adminView) error {
	if s.svc.Launch == nil {
		return errs.E(errs.NotFound, "waiving is not available")
	}
	ctx := c.Request().Context()
	u, err := s.deps.Auth.LearnerIn(ctx, v.B.ID, c.Param("id"))
	if err != nil {
		return err
	}
	reg, au, reason := c.FormValue("registration"), c.FormValue("au"), c.FormValue("reason")
	err = s.svc.Launch.Waive(ctx, v.B.ID, u.ID, reg, au, reason)
	if err == nil {
		s.deps.Auth.Audit(ctx, v.B.ID, v.P.Subject, "registration.waive", u.ID,
			map[string]any{"registration": reg, "au": au, "reason": reason})
		return done(c, "/admin/"+v.B.Slug+"/learners/"+u.ID, "waived")
	}
	var fe web.FormErrors
	if err := formError(err, "reason-"+c.FormValue("row"), &fe); err != nil {
		return err
	}
	data, derr := s.learnerPageData(c, v)
	if derr != nil {
		return derr
	}
	pg := s.adminPage(c, v, u.Name, "learners", data)
	pg.Errors = fe
	return s.render(c, http.StatusBadRequest, "admin_learner", pg)
}
