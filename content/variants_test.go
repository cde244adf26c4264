package content_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/internal/reachtest"
)

func TestVariantsAndRollout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, inst *reachtest.Instance, admin *client.Client) {
		ctx := context.Background()
		svc := inst.App.Content()
		london, err := inst.App.Borough(ctx, "london")
		if err != nil {
			t.Fatal(err)
		}
		// First run published the base course.
		vs, err := admin.CourseVersions(ctx, "london")
		if err != nil || len(vs) != 1 || vs[0].Status != "published" || len(vs[0].Modules) != 4 {
			t.Fatalf("after first run: %+v, %v", vs, err)
		}
		// First run again, and publishing the unchanged base, change nothing.
		if err := svc.EnsureBaseCourse(ctx); err != nil {
			t.Fatal(err)
		}
		if _, published, err := admin.PublishBase(ctx, "london"); err != nil || published {
			t.Fatalf("re-publishing the unchanged base: published=%v err=%v", published, err)
		}
		module := vs[0].Modules[2].Module

		// A learner starts module 3 on version 1.
		l1, err := svc.VersionForLaunch(ctx, london.ID, "learner-a", module)
		if err != nil || l1.Version.Number != 1 || l1.Pinned {
			t.Fatalf("first launch: %+v %v", l1.Version, err)
		}

		// The admin fills the local slots: a new draft with a rebuilt base.
		slots := content.Slots{Offers: []content.Offer{{Name: "Singing for Lung Health", Organisation: "Test Arts Trust", URL: "https://example.org/sing"}},
			Contacts: []content.Contact{{Name: "Sam Link", Role: "Link worker lead", Email: "sam@example.org"}}}
		v2, err := admin.SetSlots(ctx, "london", slots)
		if err != nil {
			t.Fatal(err)
		}
		if v2.Number != 2 || v2.Status != "draft" || v2.BasePackageID == vs[0].BasePackageID {
			t.Fatalf("slots draft: %+v", v2)
		}
		var got content.Slots
		raw, _ := admin.Slots(ctx, "london")
		if json.Unmarshal(raw, &got); len(got.Offers) != 1 || got.Offers[0].Name != "Singing for Lung Health" {
			t.Errorf("slots read back: %s", raw)
		}
		// A bad slot value is refused and makes no version.
		if _, err := admin.SetSlots(ctx, "london", content.Slots{Branding: content.Branding{PrimaryColour: "#ffff00"}}); !isStatus(err, 400) {
			t.Errorf("low-contrast colour: %v", err)
		}
		// Preview the draft: the local offer is in the module page.
		pv, err := admin.PreviewVersion(ctx, "london", 2, module)
		if err != nil {
			t.Fatal(err)
		}
		if res, body := fetch(t, "GET", pv.URL); res.StatusCode != 200 {
			t.Fatalf("preview: %d", res.StatusCode)
		} else if !strings.Contains(body+fetchAU(t, pv.URL), "Singing for Lung Health") {
			t.Errorf("the draft preview does not show the local offer")
		}
		// Drafts are not launched.
		if l, _ := svc.VersionForLaunch(ctx, london.ID, "learner-b", module); l.Version.Number != 1 {
			t.Errorf("before publishing, a new launch got version %d", l.Version.Number)
		}
		if err := svc.ReleasePin(ctx, london.ID, "learner-b", module); err != nil {
			t.Fatal(err)
		}

		// Replace module 4 with an uploaded package.
		m4 := vs[0].Modules[3].Module
		pkg, v3, err := admin.UploadModule(ctx, "london", m4, bytes.NewReader(makeZip(t, files("tincan.xml", tincanXML, "story.html", "local module")...)))
		if err != nil {
			t.Fatal(err)
		}
		if v3.Number != 3 || !v3.Modules[3].Replaced || v3.Modules[3].PackageID != pkg.ID || v3.Modules[2].PackageID != v2.BasePackageID {
			t.Fatalf("replacement draft: %+v", v3.Modules)
		}

		// Publish in one action.
		if p, err := admin.Publish(ctx, "london", 3); err != nil || p.Status != "published" || p.PublishedAt == nil {
			t.Fatalf("publish: %+v %v", p, err)
		}
		if _, err := admin.Publish(ctx, "london", 3); !isStatus(err, 409) {
			t.Errorf("publishing twice: %v", err)
		}
		// learner-a is pinned to version 1; a new learner gets version 3.
		if l, err := svc.VersionForLaunch(ctx, london.ID, "learner-a", module); err != nil || l.Version.Number != 1 || !l.Pinned {
			t.Errorf("pinned learner got %d (pinned %v) %v", l.Version.Number, l.Pinned, err)
		}
		lb, err := svc.VersionForLaunch(ctx, london.ID, "learner-b", m4)
		if err != nil || lb.Version.Number != 3 || lb.Package.ID != pkg.ID || lb.AU.LaunchURL != "story.html" {
			t.Errorf("new learner: %+v %v", lb.Version, err)
		}
		// Completing releases the pin: the next launch gets the published one.
		svc.ReleasePin(ctx, london.ID, "learner-a", module)
		if l, _ := svc.VersionForLaunch(ctx, london.ID, "learner-a", module); l.Version.Number != 3 {
			t.Errorf("after release: version %d", l.Version.Number)
		}

		// Roll back in one action: version 1 again; then nothing earlier.
		rb, err := admin.Rollback(ctx, "london")
		if err != nil || rb.Number != 1 || rb.Status != "published" {
			t.Fatalf("rollback: %+v %v", rb, err)
		}
		if l, _ := svc.VersionForLaunch(ctx, london.ID, "learner-c", module); l.Version.Number != 1 {
			t.Errorf("after rollback a new launch got %d", l.Version.Number)
		}
		if _, err := admin.Rollback(ctx, "london"); !isStatus(err, 409) {
			t.Errorf("rolling back past the first version: %v", err)
		}
		all, _ := admin.CourseVersions(ctx, "london")
		status := map[int]string{}
		for _, v := range all {
			status[v.Number] = v.Status
		}
		if status[1] != "published" || status[2] != "draft" || status[3] != "retired" {
			t.Errorf("statuses after rollback: %v", status)
		}
		// Restoring the module makes another draft with the base module.
		v4, err := admin.RestoreModule(ctx, "london", m4)
		if err != nil || v4.Modules[3].Replaced {
			t.Errorf("restore: %+v %v", v4.Modules, err)
		}

		// Audit trail of who published what and when.
		audit, _ := admin.Audit(ctx, "london")
		actions := map[string]int{}
		for _, a := range audit {
			actions[a.Action]++
		}
		if actions[content.AuditVersionPublish] < 1 || actions[content.AuditRollback] != 1 || actions[content.AuditVersionCreate] < 3 {
			t.Errorf("audit actions: %v", actions)
		}

		// Borough isolation: another borough's admin sees none of this.
		if _, err := admin.CreateBorough(ctx, "camden", "Camden"); err != nil {
			t.Fatal(err)
		}
		_, pw, err := admin.CreateBoroughAdmin(ctx, "camden", "camden-admin@example.org", "Camden admin", "")
		if err != nil {
			t.Fatal(err)
		}
		camden := client.New(inst.URL)
		if _, err := camden.Login(ctx, "camden", "camden-admin@example.org", pw); err != nil {
			t.Fatal(err)
		}
		for name, err := range map[string]error{
			"versions": second(camden.CourseVersions(ctx, "london")),
			"package":  second(camden.Package(ctx, "london", pkg.ID)),
			"publish":  second(camden.Publish(ctx, "london", 2)),
			"rollback": second(camden.Rollback(ctx, "london")),
			"import":   second(camden.ImportPackage(ctx, "london", bytes.NewReader(makeZip(t, files("tincan.xml", tincanXML, "story.html", "x")...)))),
			"slots":    second(camden.SetSlots(ctx, "london", slots)),
			"base":     third(camden.PublishBase(ctx, "camden")),
		} {
			want := 404
			if name == "base" {
				want = 403 // borough admins do not publish the base course
			}
			if !isStatus(err, want) {
				t.Errorf("camden admin %s in london: %v, want %d", name, err, want)
			}
		}
		// Camden, created after start-up, gets the base course on its
		// first launch; publishing the base again then changes nothing.
		camdenB, _ := inst.App.Borough(ctx, "camden")
		if l, err := svc.VersionForLaunch(ctx, camdenB.ID, "learner-a", module); err != nil || l.Version.BoroughID != camdenB.ID || l.Version.Number != 1 {
			t.Errorf("camden launch: %+v %v", l.Version, err)
		}
		if _, published, err := admin.PublishBase(ctx, "camden"); err != nil || published {
			t.Fatalf("publish base in camden again: %v %v", published, err)
		}
		// Nor can Camden's admin put London's package into Camden's course.
		if _, err := camden.ReplaceModule(ctx, "camden", m4, pkg.ID, ""); !isStatus(err, 404) {
			t.Errorf("camden using a london package: %v", err)
		}
	})
}

// fetchAU fetches the module's au.json beside its launch page, where the
// course builder puts the page data.
func fetchAU(t *testing.T, launchURL string) string {
	i := strings.LastIndex(launchURL, "/")
	_, body := fetch(t, "GET", launchURL[:i]+"/au.json")
	return body
}

func isStatus(err error, status int) bool {
	var ce *client.Error
	return errors.As(err, &ce) && ce.Status == status
}

func second[T any](_ T, err error) error { return err }

func third[T, U any](_ T, _ U, err error) error { return err }
