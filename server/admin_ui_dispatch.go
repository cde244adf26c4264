package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/content/dispatch"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/server/web"
)

// The "Other LMSs" pages: a borough's course dispatches (content/dispatch)
// with their learners so far, a form to create one, the cmi5 and SCORM 1.2
// package downloads of a live one, and its revocation behind a
// confirmation page. Changes and exports go through dispatchService, so
// they are audited exactly as the JSON API audits them.

func (s *adminUI) mountAdminDispatch(g *echo.Group) {
	if s.svc.Dispatch == nil || s.svc.Content == nil {
		return
	}
	g.GET("/:borough/dispatches", s.admin(boroughAdmin, s.adminDispatchesPage))
	g.POST("/:borough/dispatches", s.admin(boroughAdmin, s.adminCreateDispatch))
	g.GET("/:borough/dispatches/:id/cmi5", s.admin(boroughAdmin, s.adminExportDispatch(formatCMI5)))
	g.GET("/:borough/dispatches/:id/scorm12", s.admin(boroughAdmin, s.adminExportDispatch(formatSCORM12)))
	g.GET("/:borough/dispatches/:id/revoke", s.admin(boroughAdmin, s.adminRevokeDispatchPage))
	g.POST("/:borough/dispatches/:id/revoke", s.admin(boroughAdmin, s.adminRevokeDispatch))
}

// dispatches is the dispatch service the JSON API uses, over the admin
// UI's server and services.
func (s *adminUI) dispatches() dispatchService {
	return dispatchService{s: s.Server, store: s.svc.Dispatch, pkgs: s.svc.Content}
}

// dispatchRow is a dispatch as the table shows it.
type dispatchRow struct {
	dispatch.Dispatch
	Learners  int    // LMS students mapped to learners (SCORM 1.2)
	CreatedBy string // the creator's email, or their account id
}

func (s *adminUI) dispatchesData(c echo.Context, v adminView) (map[string]any, error) {
	ctx := c.Request().Context()
	ds, err := s.svc.Dispatch.List(ctx, v.B.ID)
	if err != nil {
		return nil, err
	}
	counts, err := s.svc.Dispatch.LearnerCounts(ctx, v.B.ID)
	if err != nil {
		return nil, err
	}
	// Creators are account ids; people read them as email addresses.
	emails := map[string]string{}
	rows := make([]dispatchRow, len(ds))
	for i, d := range ds {
		if _, ok := emails[d.CreatedBy]; !ok {
			emails[d.CreatedBy] = d.CreatedBy
			if u, err := s.deps.Auth.Store().UserByID(ctx, d.CreatedBy); err == nil {
				emails[d.CreatedBy] = u.Email
			}
		}
		rows[i] = dispatchRow{Dispatch: d, Learners: counts[d.ID], CreatedBy: emails[d.CreatedBy]}
	}
	data := map[string]any{"Dispatches": rows, "Form": map[string]string{"name": "", "learnerLimit": "0"}}
	if pub, err := s.svc.Content.PublishedVersion(ctx, v.B.ID); err == nil {
		data["Published"] = pub.Number
	}
	return data, nil
}

func (s *adminUI) adminDispatchesPage(c echo.Context, v adminView) error {
	data, err := s.dispatchesData(c, v)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "admin_dispatches", s.adminPage(c, v, "Other LMSs", "dispatches", data))
}

// dispatchField names the form field a dispatch error is about.
func dispatchField(msg string) string {
	if strings.Contains(strings.ToLower(msg), "limit") {
		return "learnerLimit"
	}
	return "name"
}

func (s *adminUI) adminCreateDispatch(c echo.Context, v adminView) error {
	form := map[string]string{"name": strings.TrimSpace(c.FormValue("name")), "learnerLimit": strings.TrimSpace(c.FormValue("learnerLimit"))}
	var fe web.FormErrors
	if form["name"] == "" {
		fe.Add("name", "Enter a name that says which LMS the course goes to")
	}
	limit, err := strconv.Atoi(form["learnerLimit"])
	switch {
	case err != nil:
		fe.Add("learnerLimit", "Enter the learner limit as a whole number, such as 50, or 0 for no limit")
	case limit < 0:
		fe.Add("learnerLimit", "The learner limit must be 0 (no limit) or more")
	case limit > dispatch.MaxLearnerLimit:
		fe.Add("learnerLimit", "The learner limit must be at most "+strconv.Itoa(dispatch.MaxLearnerLimit)+"; enter 0 for no limit")
	}
	if len(fe) == 0 {
		_, err := s.dispatches().createDispatch(c.Request().Context(), v.B, v.P.Subject, form["name"], limit)
		if err == nil {
			return done(c, "/admin/"+v.B.Slug+"/dispatches", "dispatchcreated")
		}
		if err := formError(err, dispatchField(errs.MessageOf(err)), &fe); err != nil {
			return err
		}
	}
	data, err := s.dispatchesData(c, v)
	if err != nil {
		return err
	}
	data["Form"] = form
	pg := s.adminPage(c, v, "Other LMSs", "dispatches", data)
	pg.Errors = fe
	return s.render(c, http.StatusBadRequest, "admin_dispatches", pg)
}

// adminExportDispatch sends a live dispatch's package in format; a revoked
// or unknown dispatch is an error page.
func (s *adminUI) adminExportDispatch(format string) func(echo.Context, adminView) error {
	return func(c echo.Context, v adminView) error {
		name, zipped, err := s.dispatches().exportDispatch(c.Request().Context(), v.B, v.P.Subject, c.Param("id"), format)
		if err != nil {
			return err
		}
		return sendZip(c, name, zipped)
	}
}

func (s *adminUI) adminRevokeDispatchPage(c echo.Context, v adminView) error {
	d, err := s.svc.Dispatch.Get(c.Request().Context(), v.B.ID, c.Param("id"))
	if err != nil {
		return err
	}
	n, err := s.svc.Dispatch.CountLearners(c.Request().Context(), d.ID)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "admin_dispatch_revoke", s.adminPage(c, v, "Revoke "+d.Name, "dispatches",
		map[string]any{"Dispatch": d, "Learners": n}))
}

func (s *adminUI) adminRevokeDispatch(c echo.Context, v adminView) error {
	if _, err := s.dispatches().revokeDispatch(c.Request().Context(), v.B, v.P.Subject, c.Param("id")); err != nil {
		return err
	}
	return done(c, "/admin/"+v.B.Slug+"/dispatches", "dispatchrevoked")
}
