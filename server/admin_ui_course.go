package server

import (
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/server/web"
)

// The course pages: versions with preview, publish and roll back; the
// modules of the newest version with replacement upload; and the local
// slots (branding, offers, contacts, case studies). Every change makes a
// new draft through the content service.

// maxLogoBytes is the largest logo the slots form takes (the content
// room's limit).
const maxLogoBytes = 512 << 10

func (s *adminUI) mountAdminCourse(g *echo.Group) {
	if s.svc.Content == nil {
		return
	}
	g.GET("/:borough/course", s.admin(boroughAdmin, s.adminCoursePage))
	g.POST("/:borough/course/drafts", s.admin(boroughAdmin, s.adminNewDraft))
	g.POST("/:borough/course/versions/:number/publish", s.admin(boroughAdmin, s.adminPublish))
	g.POST("/:borough/course/versions/:number/preview", s.admin(boroughAdmin, s.adminPreview))
	g.POST("/:borough/course/rollback", s.admin(boroughAdmin, s.adminRollback))
	g.POST("/:borough/course/modules/:module/restore", s.admin(boroughAdmin, s.adminRestoreModule))
	g.POST("/:borough/course/packages/:id/delete", s.admin(boroughAdmin, s.adminDeletePackage))
	g.GET("/:borough/course/slots", s.admin(boroughAdmin, s.adminSlotsPage))
	g.POST("/:borough/course/publish-base", s.admin(platformAdmin, s.adminPublishBase))
	g.POST("/course/publish-base", s.admin(platformAdmin, s.adminPublishBaseEverywhere))
	// Uploads carry files: they take the upload limit rather than the
	// group's, and their CSRF field is read from the parsed multipart form.
	up := []echo.MiddlewareFunc{middleware.BodyLimit(byteLimit(s.cfg.MaxUploadBytes + multipartSlack)), s.authenticate, s.pageCSRF}
	s.app.POST("/admin/:borough/course/modules/:module/upload", s.admin(boroughAdmin, s.adminUploadModule), up...)
	s.app.POST("/admin/:borough/course/slots", s.admin(boroughAdmin, s.adminSaveSlots),
		middleware.BodyLimit(byteLimit(s.cfg.MaxBodyBytes)), s.authenticate, s.pageCSRF)
}

// courseSummary is the dashboard's line about the course, or nil.
func (s *adminUI) courseSummary(c echo.Context, v adminView) map[string]any {
	if s.svc.Content == nil {
		return nil
	}
	ctx := c.Request().Context()
	out := map[string]any{}
	if pub, err := s.svc.Content.PublishedVersion(ctx, v.B.ID); err == nil {
		out["Published"] = pub.Number
		if pub.PublishedAt != nil {
			out["PublishedAt"] = pub.PublishedAt.Format("2 January 2006")
		}
		if latest, err := s.svc.Content.LatestVersion(ctx, v.B.ID); err == nil && latest.Status == content.StatusDraft && latest.Number > pub.Number {
			out["Draft"] = latest.Number
		}
	}
	return out
}

// versionRow is a version as the course page lists it.
type versionRow struct {
	content.CourseVersion
	Latest bool
}

func (s *adminUI) courseData(c echo.Context, v adminView) (map[string]any, error) {
	ctx := c.Request().Context()
	vs, err := s.svc.Content.Versions(ctx, v.B.ID)
	if err != nil {
		return nil, err
	}
	rows := make([]versionRow, len(vs))
	data := map[string]any{"Versions": rows, "MaxUploadMB": s.cfg.MaxUploadBytes >> 20}
	for i, cv := range vs {
		rows[i] = versionRow{CourseVersion: cv, Latest: i == 0}
		if cv.Status == content.StatusPublished {
			data["Published"] = cv
		}
	}
	if len(vs) > 0 {
		data["Latest"] = vs[0]
	}
	// Packages, with whether a version names them (those cannot be deleted).
	used := map[string]bool{}
	for _, cv := range vs {
		used[cv.BasePackageID] = true
		for _, m := range cv.Modules {
			used[m.PackageID] = true
		}
	}
	pkgs, err := s.svc.Content.Packages(ctx, v.B.ID)
	if err != nil {
		return nil, err
	}
	var rows2 []packageRow
	for _, p := range pkgs {
		rows2 = append(rows2, packageRow{Package: p, Used: used[p.ID]})
	}
	data["Packages"] = rows2
	// Roll back is offered only when there is an earlier published
	// version to go back to (what Content.Rollback would re-publish).
	if pub, ok := data["Published"].(content.CourseVersion); ok {
		for _, cv := range vs {
			if cv.Number < pub.Number && cv.PublishedAt != nil {
				data["RollbackTo"] = cv.Number
				break
			}
		}
	}
	return data, nil
}

// packageRow is a package as the course page lists it.
type packageRow struct {
	content.Package
	Used bool
}

func (s *adminUI) adminDeletePackage(c echo.Context, v adminView) error {
	if _, err := s.svc.Content.DeletePackage(c.Request().Context(), v.B.ID, v.P.Subject, c.Param("id")); err != nil {
		return s.courseFormError(c, v, err, "packages")
	}
	return done(c, "/admin/"+v.B.Slug+"/course", "pkgdeleted")
}

func (s *adminUI) adminCoursePage(c echo.Context, v adminView) error {
	data, err := s.courseData(c, v)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "admin_course", s.adminPage(c, v, "Course", "course", data))
}

// courseFormError shows a content-room refusal on the course page.
func (s *adminUI) courseFormError(c echo.Context, v adminView, err error, field string) error {
	var fe web.FormErrors
	if errs.KindOf(err) == errs.NotFound {
		return err
	}
	if err := formError(err, field, &fe); err != nil {
		return err
	}
	data, derr := s.courseData(c, v)
	if derr != nil {
		return derr
	}
	pg := s.adminPage(c, v, "Course", "course", data)
	pg.Errors = fe
	return s.render(c, http.StatusBadRequest, "admin_course", pg)
}

func versionParam(c echo.Context) (int, error) {
	n, err := strconv.Atoi(c.Param("number"))
	if err != nil || n < 1 {
		return 0, errs.E(errs.NotFound, "no such course version")
	}
	return n, nil
}

func (s *adminUI) adminNewDraft(c echo.Context, v adminView) error {
	if _, err := s.svc.Content.CreateDraft(c.Request().Context(), v.B.ID, v.P.Subject, 0); err != nil {
		return s.courseFormError(c, v, err, "versions")
	}
	return done(c, "/admin/"+v.B.Slug+"/course", "draft")
}

func (s *adminUI) adminPublish(c echo.Context, v adminView) error {
	n, err := versionParam(c)
	if err != nil {
		return err
	}
	if _, err := s.svc.Content.Publish(c.Request().Context(), v.B.ID, v.P.Subject, n); err != nil {
		return s.courseFormError(c, v, err, "versions")
	}
	return done(c, "/admin/"+v.B.Slug+"/course", "published")
}

func (s *adminUI) adminRollback(c echo.Context, v adminView) error {
	// Rolling back changes what every learner gets next: the first press
	// asks to confirm, the confirmation form sends confirm=yes.
	if c.FormValue("confirm") != "yes" {
		data, err := s.courseData(c, v)
		if err != nil {
			return err
		}
		if data["RollbackTo"] == nil {
			return s.courseFormError(c, v, errs.E(errs.Conflict, "there is no earlier published version to roll back to"), "versions")
		}
		data["ConfirmRollback"] = true
		return s.render(c, http.StatusOK, "admin_course", s.adminPage(c, v, "Course", "course", data))
	}
	if _, err := s.svc.Content.Rollback(c.Request().Context(), v.B.ID, v.P.Subject); err != nil {
		return s.courseFormError(c, v, err, "versions")
	}
	return done(c, "/admin/"+v.B.Slug+"/course", "rolledback")
}

// adminPreview opens one module of a version as learners would see it, on
// the content origin with a short-lived content token.
func (s *adminUI) adminPreview(c echo.Context, v adminView) error {
	n, err := versionParam(c)
	if err != nil {
		return err
	}
	l, err := s.svc.Content.Launchable(c.Request().Context(), v.B.ID, n, c.FormValue("module"))
	if err != nil {
		return err
	}
	tok, err := s.svc.Content.ContentToken(v.B.ID, l.Package.ID, 0)
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, s.svc.Content.LaunchURL(l.Package.ID, tok, l.AU))
}

func (s *adminUI) adminRestoreModule(c echo.Context, v adminView) error {
	if _, err := s.svc.Content.RestoreModule(c.Request().Context(), v.B.ID, v.P.Subject, c.Param("module")); err != nil {
		return s.courseFormError(c, v, err, "modules")
	}
	return done(c, "/admin/"+v.B.Slug+"/course", "removed")
}

func (s *adminUI) adminUploadModule(c echo.Context, v adminView) error {
	ctx := c.Request().Context()
	module := c.Param("module")
	field := "file-" + module
	fh, err := c.FormFile("file")
	if err != nil {
		return s.courseFormError(c, v, errs.E(errs.Invalid, "choose a zip file (a cmi5, SCORM or xAPI package) to upload"), field)
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	if _, _, err := s.svc.Content.ImportForModule(ctx, v.B.ID, v.P.Subject, module, f,
		content.ModuleChoice{AUID: strings.TrimSpace(c.FormValue("au")), Title: c.FormValue("title"), Param: "AU"}); err != nil {
		return s.courseFormError(c, v, err, field)
	}
	return done(c, "/admin/"+v.B.Slug+"/course", "uploaded")
}

// --- local slots ---------------------------------------------------------

// slotField is one input of a slot entry.
type slotField struct {
	Key, Label, Type string
	Multiline        bool
}

var (
	offerFields = []slotField{{"name", "Name of the offer", "text", false}, {"organisation", "Organisation", "text", false},
		{"description", "Description", "", true}, {"whoFor", "Who it is for", "text", false}, {"whereWhen", "Where and when", "text", false},
		{"cost", "Cost", "text", false}, {"access", "Access", "text", false}, {"howToRefer", "How to refer", "text", false},
		{"contact", "Contact", "text", false}, {"url", "Web address", "url", false}}
	contactFields = []slotField{{"name", "Name", "text", false}, {"role", "Role", "text", false}, {"organisation", "Organisation", "text", false},
		{"email", "Email address", "email", false}, {"phone", "Phone", "tel", false}, {"url", "Web address", "url", false},
		{"notes", "Notes", "", true}}
	caseFields = []slotField{{"title", "Title", "text", false}, {"body", "Story", "", true}}
)

// slotInput is one input as the template renders it.
type slotInput struct {
	Name, Label, Type, Value string
	Multiline, Required      bool
}

// slotEntry is one offer, contact or case study in the form.
type slotEntry struct {
	Legend string
	Inputs []slotInput
}

// slotGroup is the list of one kind of entry, with one blank entry to add.
type slotGroup struct {
	ID, Heading, Hint string
	Entries           []slotEntry
}

func slotGroupOf(id, heading, hint, noun string, fields []slotField, values []map[string]string) slotGroup {
	g := slotGroup{ID: id, Heading: heading, Hint: hint}
	for i, vals := range append(values, map[string]string{}) {
		legend := noun + " " + strconv.Itoa(i+1)
		if i == len(values) {
			legend = "Add a new " + strings.ToLower(noun)
		}
		e := slotEntry{Legend: legend}
		for _, f := range fields {
			e.Inputs = append(e.Inputs, slotInput{Name: id + "-" + strconv.Itoa(i) + "-" + f.Key, Label: f.Label, Type: f.Type,
				Value: vals[f.Key], Multiline: f.Multiline})
		}
		g.Entries = append(g.Entries, e)
	}
	return g
}

func slotsForm(sl content.Slots) map[string]any {
	var offers, contacts, cases []map[string]string
	for _, o := range sl.Offers {
		offers = append(offers, map[string]string{"name": o.Name, "organisation": o.Organisation, "description": o.Description,
			"whoFor": o.WhoFor, "whereWhen": o.WhereWhen, "cost": o.Cost, "access": o.Access, "howToRefer": o.HowToRefer,
			"contact": o.Contact, "url": o.URL})
	}
	for _, ct := range sl.Contacts {
		contacts = append(contacts, map[string]string{"name": ct.Name, "role": ct.Role, "organisation": ct.Organisation,
			"email": ct.Email, "phone": ct.Phone, "url": ct.URL, "notes": ct.Notes})
	}
	for _, cs := range sl.CaseStudies {
		cases = append(cases, map[string]string{"title": cs.Title, "body": cs.Body})
	}
	return map[string]any{"Slots": sl, "HasLogo": len(sl.Branding.Logo) > 0,
		"Groups": []slotGroup{
			slotGroupOf("offer", "Local offers", "Creative and social activities link workers can refer people to.", "Offer", offerFields, offers),
			slotGroupOf("contact", "Local contacts", "People and referral routes learners should know.", "Contact", contactFields, contacts),
			slotGroupOf("case", "Local case studies", "Short stories from the borough. Leave a blank line between paragraphs.", "Case study", caseFields, cases),
		}}
}

func (s *adminUI) currentSlots(c echo.Context, v adminView) (content.Slots, error) {
	cv, err := s.svc.Content.LatestVersion(c.Request().Context(), v.B.ID)
	if errs.Is(err, errs.NotFound) {
		return content.Slots{}, nil
	}
	return cv.Slots, err
}

func (s *adminUI) adminSlotsPage(c echo.Context, v adminView) error {
	sl, err := s.currentSlots(c, v)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "admin_slots", s.adminPage(c, v, "Local content", "course", slotsForm(sl)))
}

// entries reads the numbered entries of one group from the form; entries
// left wholly blank are dropped, which is how an admin removes one.
func entries(c echo.Context, id string, fields []slotField) []map[string]string {
	var out []map[string]string
	for i := 0; i < 200; i++ {
		vals, present, filled := map[string]string{}, false, false
		for _, f := range fields {
			name := id + "-" + strconv.Itoa(i) + "-" + f.Key
			if _, ok := c.Request().PostForm[name]; ok {
				present = true
			}
			vals[f.Key] = strings.TrimSpace(c.FormValue(name))
			filled = filled || vals[f.Key] != ""
		}
		if !present {
			break
		}
		if filled {
			out = append(out, vals)
		}
	}
	return out
}

func (s *adminUI) adminSaveSlots(c echo.Context, v adminView) error {
	prev, err := s.currentSlots(c, v)
	if err != nil {
		return err
	}
	sl := content.Slots{BoroughName: strings.TrimSpace(c.FormValue("boroughName")), Branding: prev.Branding}
	sl.Branding.PrimaryColour = strings.TrimSpace(c.FormValue("primaryColour"))
	sl.Branding.LogoURL = strings.TrimSpace(c.FormValue("logoUrl"))
	sl.Branding.LogoAlt = strings.TrimSpace(c.FormValue("logoAlt"))
	if c.FormValue("removeLogo") == "yes" {
		sl.Branding.Logo, sl.Branding.LogoType = nil, ""
	}
	var fe web.FormErrors
	if fh, err := c.FormFile("logo"); err == nil && fh.Size > 0 {
		if fh.Size > maxLogoBytes {
			fe.Add("logo", "The logo must be at most 512 KB")
		} else if f, err := fh.Open(); err == nil {
			b, rerr := io.ReadAll(io.LimitReader(f, maxLogoBytes+1))
			f.Close()
			if rerr != nil {
				return rerr
			}
			sl.Branding.Logo, sl.Branding.LogoType = b, http.DetectContentType(b)
			if strings.HasSuffix(strings.ToLower(fh.Filename), ".svg") {
				sl.Branding.LogoType = "image/svg+xml"
			}
		}
	}
	for _, o := range entries(c, "offer", offerFields) {
		sl.Offers = append(sl.Offers, content.Offer{Name: o["name"], Organisation: o["organisation"], Description: o["description"],
			WhoFor: o["whoFor"], WhereWhen: o["whereWhen"], Cost: o["cost"], Access: o["access"], HowToRefer: o["howToRefer"],
			Contact: o["contact"], URL: o["url"]})
	}
	for _, ct := range entries(c, "contact", contactFields) {
		sl.Contacts = append(sl.Contacts, content.Contact{Name: ct["name"], Role: ct["role"], Organisation: ct["organisation"],
			Email: ct["email"], Phone: ct["phone"], URL: ct["url"], Notes: ct["notes"]})
	}
	for _, cs := range entries(c, "case", caseFields) {
		sl.CaseStudies = append(sl.CaseStudies, content.CaseStudy{Title: cs["title"], Body: cs["body"]})
	}
	if len(fe) == 0 {
		_, err := s.svc.Content.SetSlots(c.Request().Context(), v.B, v.P.Subject, sl)
		if err == nil {
			return done(c, "/admin/"+v.B.Slug+"/course", "saved")
		}
		if err := formError(err, "slots", &fe); err != nil {
			return err
		}
	}
	pg := s.adminPage(c, v, "Local content", "course", slotsForm(sl))
	pg.Errors = fe
	return s.render(c, http.StatusBadRequest, "admin_slots", pg)
}

// adminPublishBase rebuilds the London base course with the borough's
// slots and publishes it when it differs from what is published (a new
// release of the base course reaching one borough).
func (s *adminUI) adminPublishBase(c echo.Context, v adminView) error {
	_, published, err := s.svc.Content.PublishBaseCourse(c.Request().Context(), v.B, v.P.Subject)
	if err != nil {
		return s.courseFormError(c, v, err, "versions")
	}
	notice := "baseunchanged"
	if published {
		notice = "basepublished"
	}
	return done(c, "/admin/"+v.B.Slug+"/course", notice)
}

// adminPublishBaseEverywhere does adminPublishBase for every borough and
// reports how many got a new version.
func (s *adminUI) adminPublishBaseEverywhere(c echo.Context, v adminView) error {
	ctx := c.Request().Context()
	bs, err := s.deps.Auth.Store().ListBoroughs(ctx)
	if err != nil {
		return err
	}
	var updated []string
	for _, b := range bs {
		_, published, err := s.svc.Content.PublishBaseCourse(ctx, b, v.P.Subject)
		if err != nil {
			return err
		}
		if published {
			updated = append(updated, b.Name)
		}
	}
	pg := s.adminPage(c, v, "Admin", "home", map[string]any{"Boroughs": bs})
	pg.Notice = "The base course is published in every borough; nothing needed changing."
	if len(updated) > 0 {
		pg.Notice = "A new version of the base course was published in: " + strings.Join(updated, ", ") + "."
	}
	return s.render(c, http.StatusOK, "admin_home", pg)
}
