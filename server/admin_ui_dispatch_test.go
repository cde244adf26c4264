package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/reach-london/reach/content/dispatch"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/reachtest"
)

// download GETs p and returns its status, headers and body.
func (b *adminBrowser) download(p string) (int, http.Header, []byte) {
	b.t.Helper()
	res, err := b.hc.Get(b.base + p)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, body
}

// TestAdminDispatchPages creates a dispatch from the "Other LMSs" page,
// downloads both packages, plays a SCORM 1.2 module as an LMS student so
// the page counts a learner, and revokes the dispatch, after which the
// downloads are refused; every change is in the audit log.
func TestAdminDispatchPages(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		ctx := context.Background()
		b, _ := r.App.Auth.BoroughBySlug(ctx, "london")
		store := dispatch.NewStore(r.App.DB)
		admin := newAdminBrowser(t, r.URL)
		admin.signin(r.AdminEmail, r.AdminPassword, "")
		code, _, body := admin.get("/admin/london/dispatches")
		want(t, "dispatch page", code, body, http.StatusOK, "<h1>The course in other LMSs</h1>", "not been given to another LMS yet",
			`href="/admin/london/dispatches" aria-current="page"`, "SCORM 1.2</strong>, for any other LMS", "land in this borough's LRS")

		// Bad input is shown beside the form and records nothing.
		for _, tc := range []struct {
			form url.Values
			want []string
		}{
			{url.Values{"name": {"Trust Moodle"}, "learnerLimit": {"-3"}}, []string{`href="#f-learnerLimit"`, "must be 0 (no limit) or more", `value="Trust Moodle"`}},
			{url.Values{"name": {"Trust Moodle"}, "learnerLimit": {"ten"}}, []string{`href="#f-learnerLimit"`, "whole number", `value="ten"`}},
			{url.Values{"name": {"Trust Moodle"}, "learnerLimit": {"99999999999"}}, []string{`href="#f-learnerLimit"`, "at most 1000000"}},
			{url.Values{"name": {" "}, "learnerLimit": {"0"}}, []string{`href="#f-name"`, "Enter a name"}},
		} {
			code, _, body := admin.post("/admin/london/dispatches", tc.form)
			want(t, "create with "+tc.form.Encode(), code, body, http.StatusBadRequest, append(tc.want, "There is a problem", `aria-invalid="true"`)...)
		}
		if ds, _ := store.List(ctx, b.ID); len(ds) != 0 {
			t.Fatalf("refused forms recorded %d dispatches", len(ds))
		}

		code, loc, body := admin.post("/admin/london/dispatches", url.Values{"name": {" Trust SCORM LMS "}, "learnerLimit": {"5"}})
		if code != http.StatusSeeOther || loc != "/admin/london/dispatches?notice=dispatchcreated" {
			t.Fatalf("create: %d %q\n%s", code, loc, body)
		}
		ds, _ := store.List(ctx, b.ID)
		if len(ds) != 1 || ds[0].Name != "Trust SCORM LMS" || ds[0].LearnerLimit != 5 || ds[0].Revoked() {
			t.Fatalf("dispatches after creating: %+v", ds)
		}
		d := ds[0]
		code, _, body = admin.get(loc)
		want(t, "after creating", code, body, http.StatusOK, "The dispatch was created", ">Trust SCORM LMS</th>",
			`data-label="Learner limit">5<`, `data-label="Learners so far">0<`, "by "+r.AdminEmail, ">Live<",
			`href="/admin/london/dispatches/`+d.ID+`/cmi5"`, `href="/admin/london/dispatches/`+d.ID+`/scorm12"`,
			`href="/admin/london/dispatches/`+d.ID+`/revoke"`)
		if strings.Contains(body, d.Token) {
			t.Error("the page shows the dispatch's token")
		}

		// Both packages download as zips.
		files := map[string]map[string]string{}
		for _, format := range []string{"cmi5", "scorm12"} {
			code, hdr, zipped := admin.download("/admin/london/dispatches/" + d.ID + "/" + format)
			if code != http.StatusOK || hdr.Get("Content-Type") != "application/zip" || len(zipped) == 0 ||
				!strings.Contains(hdr.Get("Content-Disposition"), "-"+format+".zip") {
				t.Fatalf("%s download: %d %q %q, %d bytes\n%.500s", format, code, hdr.Get("Content-Type"), hdr.Get("Content-Disposition"), len(zipped), zipped)
			}
			zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
			if err != nil {
				t.Fatalf("%s download is not a zip: %v", format, err)
			}
			files[format] = map[string]string{}
			for _, f := range zr.File {
				rc, _ := f.Open()
				data, _ := io.ReadAll(rc)
				rc.Close()
				files[format][f.Name] = string(data)
			}
		}
		if !strings.Contains(files["cmi5"]["cmi5.xml"], r.ContentURL+"/d/"+d.Token+"/") {
			t.Errorf("the cmi5 package does not launch from the content origin with the token:\n%s", files["cmi5"]["cmi5.xml"])
		}
		if _, ok := files["scorm12"]["imsmanifest.xml"]; !ok {
			t.Fatalf("the SCORM 1.2 package has no imsmanifest.xml: %d files", len(files["scorm12"]))
		}
		code, _, body = admin.get("/admin/london/dispatches/dsp_nope/cmi5")
		want(t, "download of an unknown dispatch", code, body, http.StatusNotFound, "Page not found")

		// An LMS student plays a SCO: the page counts them.
		var play string
		for _, page := range files["scorm12"] {
			if m := scoPlayRE.FindStringSubmatch(page); m != nil {
				play = m[1]
				break
			}
		}
		if play == "" {
			t.Fatal("no SCO page in the SCORM 1.2 package")
		}
		if res, body := get(t, play+"?"+url.Values{"student_id": {"lms-1"}, "student_name": {"Sam Student"}}.Encode()); res.StatusCode != http.StatusOK {
			t.Fatalf("play: %d %.300s", res.StatusCode, body)
		}
		code, _, body = admin.get("/admin/london/dispatches")
		want(t, "after a learner came", code, body, http.StatusOK, `data-label="Learners so far">1<`)

		// Revocation asks first, then cuts access and the downloads.
		code, _, body = admin.get("/admin/london/dispatches/" + d.ID + "/revoke")
		want(t, "revoke confirmation", code, body, http.StatusOK, "Revoke “Trust SCORM LMS”?", "lose access <strong>at once</strong>",
			"1 SCORM 1.2 learners so far", "cannot be undone")
		if d, _ := store.Get(ctx, b.ID, d.ID); d.Revoked() {
			t.Fatal("the confirmation page revoked the dispatch")
		}
		code, _, body = admin.post("/admin/london/dispatches/"+d.ID+"/revoke", url.Values{"_csrf": {"forged"}})
		want(t, "revoke without the CSRF token", code, body, http.StatusForbidden, "expired")
		code, loc, _ = admin.post("/admin/london/dispatches/"+d.ID+"/revoke", nil)
		if code != http.StatusSeeOther || loc != "/admin/london/dispatches?notice=dispatchrevoked" {
			t.Fatalf("revoke: %d %q", code, loc)
		}
		if d, _ := store.Get(ctx, b.ID, d.ID); !d.Revoked() {
			t.Fatal("the dispatch is not revoked")
		}
		code, _, body = admin.get(loc)
		want(t, "after revoking", code, body, http.StatusOK, "The dispatch was revoked", ">Revoked ")
		for _, href := range []string{"/cmi5", "/scorm12", "/revoke"} {
			if strings.Contains(body, `href="/admin/london/dispatches/`+d.ID+href+`"`) {
				t.Errorf("a revoked dispatch still offers %s", href)
			}
		}
		for _, format := range []string{"cmi5", "scorm12"} {
			code, hdr, data := admin.download("/admin/london/dispatches/" + d.ID + "/" + format)
			if code != http.StatusConflict || hdr.Get("Content-Type") == "application/zip" || !strings.Contains(string(data), "revoked") {
				t.Errorf("%s download of a revoked dispatch: %d %q\n%.500s", format, code, hdr.Get("Content-Type"), data)
			}
		}
		if res, _ := get(t, play+"?student_id=lms-1"); res.StatusCode != http.StatusForbidden {
			t.Errorf("play after revoking: %d, want 403", res.StatusCode)
		}
		code, _, body = admin.get("/admin/london/dispatches/" + d.ID + "/revoke")
		want(t, "confirmation of a revoked dispatch", code, body, http.StatusOK, "was revoked on")

		// Every action is audited as the JSON API audits it.
		code, _, body = admin.get("/admin/london/audit")
		want(t, "audit", code, body, http.StatusOK, "dispatch.create", "dispatch.export", "dispatch.revoke")
		entries, err := r.App.Auth.AuditPage(ctx, b.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		exports := map[string]bool{}
		for _, e := range entries {
			var details struct{ Format string }
			if e.Action == "dispatch.export" && e.Target == d.ID && json.Unmarshal(e.Details, &details) == nil {
				exports[details.Format] = true
			}
		}
		if !exports["cmi5"] || !exports["scorm12"] {
			t.Errorf("audited exports: %v, want cmi5 and scorm12", exports)
		}

		// A borough admin sees their own borough's page only; one without a
		// published course is told to publish it first.
		if _, err := r.App.Auth.CreateBorough(ctx, "test", "camden", ""); err != nil {
			t.Fatal(err)
		}
		cb, _ := r.App.Auth.BoroughBySlug(ctx, "camden")
		if _, _, err := r.App.Auth.CreateUser(ctx, "test", auth.NewUser{BoroughID: cb.ID, Email: "boss@camden.test", Name: "Cam Boss",
			Role: auth.RoleBoroughAdmin, Password: "a long admin password 1"}); err != nil {
			t.Fatal(err)
		}
		camden := newAdminBrowser(t, r.URL)
		camden.signin("boss@camden.test", "a long admin password 1", "camden")
		code, _, body = camden.get("/admin/london/dispatches")
		want(t, "another borough's dispatches", code, body, http.StatusNotFound)
		code, _, body = camden.get("/admin/london/dispatches/" + d.ID + "/revoke")
		want(t, "another borough's dispatch", code, body, http.StatusNotFound)
		code, loc, _ = camden.post("/admin/camden/dispatches", url.Values{"name": {"Camden Moodle"}, "learnerLimit": {"0"}})
		if code != http.StatusSeeOther {
			t.Fatalf("borough admin creates a dispatch: %d", code)
		}
		code, _, body = camden.get(loc)
		want(t, "borough admin's dispatches", code, body, http.StatusOK, "Camden Moodle", "No limit", "no published version yet")
		if strings.Contains(body, "Download cmi5") {
			t.Error("downloads are offered without a published course")
		}
	})
}
