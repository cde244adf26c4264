package content

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/reach-london/reach/content/course"
	"github.com/reach-london/reach/content/manifest"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/errs"
)

// Audit actions the content room records.
const (
	AuditPackageImport  = "content.package.import"
	AuditVersionCreate  = "content.version.create"
	AuditVersionPublish = "content.version.publish"
	AuditRollback       = "content.version.rollback"
)

var (
	baseOnce   sync.Once
	baseCourse *course.Course
	baseErr    error
)

// BaseCourse returns the course loaded from the embedded sources.
func BaseCourse() (*course.Course, error) {
	baseOnce.Do(func() { baseCourse, baseErr = course.Load(course.Sources()) })
	return baseCourse, baseErr
}

// courseSlots fills in the borough's name when the slots leave it empty.
func courseSlots(s Slots, boroughName string) course.Slots {
	if s.BoroughName == "" {
		s.BoroughName = boroughName
	}
	return s
}

// BuildBasePackage builds the base course with the borough's slots and
// imports it as a package of the borough. Building is deterministic, so
// the same slots give the same content hash and the existing package is
// returned without storing anything.
func (s *Service) BuildBasePackage(ctx context.Context, b auth.Borough, actor string, slots Slots) (Package, error) {
	c, err := BaseCourse()
	if err != nil {
		return Package{}, err
	}
	f, err := os.CreateTemp("", "reach-course-*.zip")
	if err != nil {
		return Package{}, errs.Wrap(errs.Internal, err, "building the course")
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := course.Build(f, c, course.BuildOptions{Slots: courseSlots(slots, b.Name)}); err != nil {
		return Package{}, err
	}
	size, err := f.Seek(0, 2)
	if err != nil {
		return Package{}, errs.Wrap(errs.Internal, err, "building the course")
	}
	return s.importZip(ctx, b.ID, actor, f, size, nil)
}

// baseModules binds every module of the base course to pkg.
func baseModules(pkg Package) ([]ModuleBinding, error) {
	c, err := BaseCourse()
	if err != nil {
		return nil, err
	}
	var out []ModuleBinding
	for _, m := range c.Modules {
		au, ok := pkg.Course.FindAU(c.AUIRI(m))
		if !ok {
			return nil, errs.E(errs.Internal, "the built course lacks module %s", m.ID)
		}
		out = append(out, ModuleBinding{Module: m.ID, Title: au.Title, PackageID: pkg.ID, AUID: au.ID})
	}
	return out, nil
}

// rebase keeps replaced modules and binds the others to the new base.
func rebase(prev []ModuleBinding, base []ModuleBinding) []ModuleBinding {
	out := make([]ModuleBinding, len(base))
	copy(out, base)
	for i := range out {
		for _, p := range prev {
			if p.Module == out[i].Module && p.Replaced {
				out[i] = p
			}
		}
	}
	return out
}

const versionCols = `id, borough_id, number, status, base_package_id, modules, slots, note, created_by, created_at, published_by, published_at`

func scanVersion(row scanner) (CourseVersion, error) {
	var v CourseVersion
	var status, modules, slots string
	var pub sql.NullTime
	if err := row.Scan(&v.ID, &v.BoroughID, &v.Number, &status, &v.BasePackageID, &modules, &slots, &v.Note,
		&v.CreatedBy, &v.CreatedAt, &v.PublishedBy, &pub); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return v, errs.E(errs.NotFound, "course version not found")
		}
		return v, err
	}
	v.Status = Status(status)
	v.CreatedAt = v.CreatedAt.UTC()
	if pub.Valid {
		t := pub.Time.UTC()
		v.PublishedAt = &t
	}
	if err := json.Unmarshal([]byte(modules), &v.Modules); err != nil {
		return v, errs.Wrap(errs.Internal, err, "version %s has damaged modules", v.ID)
	}
	if err := json.Unmarshal([]byte(slots), &v.Slots); err != nil {
		return v, errs.Wrap(errs.Internal, err, "version %s has damaged slots", v.ID)
	}
	return v, nil
}

// Versions lists the borough's course versions, newest first.
func (s *Service) Versions(ctx context.Context, boroughID string) ([]CourseVersion, error) {
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT `+versionCols+` FROM content_versions WHERE borough_id = $1 ORDER BY number DESC`, boroughID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []CourseVersion{}
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Version returns version number of the borough's course.
func (s *Service) Version(ctx context.Context, boroughID string, number int) (CourseVersion, error) {
	return scanVersion(s.db.SQL.QueryRowContext(ctx, `SELECT `+versionCols+` FROM content_versions WHERE borough_id = $1 AND number = $2`, boroughID, number))
}

// VersionByID returns a version by id, within the borough.
func (s *Service) VersionByID(ctx context.Context, boroughID, id string) (CourseVersion, error) {
	return scanVersion(s.db.SQL.QueryRowContext(ctx, `SELECT `+versionCols+` FROM content_versions WHERE borough_id = $1 AND id = $2`, boroughID, id))
}

// LatestVersion returns the borough's newest version, draft or not.
func (s *Service) LatestVersion(ctx context.Context, boroughID string) (CourseVersion, error) {
	return scanVersion(s.db.SQL.QueryRowContext(ctx, `SELECT `+versionCols+` FROM content_versions WHERE borough_id = $1 ORDER BY number DESC LIMIT 1`, boroughID))
}

// PublishedVersion returns the version new launches get; errs.NotFound
// when the borough has published none.
func (s *Service) PublishedVersion(ctx context.Context, boroughID string) (CourseVersion, error) {
	v, err := scanVersion(s.db.SQL.QueryRowContext(ctx, `SELECT `+versionCols+` FROM content_versions WHERE borough_id = $1 AND status = $2`, boroughID, string(StatusPublished)))
	if errs.Is(err, errs.NotFound) {
		return v, errs.E(errs.NotFound, "the course has no published version in this borough yet")
	}
	return v, err
}

// createVersion inserts a new draft numbered after the borough's latest.
func (s *Service) createVersion(ctx context.Context, boroughID, actor, note, basePkg string, modules []ModuleBinding, slots Slots) (CourseVersion, error) {
	mj, _ := json.Marshal(modules)
	sj, _ := json.Marshal(slots)
	v := CourseVersion{ID: uuid.NewString(), BoroughID: boroughID, Status: StatusDraft, BasePackageID: basePkg,
		Modules: modules, Slots: slots, Note: note, CreatedBy: actor, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = s.db.Tx(ctx, func(tx *sql.Tx) error {
			// Under the content lock, the packages the version names must
			// still exist: DeletePackage checks no version names a package
			// under the same lock (gc.go).
			if err := lockPackages(ctx, tx); err != nil {
				return err
			}
			for _, id := range versionPackages(basePkg, modules) {
				var one int
				if err := tx.QueryRowContext(ctx, `SELECT 1 FROM content_packages WHERE id = $1`, id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
					return errs.E(errs.Conflict, "package %s was deleted; import it again", id)
				} else if err != nil {
					return err
				}
			}
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(number), 0) + 1 FROM content_versions WHERE borough_id = $1`, boroughID).Scan(&v.Number); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO content_versions (id, borough_id, number, status, base_package_id, modules, slots, note, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, v.ID, boroughID, v.Number, string(v.Status), basePkg, string(mj), string(sj), note, actor, v.CreatedAt)
			return err
		})
		if !db.IsUniqueViolation(err) {
			break
		}
	}
	if errs.Is(err, errs.Conflict) {
		return v, err
	}
	if err != nil {
		return v, errs.Wrap(errs.Unavailable, err, "the version could not be saved; try again")
	}
	s.auth.Audit(ctx, boroughID, actor, AuditVersionCreate, fmt.Sprintf("version %d", v.Number), map[string]any{"note": note, "versionId": v.ID})
	return v, nil
}

// versionPackages lists the packages a version names, once each.
func versionPackages(base string, modules []ModuleBinding) []string {
	out := []string{base}
	for _, m := range modules {
		if !slices.Contains(out, m.PackageID) {
			out = append(out, m.PackageID)
		}
	}
	return out
}

// SetSlots makes a new draft with the borough's local slot data: the base
// course is rebuilt with the slots (only files that changed are stored
// anew) and replaced modules are kept.
func (s *Service) SetSlots(ctx context.Context, b auth.Borough, actor string, slots Slots) (CourseVersion, error) {
	pkg, err := s.BuildBasePackage(ctx, b, actor, slots)
	if err != nil {
		return CourseVersion{}, err
	}
	base, err := baseModules(pkg)
	if err != nil {
		return CourseVersion{}, err
	}
	if prev, err := s.LatestVersion(ctx, b.ID); err == nil {
		base = rebase(prev.Modules, base)
	} else if !errs.Is(err, errs.NotFound) {
		return CourseVersion{}, err
	}
	return s.createVersion(ctx, b.ID, actor, "local slots edited", pkg.ID, base, slots)
}

// latestForEdit returns the version edits start from. A borough with no
// version yet starts from the base course with no local content (an
// unsaved version numbered 0), so its admin can make a first draft in the
// admin UI without anyone publishing the base course first.
func (s *Service) latestForEdit(ctx context.Context, boroughID string) (CourseVersion, error) {
	v, err := s.LatestVersion(ctx, boroughID)
	if !errs.Is(err, errs.NotFound) {
		return v, err
	}
	b, err := s.auth.Store().BoroughByID(ctx, boroughID)
	if err != nil {
		return CourseVersion{}, err
	}
	pkg, err := s.BuildBasePackage(ctx, b, "system", Slots{})
	if err != nil {
		return CourseVersion{}, err
	}
	mods, err := baseModules(pkg)
	if err != nil {
		return CourseVersion{}, err
	}
	return CourseVersion{BoroughID: boroughID, BasePackageID: pkg.ID, Modules: mods}, nil
}

// ModuleChoice says which AU of a package plays a module and what the
// module is called.
type ModuleChoice struct {
	// AUID is the AU (or SCO) to launch. Empty: the package's only AU; a
	// SCORM package with several SCOs plays whole, from its first SCO, in
	// the player, whose contents list leads to the others.
	AUID string
	// Title is the module's title as learners see it. Empty: the AU's
	// title, or the package's for a SCORM package that plays whole.
	Title string
	// Param names the AU parameter in the caller's API ("au", "auId"),
	// so errors point at the field to fix.
	Param string
}

// maxModuleTitle is the longest module title accepted, in characters.
const maxModuleTitle = 200

// chooseAU resolves a ModuleChoice against a package's course: the AU
// that plays the module and the module's title.
func chooseAU(pkgTitle string, typ Type, c Course, ch ModuleChoice) (AU, string, error) {
	param := ch.Param
	if param == "" {
		param = "auId"
	}
	title := strings.TrimSpace(ch.Title)
	if n := utf8.RuneCountInString(title); n > maxModuleTitle {
		return AU{}, "", errs.E(errs.Invalid, "title is %d characters long; at most %d are allowed", n, maxModuleTitle)
	}
	for _, r := range title {
		if unicode.IsControl(r) {
			return AU{}, "", errs.E(errs.Invalid, "title contains a control character")
		}
	}
	aus := c.AllAUs()
	var au AU
	switch {
	case ch.AUID != "":
		var ok bool
		if au, ok = c.FindAU(ch.AUID); !ok {
			return AU{}, "", errs.E(errs.Invalid, "%s: package %q has no AU %q", param, pkgTitle, ch.AUID)
		}
	case len(aus) == 1:
		au = aus[0]
	case typ.IsSCORM():
		au = firstSCO(aus)
		if title == "" {
			title = pkgTitle
		}
	default:
		return AU{}, "", errs.E(errs.Invalid, "%s is required: package %q has %d AUs; say which one plays the module", param, pkgTitle, len(aus))
	}
	if title == "" {
		title = au.Title
	}
	return au, title, nil
}

// firstSCO is where a multi-SCO SCORM package starts: its first visible
// SCO, else its first visible item, else its first item.
func firstSCO(aus []AU) AU {
	for _, a := range aus {
		if a.Kind == manifest.KindSCO && !a.Hidden {
			return a
		}
	}
	for _, a := range aus {
		if !a.Hidden {
			return a
		}
	}
	return aus[0]
}

// moduleIndex returns module's position in v, or a NotFound error.
func moduleIndex(v CourseVersion, module string) (int, error) {
	for i, m := range v.Modules {
		if m.Module == module {
			return i, nil
		}
	}
	return -1, errs.E(errs.NotFound, "the course has no module %q", module)
}

// ReplaceModule makes a new draft in which module is played by the AU
// auID of the borough's package packageID (see ModuleChoice for auID "").
func (s *Service) ReplaceModule(ctx context.Context, boroughID, actor, module, packageID, auID string) (CourseVersion, error) {
	return s.BindModule(ctx, boroughID, actor, module, packageID, ModuleChoice{AUID: auID})
}

// BindModule makes a new draft in which module is played by the chosen AU
// of the borough's package packageID, under the chosen title.
func (s *Service) BindModule(ctx context.Context, boroughID, actor, module, packageID string, ch ModuleChoice) (CourseVersion, error) {
	prev, err := s.latestForEdit(ctx, boroughID)
	if err != nil {
		return prev, err
	}
	idx, err := moduleIndex(prev, module)
	if err != nil {
		return CourseVersion{}, err
	}
	pkg, err := s.Package(ctx, boroughID, packageID)
	if err != nil {
		return CourseVersion{}, err
	}
	au, title, err := chooseAU(pkg.Title, pkg.Type, pkg.Course, ch)
	if err != nil {
		return CourseVersion{}, err
	}
	mods := append([]ModuleBinding(nil), prev.Modules...)
	mods[idx] = ModuleBinding{Module: module, Title: title, PackageID: pkg.ID, AUID: au.ID, Replaced: true}
	return s.createVersion(ctx, boroughID, actor, fmt.Sprintf("module %s replaced by package %q", module, pkg.Title), prev.BasePackageID, mods, prev.Slots)
}

// ImportForModule imports a package and makes it play module in a new
// draft. Everything that can be checked before storing anything is: the
// borough has a version with that module, the package is valid, and the
// choice names one of its AUs (or it has one). So a wrong module or a
// missing AU leaves no package behind.
func (s *Service) ImportForModule(ctx context.Context, boroughID, actor, module string, r io.Reader, ch ModuleChoice) (Package, CourseVersion, error) {
	prev, err := s.latestForEdit(ctx, boroughID)
	if err != nil {
		return Package{}, prev, err
	}
	if _, err := moduleIndex(prev, module); err != nil {
		return Package{}, CourseVersion{}, err
	}
	f, size, err := SpoolUpload(r, s.opts.Limits.MaxUpload)
	if err != nil {
		return Package{}, CourseVersion{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	pkg, err := s.audited(s.importZip(ctx, boroughID, actor, f, size, func(m *manifest.Manifest) error {
		_, _, err := chooseAU(m.Course.Title, m.Type, m.Course, ch)
		return err
	}))
	if err != nil {
		return Package{}, CourseVersion{}, err
	}
	v, err := s.BindModule(ctx, boroughID, actor, module, pkg.ID, ch)
	return pkg, v, err
}

// RestoreModule makes a new draft in which module is the base course's again.
func (s *Service) RestoreModule(ctx context.Context, boroughID, actor, module string) (CourseVersion, error) {
	prev, err := s.latestForEdit(ctx, boroughID)
	if err != nil {
		return prev, err
	}
	base, err := s.Package(ctx, boroughID, prev.BasePackageID)
	if err != nil {
		return prev, err
	}
	mods, err := baseModules(base)
	if err != nil {
		return prev, err
	}
	found := false
	for i, m := range prev.Modules {
		if m.Module == module {
			found = true
		} else {
			for j := range mods {
				if mods[j].Module == m.Module {
					mods[j] = prev.Modules[i]
				}
			}
		}
	}
	if !found {
		return CourseVersion{}, errs.E(errs.NotFound, "the course has no module %q", module)
	}
	return s.createVersion(ctx, boroughID, actor, fmt.Sprintf("module %s restored to the base course", module), prev.BasePackageID, mods, prev.Slots)
}

// CreateDraft makes a new draft identical to version from (0: the
// published version, or else the latest), to start editing afresh.
func (s *Service) CreateDraft(ctx context.Context, boroughID, actor string, from int) (CourseVersion, error) {
	var src CourseVersion
	var err error
	switch {
	case from > 0:
		src, err = s.Version(ctx, boroughID, from)
	default:
		src, err = s.PublishedVersion(ctx, boroughID)
		if errs.Is(err, errs.NotFound) {
			src, err = s.latestForEdit(ctx, boroughID)
		}
	}
	if err != nil {
		return src, err
	}
	note := fmt.Sprintf("draft from version %d", src.Number)
	if src.Number == 0 {
		note = "draft from the base course"
	}
	return s.createVersion(ctx, boroughID, actor, note, src.BasePackageID, src.Modules, src.Slots)
}

// Publish makes version number the one new launches get, retiring the
// version published before it. Learners with a pin stay on their version.
func (s *Service) Publish(ctx context.Context, boroughID, actor string, number int) (CourseVersion, error) {
	v, err := s.publish(ctx, boroughID, actor, number)
	if err == nil {
		s.auth.Audit(ctx, boroughID, actor, AuditVersionPublish, fmt.Sprintf("version %d", v.Number), map[string]any{"versionId": v.ID})
	}
	return v, err
}

func (s *Service) publish(ctx context.Context, boroughID, actor string, number int) (CourseVersion, error) {
	v, err := s.Version(ctx, boroughID, number)
	if err != nil {
		return v, err
	}
	if v.Status == StatusPublished {
		return v, errs.E(errs.Conflict, "version %d is already published", number)
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE content_versions SET status = $1 WHERE borough_id = $2 AND status = $3`,
			string(StatusRetired), boroughID, string(StatusPublished)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE content_versions SET status = $1, published_by = $2, published_at = $3 WHERE id = $4`,
			string(StatusPublished), actor, now, v.ID)
		return err
	})
	if err != nil {
		return v, errs.Wrap(errs.Unavailable, err, "the version could not be published; try again")
	}
	v.Status, v.PublishedBy, v.PublishedAt = StatusPublished, actor, &now
	return v, nil
}

// Rollback re-publishes the version that was published before the current
// one (the highest-numbered earlier version that was ever published).
func (s *Service) Rollback(ctx context.Context, boroughID, actor string) (CourseVersion, error) {
	cur, err := s.PublishedVersion(ctx, boroughID)
	if err != nil {
		return cur, errs.E(errs.Conflict, "nothing is published, so there is nothing to roll back")
	}
	var number int
	err = s.db.SQL.QueryRowContext(ctx, `SELECT number FROM content_versions WHERE borough_id = $1 AND number < $2 AND published_at IS NOT NULL ORDER BY number DESC LIMIT 1`,
		boroughID, cur.Number).Scan(&number)
	if errors.Is(err, sql.ErrNoRows) {
		return cur, errs.E(errs.Conflict, "version %d is the first published version; there is none earlier to roll back to", cur.Number)
	} else if err != nil {
		return cur, err
	}
	v, err := s.publish(ctx, boroughID, actor, number)
	if err == nil {
		s.auth.Audit(ctx, boroughID, actor, AuditRollback, fmt.Sprintf("version %d", v.Number),
			map[string]any{"from": cur.Number, "to": v.Number, "versionId": v.ID})
	}
	return v, err
}

// PublishBaseCourse builds the base course with the borough's current
// slots and, when that gives a base package the published version does
// not already use, creates a version with it and publishes it. It reports
// whether it published. Running it again with nothing changed is cheap
// and changes nothing.
func (s *Service) PublishBaseCourse(ctx context.Context, b auth.Borough, actor string) (CourseVersion, bool, error) {
	s.baseMu.Lock()
	defer s.baseMu.Unlock()
	var slots Slots
	var prevMods []ModuleBinding
	latest, err := s.LatestVersion(ctx, b.ID)
	switch {
	case err == nil:
		slots, prevMods = latest.Slots, latest.Modules
	case !errs.Is(err, errs.NotFound):
		return latest, false, err
	}
	pkg, err := s.BuildBasePackage(ctx, b, actor, slots)
	if err != nil {
		return CourseVersion{}, false, err
	}
	if pub, err := s.PublishedVersion(ctx, b.ID); err == nil && pub.BasePackageID == pkg.ID {
		return pub, false, nil
	}
	base, err := baseModules(pkg)
	if err != nil {
		return CourseVersion{}, false, err
	}
	v, err := s.createVersion(ctx, b.ID, actor, "base course published", pkg.ID, rebase(prevMods, base), slots)
	if err != nil {
		return v, false, err
	}
	v, err = s.Publish(ctx, b.ID, actor, v.Number)
	return v, err == nil, err
}

// EnsureBaseCourse publishes the base course in every borough that has no
// published version (first run). Boroughs that have one are skipped
// without building anything, so later starts stay fast.
func (s *Service) EnsureBaseCourse(ctx context.Context) error {
	bs, err := s.auth.Store().ListBoroughs(ctx)
	if err != nil {
		return err
	}
	for _, b := range bs {
		if _, err := s.PublishedVersion(ctx, b.ID); err == nil {
			continue
		} else if !errs.Is(err, errs.NotFound) {
			return err
		}
		if _, _, err := s.PublishBaseCourse(ctx, b, "system"); err != nil {
			return fmt.Errorf("publish the base course in %s: %w", b.Slug, err)
		}
	}
	return nil
}
