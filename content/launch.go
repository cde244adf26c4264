package content

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/reach-london/reach/internal/errs"
)

// VersionForLaunch answers which content a learner gets when launching a
// module: the version they are pinned to if they started the module
// before, otherwise the published version, which this call pins them to.
// learner is the learner's stable id (the account id). The launch code
// (issue 6) calls it on every launch and records Launchable.Version.ID on
// the registration; it calls ReleasePin when the learner completes the
// module, so a later launch starts on whatever is published then.
func (s *Service) VersionForLaunch(ctx context.Context, boroughID, learner, module string) (Launchable, error) {
	if learner == "" || module == "" {
		return Launchable{}, errs.E(errs.Invalid, "learner and module are required")
	}
	var versionID string
	err := s.db.SQL.QueryRowContext(ctx, `SELECT version_id FROM content_pins WHERE borough_id = $1 AND learner = $2 AND module = $3`,
		boroughID, learner, module).Scan(&versionID)
	pinned := err == nil
	if errors.Is(err, sql.ErrNoRows) {
		pub, err := s.PublishedVersion(ctx, boroughID)
		if errs.Is(err, errs.NotFound) {
			pub, err = s.ensureCourse(ctx, boroughID)
		}
		if err != nil {
			return Launchable{}, err
		}
		if _, ok := pub.Module(module); !ok {
			return Launchable{}, errs.E(errs.NotFound, "the course has no module %q", module)
		}
		// ON CONFLICT keeps the first pin when two launches race.
		if _, err := s.db.SQL.ExecContext(ctx, `INSERT INTO content_pins (borough_id, learner, module, version_id, created_at)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT (borough_id, learner, module) DO NOTHING`,
			boroughID, learner, module, pub.ID, s.now().UTC().Truncate(time.Millisecond)); err != nil {
			return Launchable{}, errs.Wrap(errs.Unavailable, err, "the launch could not be recorded; try again")
		}
		if err := s.db.SQL.QueryRowContext(ctx, `SELECT version_id FROM content_pins WHERE borough_id = $1 AND learner = $2 AND module = $3`,
			boroughID, learner, module).Scan(&versionID); err != nil {
			return Launchable{}, err
		}
	} else if err != nil {
		return Launchable{}, errs.Wrap(errs.Unavailable, err, "the database is unavailable")
	}
	v, err := s.VersionByID(ctx, boroughID, versionID)
	if err != nil {
		return Launchable{}, err
	}
	l, err := s.resolve(ctx, v, module)
	l.Pinned = pinned
	return l, err
}

// Launchable returns what launching module in version number would open,
// without pinning anyone: for an admin's preview of a draft.
func (s *Service) Launchable(ctx context.Context, boroughID string, number int, module string) (Launchable, error) {
	v, err := s.Version(ctx, boroughID, number)
	if err != nil {
		return Launchable{}, err
	}
	return s.resolve(ctx, v, module)
}

func (s *Service) resolve(ctx context.Context, v CourseVersion, module string) (Launchable, error) {
	mb, ok := v.Module(module)
	if !ok {
		return Launchable{}, errs.E(errs.NotFound, "version %d has no module %q", v.Number, module)
	}
	pkg, err := s.Package(ctx, v.BoroughID, mb.PackageID)
	if err != nil {
		return Launchable{}, err
	}
	au, ok := pkg.Course.FindAU(mb.AUID)
	if !ok {
		return Launchable{}, errs.E(errs.Internal, "package %s lacks AU %s", pkg.ID, mb.AUID)
	}
	return Launchable{Version: v, Module: mb, Package: pkg, AU: au}, nil
}

// Pin returns the learner's pin on module, if any.
func (s *Service) Pin(ctx context.Context, boroughID, learner, module string) (Pin, error) {
	p := Pin{BoroughID: boroughID, Learner: learner, Module: module}
	err := s.db.SQL.QueryRowContext(ctx, `SELECT version_id, created_at FROM content_pins WHERE borough_id = $1 AND learner = $2 AND module = $3`,
		boroughID, learner, module).Scan(&p.VersionID, &p.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return p, errs.E(errs.NotFound, "no pin")
	}
	p.CreatedAt = p.CreatedAt.UTC()
	return p, err
}

// ReleasePin forgets the learner's pin on module (when they complete it,
// or when an admin resets their attempt); the next launch gets the
// published version. Releasing an absent pin is not an error.
func (s *Service) ReleasePin(ctx context.Context, boroughID, learner, module string) error {
	_, err := s.db.SQL.ExecContext(ctx, `DELETE FROM content_pins WHERE borough_id = $1 AND learner = $2 AND module = $3`, boroughID, learner, module)
	return err
}

// ensureCourse publishes the base course in a borough that has never had a
// course version (one created after the server started), so its learners
// can launch without waiting for a restart or an admin's publish. A
// borough that has versions but none published (every one rolled back or
// only drafts) is left alone: that is an admin's decision.
func (s *Service) ensureCourse(ctx context.Context, boroughID string) (CourseVersion, error) {
	if _, err := s.LatestVersion(ctx, boroughID); err == nil {
		return CourseVersion{}, errs.E(errs.NotFound, "the course has no published version in this borough yet")
	} else if !errs.Is(err, errs.NotFound) {
		return CourseVersion{}, err
	}
	b, err := s.auth.Store().BoroughByID(ctx, boroughID)
	if err != nil {
		return CourseVersion{}, err
	}
	v, _, err := s.PublishBaseCourse(ctx, b, "system")
	return v, err
}
