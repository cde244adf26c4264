package server

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs/forward"
	"github.com/reach-london/reach/server/web"
)

// The forwarding pages: a borough's targets with their delivery status
// (lag, age of the oldest undelivered statement, failures, next retry),
// and forms to add, pause, resume, test and delete targets.

func (s *adminUI) mountAdminForwarding(g *echo.Group) {
	if s.svc.Forwarding == nil {
		return
	}
	g.GET("/:borough/forwarding", s.admin(boroughAdmin, s.adminForwardingPage))
	g.POST("/:borough/forwarding", s.admin(boroughAdmin, s.adminCreateTarget))
	g.GET("/:borough/forwarding/:id", s.admin(boroughAdmin, s.adminTargetPage))
	g.POST("/:borough/forwarding/:id", s.admin(boroughAdmin, s.adminUpdateTarget))
	g.POST("/:borough/forwarding/:id/pause", s.admin(boroughAdmin, s.adminSetTargetEnabled(false)))
	g.POST("/:borough/forwarding/:id/resume", s.admin(boroughAdmin, s.adminSetTargetEnabled(true)))
	g.POST("/:borough/forwarding/:id/delete", s.admin(boroughAdmin, s.adminDeleteTarget))
	g.POST("/:borough/forwarding/:id/test", s.admin(boroughAdmin, s.adminTestTarget))
}

// targetRow is a target as the status table shows it.
type targetRow struct {
	forward.Status
	Health string // ok, failing, paused, behind
	Age    string // age of the oldest undelivered statement, for people
}

// ageText says how old something is in the largest sensible unit.
func ageText(secs float64) string {
	d := time.Duration(secs) * time.Second
	switch {
	case d <= 0:
		return "none waiting"
	case d < time.Minute:
		return fmt.Sprintf("%d seconds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

func healthOf(st forward.Status) string {
	switch {
	case !st.Enabled:
		return "paused"
	case st.LastError != "" && st.Attempts > 0:
		return "failing"
	case st.Lag > 0:
		return "behind"
	}
	return "ok"
}

var (
	versionOptions = []web.Option{{Value: forward.Version103, Label: "xAPI 1.0.3", Hint: "Most LRSs."},
		{Value: forward.Version200, Label: "xAPI 2.0"}}
	authOptions = []web.Option{{Value: forward.AuthBasic, Label: "Key and secret (HTTP Basic)"},
		{Value: forward.AuthBearer, Label: "Token (Bearer)", Hint: "Leave the key empty."}}
)

func (s *adminUI) forwardingData(c echo.Context, v adminView) (map[string]any, error) {
	sts, err := s.svc.Forwarding.Statuses(c.Request().Context(), v.B.ID)
	if err != nil {
		return nil, err
	}
	rows := make([]targetRow, len(sts))
	for i, st := range sts {
		rows[i] = targetRow{Status: st, Health: healthOf(st), Age: ageText(st.OldestUndeliveredSeconds)}
	}
	return map[string]any{"Targets": rows, "Versions": versionOptions, "Auths": authOptions,
		"Form": map[string]string{"version": forward.Version103, "authType": forward.AuthBasic}}, nil
}

func (s *adminUI) adminForwardingPage(c echo.Context, v adminView) error {
	data, err := s.forwardingData(c, v)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "admin_forwarding", s.adminPage(c, v, "Forwarding", "forwarding", data))
}

// lines splits a textarea into its non-empty lines.
func lines(s string) []string {
	out := []string{}
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// targetField names the form field a forwarding error is about, from the
// words of the content room's message.
func targetField(msg string) string {
	m := strings.ToLower(msg)
	for _, f := range []struct{ word, field string }{{"endpoint", "endpoint"}, {"name", "name"}, {"verb", "verbs"},
		{"activit", "activities"}, {"key", "authKey"}, {"secret", "secret"}, {"token", "secret"}, {"version", "version"}, {"auth", "authType"}} {
		if strings.Contains(m, f.word) {
			return f.field
		}
	}
	return "name"
}

func (s *adminUI) adminCreateTarget(c echo.Context, v adminView) error {
	form := map[string]string{}
	for _, k := range []string{"name", "endpoint", "version", "authType", "authKey", "secret", "verbs", "activities", "backfill"} {
		form[k] = strings.TrimSpace(c.FormValue(k))
	}
	verbs, acts := lines(form["verbs"]), lines(form["activities"])
	enabled := true
	name, endpoint, version, authType, key, secret := form["name"], form["endpoint"], form["version"], form["authType"], form["authKey"], c.FormValue("secret")
	in := forward.Input{Name: &name, Endpoint: &endpoint, Version: &version, AuthType: &authType, AuthKey: &key, Secret: &secret,
		Verbs: &verbs, Activities: &acts, Enabled: &enabled, Backfill: form["backfill"] == "yes"}
	_, err := s.svc.Forwarding.Create(c.Request().Context(), v.P.Subject, v.B.ID, in)
	if err == nil {
		return done(c, "/admin/"+v.B.Slug+"/forwarding", "targetcreated")
	}
	var fe web.FormErrors
	if err := formError(err, targetField(errs.MessageOf(err)), &fe); err != nil {
		return err
	}
	data, derr := s.forwardingData(c, v)
	if derr != nil {
		return derr
	}
	form["secret"] = "" // never sent back to the browser
	data["Form"] = form
	pg := s.adminPage(c, v, "Forwarding", "forwarding", data)
	pg.Errors = fe
	return s.render(c, http.StatusBadRequest, "admin_forwarding", pg)
}

func (s *adminUI) adminSetTargetEnabled(enabled bool) func(echo.Context, adminView) error {
	return func(c echo.Context, v adminView) error {
		if _, err := s.svc.Forwarding.SetEnabled(c.Request().Context(), v.P.Subject, v.B.ID, c.Param("id"), enabled); err != nil {
			return err
		}
		notice := "paused"
		if enabled {
			notice = "resumed"
		}
		return done(c, "/admin/"+v.B.Slug+"/forwarding", notice)
	}
}

func (s *adminUI) adminDeleteTarget(c echo.Context, v adminView) error {
	if err := s.svc.Forwarding.Delete(c.Request().Context(), v.P.Subject, v.B.ID, c.Param("id")); err != nil {
		return err
	}
	return done(c, "/admin/"+v.B.Slug+"/forwarding", "deleted")
}

func (s *adminUI) adminTestTarget(c echo.Context, v adminView) error {
	res, err := s.svc.Forwarding.SendTest(c.Request().Context(), v.P.Subject, v.B.ID, c.Param("id"), s.cfg.PublicURL)
	if err != nil {
		return err
	}
	data, err := s.forwardingData(c, v)
	if err != nil {
		return err
	}
	data["Test"] = res
	return s.render(c, http.StatusOK, "admin_forwarding", s.adminPage(c, v, "Forwarding", "forwarding", data))
}

// targetForm is a target's settings as the change form shows them.
func targetForm(t forward.Target) map[string]string {
	return map[string]string{"name": t.Name, "endpoint": t.Endpoint, "version": t.Version, "authType": t.AuthType,
		"authKey": t.AuthKey, "verbs": strings.Join(t.Filter.Verbs, "\n"), "activities": strings.Join(t.Filter.Activities, "\n")}
}

func targetPageData(t forward.Target, form map[string]string) map[string]any {
	return map[string]any{"Target": t, "Form": form, "Versions": versionOptions, "Auths": authOptions, "Editing": true,
		"SecretHint": "Leave empty to keep the current one. A new sign-in method needs a new secret."}
}

func (s *adminUI) adminTargetPage(c echo.Context, v adminView) error {
	st, err := s.svc.Forwarding.Status(c.Request().Context(), v.B.ID, c.Param("id"))
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "admin_forwarding_target", s.adminPage(c, v, "Change "+st.Name, "forwarding",
		targetPageData(st.Target, targetForm(st.Target))))
}

// adminUpdateTarget changes a target's settings; the secret changes only
// when a new one is typed, and delivery carries on from where it was.
func (s *adminUI) adminUpdateTarget(c echo.Context, v adminView) error {
	ctx := c.Request().Context()
	st, err := s.svc.Forwarding.Status(ctx, v.B.ID, c.Param("id"))
	if err != nil {
		return err
	}
	form := map[string]string{}
	for _, k := range []string{"name", "endpoint", "version", "authType", "authKey", "verbs", "activities"} {
		form[k] = strings.TrimSpace(c.FormValue(k))
	}
	verbs, acts := lines(form["verbs"]), lines(form["activities"])
	name, endpoint, version, authType, key := form["name"], form["endpoint"], form["version"], form["authType"], form["authKey"]
	in := forward.Input{Name: &name, Endpoint: &endpoint, Version: &version, AuthType: &authType, AuthKey: &key,
		Verbs: &verbs, Activities: &acts}
	if secret := c.FormValue("secret"); secret != "" {
		in.Secret = &secret
	}
	_, err = s.svc.Forwarding.Update(ctx, v.P.Subject, v.B.ID, st.ID, in)
	if err == nil {
		return done(c, "/admin/"+v.B.Slug+"/forwarding", "targetsaved")
	}
	var fe web.FormErrors
	if err := formError(err, targetField(errs.MessageOf(err)), &fe); err != nil {
		return err
	}
	pg := s.adminPage(c, v, "Change "+st.Name, "forwarding", targetPageData(st.Target, form))
	pg.Errors = fe
	return s.render(c, http.StatusBadRequest, "admin_forwarding_target", pg)
}
