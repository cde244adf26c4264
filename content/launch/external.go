package launch

import (
	"context"

	"github.com/google/uuid"

	"github.com/reach-london/reach/internal/errs"
)

// Outcome is what a runtime other than cmi5 (the SCORM tracker) reports
// about one AU of a registration after a commit or at the end of a
// session.
type Outcome struct {
	Completed bool
	Passed    bool
	Failed    bool
	// Score is the scaled score (0..1), if known.
	Score *float64
	// Seconds is time spent in the session just ended (0 while it runs).
	Seconds float64
}

// RecordOutcome brings the registration's AU status up to date from
// another runtime and sends satisfied statements when the AU's moveOn is
// met, so SCORM modules count on the dashboard and towards the
// certificate like cmi5 ones. Calling it again with the same outcome
// changes nothing (only Seconds adds up).
func (s *Service) RecordOutcome(ctx context.Context, boroughID, registrationID, auID string, o Outcome) error {
	reg, err := s.st.registration(ctx, boroughID, registrationID)
	if err != nil {
		return err
	}
	if _, err := s.st.auStatus(ctx, reg.ID, auID); errs.Is(err, errs.NotFound) {
		return errs.E(errs.NotFound, "AU %s was never launched in registration %s", auID, registrationID)
	} else if err != nil {
		return err
	}
	now := s.now().UTC()
	for col, on := range map[string]bool{"completed_at": o.Completed, "passed_at": o.Passed, "failed_at": o.Failed} {
		if on {
			if _, err := s.st.markAU(ctx, reg.ID, auID, col, now); err != nil {
				return err
			}
		}
	}
	if o.Score != nil {
		if err := s.st.setScore(ctx, reg.ID, auID, *o.Score); err != nil {
			return err
		}
	}
	if o.Seconds > 0 {
		if err := s.st.addSeconds(ctx, reg.ID, auID, o.Seconds); err != nil {
			return err
		}
	}
	return s.evaluate(ctx, reg, auID, uuid.NewString())
}
