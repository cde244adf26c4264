package launch

import (
	"context"

	"github.com/reach-london/reach/internal/errs"
)

// ModuleOutcome is where one module stands in one registration, for a
// runtime that reports it to somewhere else: a SCORM 1.2 dispatch passes
// it on to the other LMS.
type ModuleOutcome struct {
	// LearnerID is whose registration it is (not shown to the other LMS).
	LearnerID string `json:"-"`
	Completed bool   `json:"completed"`
	Passed    bool   `json:"passed"`
	// Failed is true only while the module has not been passed: a learner
	// who failed and then passed has passed.
	Failed bool `json:"failed"`
	// Score is the scaled score (0..1) last recorded, if any.
	Score *float64 `json:"score,omitempty"`
	// Satisfied is true once the module's moveOn is met (or it was waived).
	Satisfied bool `json:"satisfied"`
}

// Settled reports whether the outcome will not change in this session
// any more as far as another LMS is concerned: the module is satisfied,
// or it is completed and judged.
func (o ModuleOutcome) Settled() bool { return o.Satisfied || (o.Completed && (o.Passed || o.Failed)) }

// ModuleOutcome returns the outcome of module in the borough's registration
// registrationID. A registration of another borough, or a module never
// launched in it, is NotFound.
func (s *Service) ModuleOutcome(ctx context.Context, boroughID, registrationID, module string) (ModuleOutcome, error) {
	reg, err := s.st.registration(ctx, boroughID, registrationID)
	if err != nil {
		return ModuleOutcome{}, err
	}
	a, err := scanAU(s.st.db.SQL.QueryRowContext(ctx, `SELECT `+auCols+` FROM launch_au_status
		WHERE registration_id = $1 AND module = $2 ORDER BY au_id LIMIT 1`, reg.ID, module))
	if err != nil {
		if err = notFound(err, "module"); errs.Is(err, errs.NotFound) {
			return ModuleOutcome{}, errs.E(errs.NotFound, "module %q was never launched in registration %s", module, registrationID)
		}
		return ModuleOutcome{}, err
	}
	return ModuleOutcome{LearnerID: reg.LearnerID, Completed: a.CompletedAt != nil, Passed: a.PassedAt != nil,
		Failed: a.FailedAt != nil && a.PassedAt == nil, Score: a.Score, Satisfied: a.SatisfiedAt != nil}, nil
}
