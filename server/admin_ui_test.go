package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/reach-london/reach/content/launch"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/config"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/reachtest"
)

// adminBrowser is a cookie-keeping HTTP client that does not follow
// redirects, so tests see each answer.
type adminBrowser struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newAdminBrowser(t *testing.T, base string) *adminBrowser {
	jar, _ := cookiejar.New(nil)
	return &adminBrowser{t: t, base: base, hc: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *adminBrowser) csrf() string {
	return reachtest.CSRFToken(b.hc.Jar, b.base)
}

func (b *adminBrowser) get(p string) (int, string, string) {
	b.t.Helper()
	res, err := b.hc.Get(b.base + p)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(body)
}

// post submits a form with the CSRF cookie's value unless the form sets
// _csrf itself.
func (b *adminBrowser) post(p string, form url.Values) (int, string, string) {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", b.csrf())
	}
	res, err := b.hc.PostForm(b.base+p, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(body)
}

func (b *adminBrowser) signin(email, password, borough string) {
	b.t.Helper()
	b.get("/admin/signin")
	code, loc, body := b.post("/admin/signin", url.Values{"email": {email}, "password": {password}, "borough": {borough}})
	if code != http.StatusSeeOther {
		b.t.Fatalf("sign in as %s: %d %s\n%s", email, code, loc, body)
	}
	// A one-time password must be changed before anything else.
	if _, loc, _ := b.get("/admin/"); loc == "/admin/password" {
		code, loc, body := b.post("/admin/password", url.Values{"current": {password}, "new": {password + "-changed"}})
		if code != http.StatusSeeOther || loc != "/admin/?notice=password" {
			b.t.Fatalf("change the one-time password of %s: %d %s\n%s", email, code, loc, body)
		}
	}
}

func want(t *testing.T, what string, code int, body string, wantCode int, wantText ...string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("%s: status %d, want %d\n%.2000s", what, code, wantCode, body)
	}
	for _, w := range wantText {
		if !strings.Contains(body, w) {
			t.Errorf("%s: page lacks %q\n%.3000s", what, w, body)
		}
	}
}

var inviteLink = regexp.MustCompile(`value="(http[^"]+/invite/[^"]+)"`)

func TestAdminPages(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		ctx := context.Background()
		root := newAdminBrowser(t, r.URL)
		code, loc, _ := root.get("/admin/")
		if code != http.StatusSeeOther || loc != "/admin/signin?next=%2Fadmin%2F" {
			t.Fatalf("signed-out /admin/: %d %q, want a redirect to sign in", code, loc)
		}
		root.get("/admin/signin")
		code, _, body := root.post("/admin/signin", url.Values{"_csrf": {"forged"}, "email": {r.AdminEmail}, "password": {r.AdminPassword}})
		want(t, "sign-in with a forged CSRF token", code, body, http.StatusForbidden)
		code, _, body = root.post("/admin/signin", url.Values{"email": {r.AdminEmail}, "password": {"wrong password!"}})
		want(t, "wrong password", code, body, http.StatusUnauthorized, "Email, password or borough is wrong", `href="#f-email"`)
		root.signin(r.AdminEmail, r.AdminPassword, "")
		code, _, body = root.get("/admin/")
		want(t, "platform home", code, body, http.StatusOK, "London-wide admin", `href="/admin/london/"`)

		// Boroughs and their admins.
		code, _, body = root.post("/admin/boroughs", url.Values{"slug": {"Not A Slug"}})
		want(t, "bad borough slug", code, body, http.StatusBadRequest, "There is a problem", "only lower-case letters")
		code, loc, _ = root.post("/admin/boroughs", url.Values{"slug": {"camden"}})
		if code != http.StatusSeeOther || loc != "/admin/camden/admins?notice=boroughcreated" {
			t.Fatalf("create borough: %d %q", code, loc)
		}
		code, _, body = root.get(loc)
		want(t, "new borough's admins", code, body, http.StatusOK, "The borough Camden was created")
		code, _, body = root.post("/admin/camden/admins", url.Values{"email": {"boss@camden.test"}, "name": {"Cam Boss"}})
		want(t, "create borough admin", code, body, http.StatusOK, "One-time password", "boss@camden.test")
		pw := regexp.MustCompile(`id="admin-password" type="text" readonly value="([^"]+)"`).FindStringSubmatch(body)
		if pw == nil {
			t.Fatalf("no one-time password on the page:\n%s", body)
		}
		code, _, body = root.post("/admin/camden/admins", url.Values{"email": {"boss@camden.test"}})
		want(t, "duplicate borough admin", code, body, http.StatusBadRequest, "already exists")

		// The borough admin sees only their borough.
		admin := newAdminBrowser(t, r.URL)
		admin.get("/admin/signin")
		admin.post("/admin/signin", url.Values{"email": {"boss@camden.test"}, "password": {pw[1]}, "borough": {"camden"}})
		code, loc, _ = admin.get("/admin/camden/learners")
		if code != http.StatusSeeOther || loc != "/admin/password" {
			t.Errorf("a one-time password leads to %d %q, want the password page", code, loc)
		}
		code, _, body = admin.post("/admin/password", url.Values{"current": {"wrong password"}, "new": {"a brand new password"}})
		want(t, "wrong current password", code, body, http.StatusBadRequest, "The current password is wrong")
		code, _, body = admin.post("/admin/password", url.Values{"current": {pw[1]}, "new": {"short"}})
		want(t, "short new password", code, body, http.StatusBadRequest, "at least 10 characters")
		code, loc, _ = admin.post("/admin/password", url.Values{"current": {pw[1]}, "new": {"a brand new password"}})
		if code != http.StatusSeeOther || loc != "/admin/?notice=password" {
			t.Fatalf("change password: %d %q", code, loc)
		}
		code, loc, _ = admin.get("/admin/")
		if code != http.StatusSeeOther || loc != "/admin/camden/" {
			t.Errorf("borough admin's /admin/: %d %q, want their dashboard", code, loc)
		}
		code, _, body = admin.get("/admin/camden/")
		want(t, "dashboard", code, body, http.StatusOK, "Camden: dashboard", `href="/admin/camden/reports"`, `aria-current="page"`)
		code, _, body = admin.get("/admin/london/learners")
		want(t, "another borough", code, body, http.StatusNotFound, "Page not found")
		code, _, body = admin.get("/admin/boroughs")
		want(t, "platform page", code, body, http.StatusForbidden)
		code, _, body = admin.post("/admin/camden/course/publish-base", nil)
		want(t, "base course publish by a borough admin", code, body, http.StatusForbidden)

		// Invite, list, deactivate, reactivate, erase.
		code, _, body = admin.post("/admin/camden/learners/invite", url.Values{"email": {"nope"}})
		want(t, "bad invitation", code, body, http.StatusBadRequest, "not a valid email address", `aria-invalid="true"`)
		code, _, body = admin.post("/admin/camden/learners/invite", url.Values{"email": {"ada@example.org"}})
		want(t, "invite", code, body, http.StatusOK, "Invitation for ada@example.org", "not shown again")
		link := inviteLink.FindStringSubmatch(body)
		if link == nil {
			t.Fatalf("no invitation link on the page:\n%s", body)
		}
		b, _ := r.App.Auth.BoroughBySlug(ctx, "camden")
		ada, err := r.App.Auth.AcceptInvitation(ctx, b.ID, path.Base(link[1]), "Ada Lovelace", "a long learner password 1", "gp")
		if err != nil {
			t.Fatalf("accept invitation: %v", err)
		}
		code, _, body = admin.post("/admin/camden/learners/invite", url.Values{"email": {"carol@example.org"}})
		want(t, "second invitation", code, body, http.StatusOK, "Invitation for carol@example.org")
		invs, _ := r.App.Auth.ListInvitations(ctx, b.ID)
		var carolID string
		for _, inv := range invs {
			if inv.Email == "carol@example.org" {
				carolID = inv.ID
			}
		}
		code, loc, _ = admin.post("/admin/camden/learners/invitations/"+carolID+"/cancel", nil)
		c2, _, body := admin.get(loc)
		want(t, "after cancelling", c2, body, http.StatusOK, "The invitation was cancelled")
		if code != http.StatusSeeOther || strings.Contains(body, "carol@example.org") {
			t.Errorf("cancel invitation: %d; page still shows it: %v", code, strings.Contains(body, "carol@example.org"))
		}
		code, _, body = admin.get("/admin/camden/learners?q=lovelace")
		want(t, "search", code, body, http.StatusOK, "Ada Lovelace", "ada@example.org", "Showing 1 to 1 of 1 learner.")
		code, _, body = admin.get("/admin/camden/learners?q=nobody")
		want(t, "empty search", code, body, http.StatusOK, "No learners match")
		code, _, body = admin.post("/admin/camden/learners/"+ada.ID+"/deactivate", url.Values{"_csrf": {"forged"}})
		want(t, "deactivate without CSRF token", code, body, http.StatusForbidden, "expired")
		code, loc, _ = admin.post("/admin/camden/learners/"+ada.ID+"/deactivate", nil)
		if code != http.StatusSeeOther {
			t.Fatalf("deactivate: %d", code)
		}
		code, _, body = admin.get(loc)
		want(t, "after deactivating", code, body, http.StatusOK, "signed out everywhere", "Reactivate<span")
		if u, _ := r.App.Auth.Store().UserByID(ctx, ada.ID); u.Status != "deactivated" {
			t.Errorf("status after deactivating: %s", u.Status)
		}
		code, _, _ = admin.post("/admin/camden/learners/"+ada.ID+"/reactivate", nil)
		if u, _ := r.App.Auth.Store().UserByID(ctx, ada.ID); code != http.StatusSeeOther || u.Status != "active" {
			t.Errorf("reactivate: %d, status %s", code, u.Status)
		}
		code, _, body = admin.get("/admin/camden/learners/" + ada.ID + "/erase")
		want(t, "erase confirmation", code, body, http.StatusOK, "Erase Ada Lovelace?", "cannot be undone")
		code, _, body = admin.post("/admin/camden/learners/"+ada.ID+"/erase", nil)
		want(t, "erase unconfirmed", code, body, http.StatusBadRequest, "Tick the box")
		if u, _ := r.App.Auth.Store().UserByID(ctx, ada.ID); u.Email != "ada@example.org" {
			t.Errorf("an unconfirmed erasure changed the account: %+v", u)
		}
		code, loc, _ = admin.post("/admin/camden/learners/"+ada.ID+"/erase", url.Values{"confirm": {"yes"}})
		if code != http.StatusSeeOther {
			t.Fatalf("erase: %d", code)
		}
		code, _, body = admin.get(loc)
		want(t, "after erasing", code, body, http.StatusOK, "Erased learner", "erasure recorded")
		if strings.Contains(body, "ada@example.org") {
			t.Error("the learner list still shows the erased email")
		}

		// Credentials: the secret is shown once.
		code, _, body = admin.post("/admin/camden/credentials", url.Values{"name": {""}, "scope": {"all"}})
		want(t, "credential without a name", code, body, http.StatusBadRequest, "Enter a name")
		code, _, body = admin.post("/admin/camden/credentials", url.Values{"name": {"Council LMS"}, "scope": {"all/read"}})
		want(t, "create credential", code, body, http.StatusOK, "Credential “Council LMS” created", `id="cred-secret"`)
		creds, _ := r.App.Auth.Store().ListCredentials(ctx, b.ID)
		if len(creds) != 1 {
			t.Fatalf("%d credentials, want 1", len(creds))
		}
		code, _, body = admin.get("/admin/camden/credentials")
		want(t, "credentials list", code, body, http.StatusOK, creds[0].Key, "Active")
		if strings.Contains(body, `id="cred-secret"`) {
			t.Error("the secret is shown again")
		}
		code, loc, _ = admin.post("/admin/camden/credentials/"+creds[0].ID+"/revoke", nil)
		code2, _, body := admin.get(loc)
		want(t, "revoke", code2, body, http.StatusOK, "The credential was revoked", "Revoked")
		if code != http.StatusSeeOther {
			t.Errorf("revoke: %d", code)
		}

		code, _, body = admin.get("/admin/camden/audit")
		want(t, "audit", code, body, http.StatusOK, "learner.erase", "credential.revoke", "learner.deactivate", `data-label="By">boss@camden.test<`)
		code, _, body = admin.get("/admin/camden/audit?before=3")
		want(t, "an older page of the audit log", code, body, http.StatusOK, "Newest entries")
		if strings.Contains(body, "learner.erase") {
			t.Error("an older page shows the newest entries")
		}
		code, _, body = root.get("/admin/audit")
		want(t, "London-wide audit", code, body, http.StatusOK, "borough.create", "Camden")

		code, loc, _ = admin.post("/admin/signout", nil)
		if code != http.StatusSeeOther || loc != "/admin/signin?notice=signedout" {
			t.Errorf("sign out: %d %q", code, loc)
		}
		if code, _, _ := admin.get("/admin/camden/"); code != http.StatusSeeOther {
			t.Errorf("after signing out the dashboard answers %d, want a redirect to sign in", code)
		}
		// A learner cannot use the admin sign-in.
		learner := newAdminBrowser(t, r.URL)
		learner.get("/admin/signin")
		if _, _, err := r.App.Auth.CreateUser(ctx, "test", auth.NewUser{BoroughID: b.ID, Email: "bob@example.org", Name: "Bob",
			Role: auth.RoleLearner, Password: "a long learner password 1"}); err != nil {
			t.Fatal(err)
		}
		code, _, body = learner.post("/admin/signin", url.Values{"email": {"bob@example.org"}, "password": {"a long learner password 1"}, "borough": {"camden"}})
		want(t, "learner at the admin sign-in", code, body, http.StatusForbidden, "This sign-in is for admins")
	})
}

// onePageZip is a one-lesson xAPI (tincan.xml) package.
func onePageZip(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range map[string]string{
		"tincan.xml": `<?xml version="1.0" encoding="utf-8"?>
<tincan xmlns="http://projecttincan.com/tincan.xsd"><activities>
<activity id="https://example.org/local/lesson" type="http://adlnet.gov/expapi/activities/lesson"><name>Our local lesson</name><launch lang="en-GB">index.html</launch></activity>
</activities></tincan>`,
		"index.html": `<!doctype html><html lang="en"><title>Local lesson</title><p>Hello</p></html>`,
	} {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// spareZip is a package no version uses.
func spareZip(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("tincan.xml")
	w.Write([]byte(`<tincan><activities><activity id="https://example.org/local/spare"><name>Spare</name><launch>spare.html</launch></activity></activities></tincan>`))
	w, _ = zw.Create("spare.html")
	w.Write([]byte("spare"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// upload posts a multipart form with one file field.
func (b *adminBrowser) upload(p, field, filename string, data []byte, form url.Values) (int, string, string) {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("_csrf", b.csrf())
	for k, vs := range form {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	if data != nil {
		fw, _ := mw.CreateFormFile(field, filename)
		fw.Write(data)
	}
	mw.Close()
	res, err := b.hc.Post(b.base+p, mw.FormDataContentType(), &body)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(out)
}

func TestAdminCoursePages(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		ctx := context.Background()
		svc := r.App.Content()
		b, _ := r.App.Auth.BoroughBySlug(ctx, "london")
		admin := newAdminBrowser(t, r.URL)
		admin.signin(r.AdminEmail, r.AdminPassword, "")
		pub, err := svc.PublishedVersion(ctx, b.ID)
		if err != nil {
			t.Fatalf("the base course is not published on first run: %v", err)
		}
		code, _, body := admin.get("/admin/london/course")
		want(t, "course page", code, body, http.StatusOK, "Learners get <strong>version "+strconv.Itoa(pub.Number)+"</strong>", pub.Modules[0].Title)
		if strings.Contains(body, "Roll back to version") {
			t.Errorf("the course page offers to roll back with only one version ever published")
		}
		code, _, body = admin.post("/admin/london/course/rollback", nil)
		want(t, "roll back with nothing earlier", code, body, http.StatusBadRequest, "no earlier published version")

		// Local content goes into a new draft; blank entries are dropped.
		code, loc, body := admin.upload("/admin/london/course/slots", "", "", nil, url.Values{
			"primaryColour": {"#5a2d82"}, "offer-0-name": {"Tuesday Singers"}, "offer-0-cost": {"Free"},
			"offer-1-name": {""}, "case-0-title": {"The library choir"}, "case-0-body": {"A story."}})
		if code != http.StatusSeeOther {
			t.Fatalf("save slots: %d\n%s", code, body)
		}
		latest, _ := svc.LatestVersion(ctx, b.ID)
		if latest.Status != "draft" || len(latest.Slots.Offers) != 1 || latest.Slots.Offers[0].Cost != "Free" ||
			len(latest.Slots.CaseStudies) != 1 || latest.Slots.Branding.PrimaryColour != "#5a2d82" {
			t.Fatalf("draft after saving slots: %+v", latest)
		}
		code, _, body = admin.get(loc)
		want(t, "after saving slots", code, body, http.StatusOK, "saved in the draft")
		code, _, body = admin.get("/admin/london/course/slots")
		want(t, "slots page", code, body, http.StatusOK, `value="Tuesday Singers"`, "Add a new offer", "A story.</textarea>")
		code, _, body = admin.upload("/admin/london/course/slots", "", "", nil, url.Values{"primaryColour": {"#ffff00"}})
		want(t, "a colour too light", code, body, http.StatusBadRequest, "There is a problem")
		if again, _ := svc.LatestVersion(ctx, b.ID); again.Number != latest.Number {
			t.Errorf("a refused save made version %d", again.Number)
		}

		// Replace a module by upload; a bad zip is refused with a message.
		mod := pub.Modules[1]
		code, _, body = admin.upload("/admin/london/course/modules/"+mod.Module+"/upload", "file", "x.zip", []byte("not a zip"), nil)
		want(t, "bad package", code, body, http.StatusBadRequest, "There is a problem", `href="#f-file-`+mod.Module+`"`)
		code, _, body = admin.upload("/admin/london/course/modules/"+mod.Module+"/upload", "file", "lesson.zip", onePageZip(t), nil)
		if code != http.StatusSeeOther {
			t.Fatalf("upload module: %d\n%s", code, body)
		}
		latest, _ = svc.LatestVersion(ctx, b.ID)
		if m, _ := latest.Module(mod.Module); !m.Replaced || m.Title != "Our local lesson" {
			t.Fatalf("module after upload: %+v", m)
		}
		// The admin may name the module (issue 18 §5).
		code, _, body = admin.upload("/admin/london/course/modules/"+mod.Module+"/upload", "file", "lesson.zip", onePageZip(t), url.Values{"title": {"Singing in Camden"}})
		if code != http.StatusSeeOther {
			t.Fatalf("upload module with a title: %d\n%s", code, body)
		}
		latest, _ = svc.LatestVersion(ctx, b.ID)
		if m, _ := latest.Module(mod.Module); m.Title != "Singing in Camden" {
			t.Fatalf("module title after upload: %+v", m)
		}
		// A package no version uses can be deleted from the page; one a
		// version uses cannot.
		spare, err := svc.ImportReader(ctx, b.ID, "test", bytes.NewReader(spareZip(t)))
		if err != nil {
			t.Fatal(err)
		}
		code, _, body = admin.get("/admin/london/course")
		want(t, "packages on the course page", code, body, http.StatusOK, "/course/packages/"+spare.ID+"/delete", "Used by a version")
		code, loc, _ = admin.post("/admin/london/course/packages/"+spare.ID+"/delete", nil)
		if _, err := svc.Package(ctx, b.ID, spare.ID); code != http.StatusSeeOther || !strings.HasSuffix(loc, "notice=pkgdeleted") || !errs.Is(err, errs.NotFound) {
			t.Errorf("delete package: %d %q, then %v", code, loc, err)
		}
		code, _, body = admin.post("/admin/london/course/packages/"+latest.BasePackageID+"/delete", nil)
		want(t, "delete a used package", code, body, http.StatusBadRequest, "is used by course version")

		// Preview opens the draft on the content origin.
		code, loc, _ = admin.post("/admin/london/course/versions/"+strconv.Itoa(latest.Number)+"/preview", url.Values{"module": {mod.Module}})
		if code != http.StatusSeeOther || !strings.HasPrefix(loc, r.ContentURL+"/") {
			t.Errorf("preview: %d %q, want a redirect to the content origin", code, loc)
		}
		code, _, body = admin.post("/admin/london/course/versions/"+strconv.Itoa(latest.Number)+"/preview", url.Values{"module": {"nope"}})
		want(t, "preview of an unknown module", code, body, http.StatusNotFound)

		// Publish, then roll back.
		code, _, _ = admin.post("/admin/london/course/versions/"+strconv.Itoa(latest.Number)+"/publish", nil)
		if now, _ := svc.PublishedVersion(ctx, b.ID); code != http.StatusSeeOther || now.Number != latest.Number {
			t.Fatalf("publish: %d, published %d, want %d", code, now.Number, latest.Number)
		}
		code, _, body = admin.post("/admin/london/course/versions/"+strconv.Itoa(latest.Number)+"/publish", nil)
		want(t, "publish twice", code, body, http.StatusBadRequest, "already published")
		code, _, body = admin.get("/admin/london/course")
		want(t, "course page with an earlier version", code, body, http.StatusOK, "Roll back to version "+strconv.Itoa(pub.Number))
		code, _, body = admin.post("/admin/london/course/rollback", nil)
		want(t, "roll back, unconfirmed", code, body, http.StatusOK, "Yes, roll back to version "+strconv.Itoa(pub.Number))
		if now, _ := svc.PublishedVersion(ctx, b.ID); now.Number != latest.Number {
			t.Fatalf("an unconfirmed roll back changed the published version to %d", now.Number)
		}
		code, _, _ = admin.post("/admin/london/course/rollback", url.Values{"confirm": {"yes"}})
		if now, _ := svc.PublishedVersion(ctx, b.ID); code != http.StatusSeeOther || now.Number != pub.Number {
			t.Errorf("roll back: %d, published %d, want %d", code, now.Number, pub.Number)
		}
		code, _, _ = admin.post("/admin/london/course/modules/"+mod.Module+"/restore", nil)
		latest, _ = svc.LatestVersion(ctx, b.ID)
		if m, _ := latest.Module(mod.Module); code != http.StatusSeeOther || m.Replaced {
			t.Errorf("restore: %d, module %+v", code, m)
		}
		code, _, body = admin.get("/admin/london/")
		want(t, "dashboard course line", code, body, http.StatusOK, "Learners get version "+strconv.Itoa(pub.Number), "is waiting to be published")

		// A platform admin publishes the base course with the borough's
		// latest local content; a second time there is nothing to do.
		code, loc, _ = admin.post("/admin/london/course/publish-base", nil)
		now, _ := svc.PublishedVersion(ctx, b.ID)
		if code != http.StatusSeeOther || !strings.HasSuffix(loc, "notice=basepublished") || len(now.Slots.Offers) != 1 {
			t.Errorf("publish base: %d %q, published %+v", code, loc, now)
		}
		code, loc, _ = admin.post("/admin/london/course/publish-base", nil)
		if code != http.StatusSeeOther || !strings.HasSuffix(loc, "notice=baseunchanged") {
			t.Errorf("publish base again: %d %q", code, loc)
		}
		code, _, body = admin.post("/admin/course/publish-base", nil)
		want(t, "publish base everywhere", code, body, http.StatusOK, "nothing needed changing")
	})
}

func TestAdminForwardingPages(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		ctx := context.Background()
		b, _ := r.App.Auth.BoroughBySlug(ctx, "london")
		admin := newAdminBrowser(t, r.URL)
		admin.signin(r.AdminEmail, r.AdminPassword, "")
		code, _, body := admin.get("/admin/london/forwarding")
		want(t, "forwarding page", code, body, http.StatusOK, "Nothing is forwarded yet", "Add a target")

		code, _, body = admin.post("/admin/london/forwarding", url.Values{"name": {"Loop"}, "endpoint": {"ftp://x"},
			"version": {"1.0.3"}, "authType": {"basic"}, "authKey": {"k"}, "secret": {"s3cret-value"}})
		want(t, "bad endpoint", code, body, http.StatusBadRequest, `href="#f-endpoint"`, "http or https")
		if strings.Contains(body, "s3cret-value") {
			t.Error("the refused form shows the secret again")
		}
		// The target is this server's own LRS, with a credential of the borough.
		_, secret, err := r.App.Auth.CreateCredential(ctx, "test", b.ID, "loop", []auth.Scope{auth.ScopeAll})
		if err != nil {
			t.Fatal(err)
		}
		creds, _ := r.App.Auth.Store().ListCredentials(ctx, b.ID)
		code, loc, body := admin.post("/admin/london/forwarding", url.Values{"name": {"Loop"}, "endpoint": {r.URL + "/xapi/"},
			"version": {"1.0.3"}, "authType": {"basic"}, "authKey": {creds[0].Key}, "secret": {secret},
			"verbs": {"http://adlnet.gov/expapi/verbs/completed\n\n"}})
		if code != http.StatusSeeOther {
			t.Fatalf("create target: %d\n%s", code, body)
		}
		code, _, body = admin.get(loc)
		want(t, "after creating", code, body, http.StatusOK, "The forwarding target was created", "Loop", "Only 1 verbs")
		targets, _ := r.App.Forwarding().Statuses(ctx, b.ID)
		if len(targets) != 1 || len(targets[0].Filter.Verbs) != 1 {
			t.Fatalf("targets: %+v", targets)
		}
		id := targets[0].ID
		code, _, body = admin.get("/admin/london/forwarding/" + id)
		want(t, "change form", code, body, http.StatusOK, `value="Loop"`, "verbs/completed</textarea>", "Leave empty to keep the current one")
		code, _, body = admin.post("/admin/london/forwarding/"+id, url.Values{"name": {"Loop"}, "endpoint": {r.URL + "/xapi/"},
			"version": {"1.0.3"}, "authType": {"bearer"}, "authKey": {""}})
		want(t, "new sign-in method without a secret", code, body, http.StatusBadRequest, "needs a new secret")
		code, loc, _ = admin.post("/admin/london/forwarding/"+id, url.Values{"name": {"Loop 2"}, "endpoint": {r.URL + "/xapi/"},
			"version": {"1.0.3"}, "authType": {"basic"}, "authKey": {creds[0].Key}, "verbs": {""}})
		if st, _ := r.App.Forwarding().Status(ctx, b.ID, id); code != http.StatusSeeOther || st.Name != "Loop 2" || len(st.Filter.Verbs) != 0 {
			t.Fatalf("change target: %d %q, now %+v", code, loc, st.Target)
		}
		// The secret was kept, so the test statement still gets in.
		code, _, body = admin.post("/admin/london/forwarding/"+id+"/test", nil)
		want(t, "test statement", code, body, http.StatusOK, "Test statement accepted")
		code, _, body = admin.get("/admin/london/")
		want(t, "dashboard forwarding line", code, body, http.StatusOK, "1 target, all delivering")
		code, loc, _ = admin.post("/admin/london/forwarding/"+id+"/pause", nil)
		code2, _, body := admin.get(loc)
		want(t, "paused", code2, body, http.StatusOK, "was paused", ">Paused<", "Resume<span", "Loop 2")
		if code != http.StatusSeeOther {
			t.Errorf("pause: %d", code)
		}
		admin.post("/admin/london/forwarding/"+id+"/resume", nil)
		if st, _ := r.App.Forwarding().Status(ctx, b.ID, id); !st.Enabled {
			t.Error("resume left the target paused")
		}
		code, _, _ = admin.post("/admin/london/forwarding/"+id+"/delete", nil)
		if targets, _ := r.App.Forwarding().Statuses(ctx, b.ID); code != http.StatusSeeOther || len(targets) != 0 {
			t.Errorf("delete: %d, %d targets left", code, len(targets))
		}
		code, _, body = admin.post("/admin/london/forwarding/"+id+"/pause", nil)
		want(t, "pause a deleted target", code, body, http.StatusNotFound)
	}, func(c *config.Config) {
		// The target is this server's own LRS, on loopback.
		c.ForwardAllowPrivate = true
	})
}

func TestAdminLearnerPage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		ctx := context.Background()
		b, _ := r.App.Auth.BoroughBySlug(ctx, "london")
		u, _, err := r.App.Auth.CreateUser(ctx, "test", auth.NewUser{BoroughID: b.ID, Email: "ada@example.org", Name: "Ada Lovelace",
			Role: auth.RoleLearner, Profession: "gp", Password: "a long learner password 1"})
		if err != nil {
			t.Fatal(err)
		}
		admin := newAdminBrowser(t, r.URL)
		admin.signin(r.AdminEmail, r.AdminPassword, "")
		code, _, body := admin.get("/admin/london/learners/" + u.ID)
		want(t, "learner without modules", code, body, http.StatusOK, "<h1>Ada Lovelace</h1>", "GP or primary care", "has not started any module")

		pub, _ := r.App.Content().PublishedVersion(ctx, b.ID)
		mod := pub.Modules[0].Module
		l, err := r.App.Launch().Launch(ctx, launch.Request{Learner: launch.Learner{ID: u.ID, BoroughID: b.ID, Profession: "gp"},
			Module: mod, ReturnURL: r.URL + "/"})
		if err != nil {
			t.Fatalf("launch: %v", err)
		}
		code, _, body = admin.get("/admin/london/learners/" + u.ID)
		want(t, "learner with a launch", code, body, http.StatusOK, "Ada Lovelace's modules", "In progress", "Waive<span")
		regs, _ := r.App.Launch().Registrations(ctx, b.ID, u.ID)
		au := regs[0].AUs[0].AUID
		code, _, body = admin.post("/admin/london/learners/"+u.ID+"/waive", url.Values{"registration": {l.Registration}, "au": {au}, "reason": {"Because"}, "row": {"0"}})
		want(t, "waive with a bad reason", code, body, http.StatusBadRequest, "reason must be one of", `href="#f-reason-0"`)
		code, loc, _ := admin.post("/admin/london/learners/"+u.ID+"/waive", url.Values{"registration": {l.Registration}, "au": {au}, "reason": {"Administrative"}})
		if code != http.StatusSeeOther {
			t.Fatalf("waive: %d", code)
		}
		code, _, body = admin.get(loc)
		want(t, "after waiving", code, body, http.StatusOK, "The module was waived", "Waived (Administrative)")
		// Erasure takes the learner's pins and registrations too.
		if _, err := r.App.Content().Pin(ctx, b.ID, u.ID, mod); err != nil {
			t.Fatalf("no pin after a launch: %v", err)
		}
		code, _, _ = admin.post("/admin/london/learners/"+u.ID+"/erase", url.Values{"confirm": {"yes"}})
		if code != http.StatusSeeOther {
			t.Fatalf("erase: %d", code)
		}
		if _, err := r.App.Content().Pin(ctx, b.ID, u.ID, mod); err == nil {
			t.Error("the erased learner's pin remains")
		}
		if regs, err := r.App.Launch().Registrations(ctx, b.ID, u.ID); err != nil || len(regs) != 0 {
			t.Errorf("the erased learner's registrations: %+v, %v", regs, err)
		}
		if _, err := r.App.Auth.CreateBorough(ctx, "test", "camden", ""); err != nil {
			t.Fatal(err)
		}
		code, _, body = admin.get("/admin/camden/learners/" + u.ID)
		want(t, "a learner of another borough", code, body, http.StatusNotFound)
	})
}

func TestAdminExportPage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		admin := newAdminBrowser(t, r.URL)
		admin.signin(r.AdminEmail, r.AdminPassword, "")
		code, _, body := admin.get("/admin/london/export")
		want(t, "export page", code, body, http.StatusOK, "Export learning records", `value="jsonl" checked`)
		code, loc, _ := admin.get("/admin/london/export/statements?format=csv&from=2026-01-01&to=2026-01-31&verb=http%3A%2F%2Fadlnet.gov%2Fexpapi%2Fverbs%2Fcompleted")
		wantLoc := "/api/v1/boroughs/london/statements/export?format=csv&since=2026-01-01T00%3A00%3A00Z&until=2026-02-01T00%3A00%3A00Z&verb=http%3A%2F%2Fadlnet.gov%2Fexpapi%2Fverbs%2Fcompleted"
		if code != http.StatusSeeOther || loc != wantLoc {
			t.Fatalf("export: %d %q, want a redirect to %q", code, loc, wantLoc)
		}
		res, err := admin.hc.Get(r.URL + loc)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
			t.Errorf("download: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		tests := []struct{ query, want string }{
			{"from=31/01/2026", "Enter the date as YYYY-MM-DD"},
			{"from=2026-02-01&to=2026-01-01", "must not be before the first"},
			{"verb=not%20an%20iri", `href="#f-verb"`},
			{"format=pdf", `href="#f-format"`},
		}
		for _, tt := range tests {
			code, _, body := admin.get("/admin/london/export/statements?" + tt.query)
			want(t, tt.query, code, body, http.StatusBadRequest, "There is a problem", tt.want)
		}
	})
}
