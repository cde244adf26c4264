package launch

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/content/manifest"
	"github.com/reach-london/reach/internal/errs"
)

// objectID is the id LMS statements about an AU use: the LMS's activityId
// for a cmi5 AU, the package's own id for anything else.
func (s *Service) objectID(au content.AU) string {
	if au.Kind == manifest.KindAU {
		return s.auActivityID(au.ID)
	}
	return au.ID
}

// moveOnMet reports whether an AU's status meets its moveOn criterion
// (cmi5 §13.1.4).
func moveOnMet(moveOn string, a AUStatus) bool {
	if a.WaivedAt != nil {
		return true
	}
	completed, passed := a.CompletedAt != nil, a.PassedAt != nil
	switch moveOn {
	case MoveOnCompleted:
		return completed
	case MoveOnPassed:
		return passed
	case MoveOnCompletedAndPassed:
		return completed && passed
	case MoveOnCompletedOrPassed:
		return completed || passed
	case MoveOnNotApplicable, "":
		return true
	}
	return false
}

// courseAUs lists the AUs of a course version with the module each plays.
type courseAU struct {
	Module string
	AU     content.AU
}

func (s *Service) courseAUs(ctx context.Context, v content.CourseVersion) ([]courseAU, content.Package, error) {
	base, err := s.courses.Package(ctx, v.BoroughID, v.BasePackageID)
	if err != nil {
		return nil, content.Package{}, err
	}
	var out []courseAU
	for _, m := range v.Modules {
		pkg := base
		if m.PackageID != base.ID {
			if pkg, err = s.courses.Package(ctx, v.BoroughID, m.PackageID); err != nil {
				return nil, base, err
			}
		}
		au, ok := pkg.Course.FindAU(m.AUID)
		if !ok {
			return nil, base, errs.E(errs.Internal, "course version %s: module %s names AU %s its package lacks", v.ID, m.Module, m.AUID)
		}
		out = append(out, courseAU{Module: m.Module, AU: au})
	}
	return out, base, nil
}

func (s *Service) satisfyNotApplicable(ctx context.Context, reg Registration, v content.CourseVersion) error {
	aus, _, err := s.courseAUs(ctx, v)
	if err != nil {
		return err
	}
	for _, ca := range aus {
		if moveOnOf(ca.AU) != MoveOnNotApplicable {
			continue
		}
		if err := s.st.ensureAU(ctx, reg.ID, ca.AU.ID, ca.Module); err != nil {
			return err
		}
		if err := s.satisfyAU(ctx, reg, ca.AU, uuid.NewString()); err != nil {
			return err
		}
	}
	return s.evaluateCourse(ctx, reg, uuid.NewString())
}

// satisfyAU records and states that the AU's moveOn is met, once.
func (s *Service) satisfyAU(ctx context.Context, reg Registration, au content.AU, sessionID string) error {
	now := s.now().UTC()
	first, err := s.st.markAU(ctx, reg.ID, au.ID, "satisfied_at", now)
	if err != nil || !first {
		return err
	}
	// The publisher's AU id goes in grouping (cmi5 §9.6.2.3).
	st := s.statement(reg.LearnerID, VerbSatisfied, "Satisfied", activity(s.objectID(au), "", au.Title), reg.ID, sessionID, au.ID, nil, nil)
	if err := s.send(ctx, reg.BoroughID, st); err != nil {
		return err
	}
	// The module is done: a later launch may start on a newer version.
	if a, err := s.st.auStatus(ctx, reg.ID, au.ID); err == nil && a.Module != "" {
		if err := s.courses.ReleasePin(ctx, reg.BoroughID, reg.LearnerID, a.Module); err != nil {
			s.log.Warn("releasing the module pin failed", "err", err, "module", a.Module)
		}
	}
	return nil
}

// evaluate is called after an AU's status changed in a session: it sends
// satisfied for the AU, then for each block and the course whose AUs are
// all satisfied.
func (s *Service) evaluate(ctx context.Context, reg Registration, auID, sessionID string) error {
	v, err := s.courses.Version(ctx, reg.BoroughID, reg.VersionID)
	if err != nil {
		return err
	}
	aus, _, err := s.courseAUs(ctx, v)
	if err != nil {
		return err
	}
	for _, ca := range aus {
		if ca.AU.ID != auID {
			continue
		}
		a, err := s.st.auStatus(ctx, reg.ID, auID)
		if err != nil {
			return err
		}
		if a.SatisfiedAt == nil && moveOnMet(moveOnOf(ca.AU), a) {
			if err := s.satisfyAU(ctx, reg, ca.AU, sessionID); err != nil {
				return err
			}
		}
	}
	return s.evaluateCourse(ctx, reg, sessionID)
}

// satisfiedModules returns the modules the learner has satisfied in any
// of their registrations: a module finished on an older version of the
// course still counts after the borough publishes a new one.
func (s *Service) satisfiedModules(ctx context.Context, boroughID, learnerID string) (map[string]time.Time, error) {
	regs, err := s.st.registrations(ctx, boroughID, learnerID)
	if err != nil {
		return nil, err
	}
	out := map[string]time.Time{}
	for _, r := range regs {
		sts, err := s.st.auStatuses(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		for _, a := range sts {
			if a.SatisfiedAt != nil {
				if t, ok := out[a.Module]; !ok || a.SatisfiedAt.Before(t) {
					out[a.Module] = *a.SatisfiedAt
				}
			}
		}
	}
	return out, nil
}

// evaluateCourse sends satisfied for blocks whose AUs are all satisfied
// and for the course once every module is.
func (s *Service) evaluateCourse(ctx context.Context, reg Registration, sessionID string) error {
	v, err := s.courses.Version(ctx, reg.BoroughID, reg.VersionID)
	if err != nil {
		return err
	}
	aus, base, err := s.courseAUs(ctx, v)
	if err != nil {
		return err
	}
	done, err := s.satisfiedModules(ctx, reg.BoroughID, reg.LearnerID)
	if err != nil {
		return err
	}
	satisfiedAU := map[string]bool{}
	for _, ca := range aus {
		if _, ok := done[ca.Module]; ok {
			satisfiedAU[ca.AU.ID] = true
		}
	}
	now := s.now().UTC()
	var walk func(bs []content.Block) error
	walk = func(bs []content.Block) error {
		for _, b := range bs {
			if err := walk(b.Blocks); err != nil {
				return err
			}
			if !blockDone(b, satisfiedAU) {
				continue
			}
			first, err := s.st.markSatisfied(ctx, reg.ID, b.ID, now)
			if err != nil {
				return err
			}
			if first {
				st := s.statement(reg.LearnerID, VerbSatisfied, "Satisfied", activity(s.lmsActivityID("block", b.ID), ActivityTypeBlock, b.Title),
					reg.ID, sessionID, b.ID, nil, nil)
				if err := s.send(ctx, reg.BoroughID, st); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(base.Course.Blocks); err != nil {
		return err
	}
	for _, ca := range aus {
		if !satisfiedAU[ca.AU.ID] {
			return nil
		}
	}
	first, err := s.st.setRegistrationSatisfied(ctx, reg.ID, now)
	if err != nil || !first {
		return err
	}
	// The object is the LMS's id for the course; the publisher's id is in
	// grouping, as in the cmi5 samples.
	st := s.statement(reg.LearnerID, VerbSatisfied, "Satisfied", activity(s.lmsActivityID("course", reg.CourseID), ActivityTypeCourse, base.Course.Title),
		reg.ID, sessionID, reg.CourseID, nil, nil)
	return s.send(ctx, reg.BoroughID, st)
}

func blockDone(b content.Block, satisfied map[string]bool) bool {
	for _, au := range b.AUs {
		if !satisfied[au.ID] {
			return false
		}
	}
	for _, c := range b.Blocks {
		if !blockDone(c, satisfied) {
			return false
		}
	}
	return len(b.AUs) > 0 || len(b.Blocks) > 0
}

// Waive records that an admin waived an AU for a learner (cmi5 §9.5.4.1):
// the AU counts as satisfied with the reason given. auID may also be the
// module id the AU plays.
func (s *Service) Waive(ctx context.Context, boroughID, learnerID, registrationID, auID, reason string) error {
	if !slices.Contains(WaiveReasons, reason) {
		return errs.E(errs.Invalid, "reason must be one of: Tested Out, Equivalent AU, Equivalent Outside Activity, Administrative")
	}
	reg, err := s.st.registration(ctx, boroughID, registrationID)
	if err != nil {
		return err
	}
	if reg.LearnerID != learnerID {
		return errs.E(errs.NotFound, "registration not found")
	}
	v, err := s.courses.Version(ctx, boroughID, reg.VersionID)
	if err != nil {
		return err
	}
	aus, _, err := s.courseAUs(ctx, v)
	if err != nil {
		return err
	}
	var target *courseAU
	for i := range aus {
		if aus[i].AU.ID == auID || aus[i].Module == auID {
			target = &aus[i]
		}
	}
	if target == nil {
		return errs.E(errs.Invalid, "auId %q is not an AU or module of this registration's course", auID)
	}
	auID = target.AU.ID
	if err := s.st.ensureAU(ctx, reg.ID, auID, target.Module); err != nil {
		return err
	}
	now := s.now().UTC()
	ok, err := s.st.waiveAU(ctx, reg.ID, auID, reason, now)
	if err != nil {
		return err
	}
	if !ok {
		return errs.E(errs.Conflict, "this AU is already satisfied or waived for the learner")
	}
	sessionID := uuid.NewString()
	// Waived has success and completion, so it carries the moveon
	// category too (cmi5 §9.6.2.2).
	st := s.statement(reg.LearnerID, VerbWaived, "Waived", activity(s.objectID(target.AU), "", target.AU.Title), reg.ID, sessionID, auID, nil,
		map[string]any{"success": true, "completion": true, "extensions": map[string]any{ExtReason: reason}})
	addCategory(st, CategoryMoveOn)
	if err := s.send(ctx, boroughID, st); err != nil {
		return err
	}
	if _, err := s.st.markAU(ctx, reg.ID, auID, "satisfied_at", now); err != nil {
		return err
	}
	return s.evaluateCourse(ctx, reg, sessionID)
}
