package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/reach-london/reach/content/dispatch"
	"github.com/reach-london/reach/content/launch"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/reachtest"
	"github.com/reach-london/reach/lrs/forward"
)

// TestAdminPagesAccessible opens every admin page in headless Chromium at
// phone and desktop widths and fails on any axe-core violation or any
// page wider than the viewport; pages showing errors, secrets and
// confirmations are audited too. It also walks the sign-in with the
// keyboard alone.
func TestAdminPagesAccessible(t *testing.T) {
	r := reachtest.Start(t, reachtest.Backends()[0])
	axe := axeSource(t)
	ctx := startChromium(t)
	bg := context.Background()
	b, _ := r.App.Auth.BoroughBySlug(bg, "london")
	for _, n := range []auth.NewUser{
		{BoroughID: b.ID, Email: "ada@example.org", Name: "Ada Lovelace", Role: auth.RoleLearner, Profession: "gp", Password: "a long learner password 1"},
		{BoroughID: b.ID, Email: "bob@example.org", Name: "Bob Builder", Role: auth.RoleLearner, Password: "a long learner password 1"},
	} {
		if _, _, err := r.App.Auth.CreateUser(bg, "test", n); err != nil {
			t.Fatal(err)
		}
	}
	learners, _ := r.App.Auth.ListLearners(bg, auth.LearnerQuery{BoroughID: b.ID})
	if _, err := r.App.Auth.SetLearnerActive(bg, "test", b.ID, learners.Learners[0].ID, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.App.Auth.CreateCredential(bg, "test", b.ID, "Old LMS", []auth.Scope{auth.ScopeAll}); err != nil {
		t.Fatal(err)
	}
	pub, _ := r.App.Content().PublishedVersion(bg, b.ID)
	ada := learners.Learners[1]
	if _, err := r.App.Launch().Launch(bg, launch.Request{Learner: launch.Learner{ID: ada.ID, BoroughID: b.ID, Profession: "gp"},
		Module: pub.Modules[0].Module, ReturnURL: r.URL + "/"}); err != nil {
		t.Fatal(err)
	}

	// Sign in with the keyboard: the skip link comes first, then the form.
	run(t, ctx, chromedp.EmulateViewport(360, 800))
	run(t, ctx, chromedp.Navigate(r.URL+"/admin/"))
	until(t, ctx, "the sign-in page", `location.pathname === "/admin/signin"`)
	audit(t, ctx, axe, "sign-in")
	run(t, ctx, chromedp.KeyEvent("\t"))
	if got := js[string](t, ctx, `document.activeElement.className`); got != "skip-link" {
		t.Errorf("first Tab focuses %q, want the skip link", got)
	}
	run(t, ctx, chromedp.KeyEvent("\r"))
	if got := js[string](t, ctx, `document.activeElement.id`); got != "main" {
		t.Errorf("the skip link moved focus to %q, want main", got)
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	until(t, ctx, "the error summary", `!!document.querySelector(".error-summary")`)
	audit(t, ctx, axe, "sign-in with errors")
	run(t, ctx, chromedp.Focus(chromedp.CSS("#f-email")))
	run(t, ctx, chromedp.KeyEvent(r.AdminEmail), chromedp.KeyEvent("\t"), chromedp.KeyEvent(r.AdminPassword), chromedp.KeyEvent("\r"))
	// The first admin's password is a one-time one: change it first.
	until(t, ctx, "the password page", `location.pathname === "/admin/password" && !!document.querySelector("h1")`)
	audit(t, ctx, axe, "password")
	js[bool](t, ctx, `document.querySelector("#f-current").value = "x"; document.querySelector("main form button").click(); true`)
	until(t, ctx, "the error summary", `!!document.querySelector(".error-summary")`)
	audit(t, ctx, axe, "password with errors")
	run(t, ctx, chromedp.SendKeys(chromedp.CSS("#f-current"), r.AdminPassword), chromedp.SendKeys(chromedp.CSS("#f-new"), "a brand new password"),
		chromedp.Click(chromedp.CSS("main form button")))
	until(t, ctx, "the admin home", `location.pathname === "/admin/" && !!document.querySelector(".notice")`)

	pages := []string{"/admin/", "/admin/boroughs", "/admin/audit", "/admin/london/", "/admin/london/learners",
		"/admin/london/learners?q=zzz", "/admin/london/learners/" + learners.Learners[1].ID + "/erase",
		"/admin/london/credentials", "/admin/london/audit", "/admin/london/admins", "/admin/london/course",
		"/admin/london/course/slots", "/admin/london/forwarding", "/admin/password", "/admin/london/learners/" + ada.ID,
		"/admin/london/export", "/admin/london/export/statements?from=bad", "/admin/london/reports", "/admin/reports"}
	fwd, err := r.App.Forwarding().Create(bg, "test", b.ID, forwardInput("Council LRS", "https://lrs.example.org/xapi/"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, "/admin/london/forwarding/"+fwd.ID, "/admin/nope/")
	// Other LMSs: one live dispatch and one revoked.
	dispatches := dispatch.NewStore(r.App.DB)
	live, err := dispatches.Create(bg, b.ID, "test", "Trust Moodle", 50)
	if err != nil {
		t.Fatal(err)
	}
	old, err := dispatches.Create(bg, b.ID, "test", "Old SCORM LMS", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dispatches.Revoke(bg, b.ID, old.ID); err != nil {
		t.Fatal(err)
	}
	pages = append(pages, "/admin/london/dispatches", "/admin/london/dispatches/"+live.ID+"/revoke", "/admin/london/dispatches/"+old.ID+"/revoke")
	for _, width := range []int64{360, 1280} {
		run(t, ctx, chromedp.EmulateViewport(width, 800))
		for _, p := range pages {
			run(t, ctx, chromedp.Navigate(r.URL+p))
			audit(t, ctx, axe, p)
			// Tables fit too: none hides columns behind a sideways scroll.
			if n := js[int](t, ctx, `[...document.querySelectorAll(".table-wrap")].filter(e => e.scrollWidth > e.clientWidth + 1).length`); n > 0 {
				t.Errorf("%s at %d px: %d tables scroll sideways", p, width, n)
			}
		}
	}

	// Pages answering a form: errors, a secret shown once, a notice.
	run(t, ctx, chromedp.EmulateViewport(360, 800))
	forms := []struct {
		page, fill, wait, name string
	}{
		{"/admin/london/learners", `document.querySelector("#f-email").value = "x"`, ".error-summary", "invite with an error"},
		{"/admin/london/learners", `document.querySelector("#f-email").value = "new@example.org"`, "#invite-link", "invitation link"},
		{"/admin/london/credentials", `document.querySelector("#f-name").value = "Council LMS"`, "#cred-secret", "new credential"},
		{"/admin/london/credentials", `document.querySelector("#f-name").value = ""`, ".error-summary", "credential with an error"},
		{"/admin/london/learners/" + learners.Learners[1].ID + "/erase", `true`, ".error-summary", "erase unconfirmed"},
		{"/admin/london/admins", `document.querySelector("#f-email").value = "boss@example.org"`, "#admin-password", "new admin"},
		{"/admin/boroughs", `document.querySelector("#f-slug").value = "Bad Slug"`, ".error-summary", "borough with an error"},
		{"/admin/london/learners/" + ada.ID, `document.querySelector("#f-reason-0").options[0].value = "nope"; document.querySelector("#f-reason-0").value = "nope"; document.querySelector("#f-reason-0").form.requestSubmit()`, ".error-summary", "waive with an error"},
		{"/admin/london/course", `true`, ".error-summary", "module upload without a file"},
		{"/admin/london/course/slots", `document.querySelector("#f-primaryColour").value = "#ffff00"`, ".error-summary", "slots with an error"},
		{"/admin/london/forwarding", `document.querySelector("#f-name").value = "x"; document.querySelector("#f-name").form.requestSubmit()`, ".error-summary", "forwarding target with an error"},
		{"/admin/london/dispatches", `document.querySelector("#f-learnerLimit").value = "-1"; document.querySelector("#f-learnerLimit").form.requestSubmit()`, ".error-summary", "dispatch with an error"},
		{"/admin/london/dispatches", `document.querySelector("#f-name").value = "Council Totara"; document.querySelector("#f-name").form.requestSubmit()`, ".notice", "dispatch created"},
	}
	for _, f := range forms {
		run(t, ctx, chromedp.Navigate(r.URL+f.page))
		submit := `; document.querySelector("main form[method=post] button[type=submit]").click(); true`
		if strings.Contains(f.fill, "requestSubmit") {
			submit = "; true"
		}
		js[bool](t, ctx, f.fill+submit)
		until(t, ctx, f.name, `!!document.querySelector("`+f.wait+`")`)
		audit(t, ctx, axe, f.name)
	}
	run(t, ctx, chromedp.Navigate(r.URL+"/admin/london/learners"))
	js[bool](t, ctx, `document.querySelector(".actions form button").click(); true`)
	until(t, ctx, "the notice", `!!document.querySelector(".notice")`)
	audit(t, ctx, axe, "learners with a notice")
}

// forwardInput is a Basic-auth forwarding target.
func forwardInput(name, endpoint string) forward.Input {
	version, authType, key, secret := "1.0.3", "basic", "key", "secret"
	return forward.Input{Name: &name, Endpoint: &endpoint, Version: &version, AuthType: &authType, AuthKey: &key, Secret: &secret}
}
