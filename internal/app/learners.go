package app

import (
	"context"

	"github.com/reach-london/reach/content/dispatch"
	"github.com/reach-london/reach/internal/learners"
	"github.com/reach-london/reach/reports/reportsql"
	"github.com/reach-london/reach/server"
)

// mountAdmin adds learner management and the admin pages.
func (a *App) mountAdmin(deps *server.Deps) {
	deps.MountApp = append(deps.MountApp, server.MountStatic, server.MountLearners,
		server.MountAdminUI(server.AdminServices{Content: a.Content(), Forwarding: a.Forwarding(), Launch: a.Launch(),
			Dispatch: dispatch.NewStore(a.DB)}))
	deps.Learners = a.Learners()
}

// Learners returns the learner use cases (deactivate, reactivate, erase)
// over this process's rooms; the API, the admin pages and the CLI use it.
func (a *App) Learners() *learners.Service {
	a.learnersOnce.Do(func() {
		launches := a.Launch()
		enders := []learners.Step{{Name: "launch sessions", Run: func(ctx context.Context, borough string, l learners.Learner) error {
			_, err := launches.EndLearnerSessions(ctx, borough, l.User.ID)
			return err
		}}}
		a.learners = learners.New(a.Auth, launches.Agent, enders, a.learnerErasers(), a.Log)
	})
	return a.learners
}

// learnerErasers lists every room's part of erasing one learner's data,
// in order; the learners package ends access before and anonymises the
// account after them.
func (a *App) learnerErasers() []learners.Step {
	statements, documents := a.Statements(), a.Documents()
	facts, projector := reportsql.New(a.DB), a.Reports()
	launches, attempts, courses := a.Launch(), a.SCORM(), a.Content()
	dispatches := dispatch.NewStore(a.DB)
	return []learners.Step{
		{Name: "statements", Run: func(ctx context.Context, borough string, l learners.Learner) error {
			_, err := statements.EraseAgent(ctx, borough, l.Agent)
			return err
		}},
		{Name: "documents", Run: func(ctx context.Context, borough string, l learners.Learner) error {
			_, err := documents.EraseAgent(ctx, borough, l.Agent)
			return err
		}},
		{Name: "report facts", Run: func(ctx context.Context, borough string, l learners.Learner) error {
			// Catch the projector up first: a batch read before the
			// statements were deleted is then either applied already (and
			// its facts erased below) or refused for its stale cursor, so
			// no fact of the learner comes back afterwards.
			if _, err := projector.CatchUp(ctx); err != nil {
				return err
			}
			return facts.EraseLearner(ctx, borough, l.Agent.Key())
		}},
		// cmi5 registrations and SCORM attempts (which hold the learner's name).
		{Name: "launch registrations", Run: func(ctx context.Context, borough string, l learners.Learner) error {
			_, err := launches.EraseLearner(ctx, borough, l.User.ID)
			return err
		}},
		{Name: "SCORM attempts", Run: func(ctx context.Context, borough string, l learners.Learner) error {
			_, err := attempts.EraseLearner(ctx, borough, l.User.ID)
			return err
		}},
		// The versions a learner is pinned to, per module.
		{Name: "course pins", Run: func(ctx context.Context, borough string, l learners.Learner) error {
			vs, err := courses.Versions(ctx, borough)
			if err != nil {
				return err
			}
			seen := map[string]bool{}
			for _, v := range vs {
				for _, m := range v.Modules {
					if !seen[m.Module] {
						seen[m.Module] = true
						if err := courses.ReleasePin(ctx, borough, l.User.ID, m.Module); err != nil {
							return err
						}
					}
				}
			}
			return nil
		}},
		// The LMS students a SCORM 1.2 dispatch mapped to the learner: the
		// student comes back, if ever, as a new learner.
		{Name: "dispatch mappings", Run: func(ctx context.Context, borough string, l learners.Learner) error {
			_, err := dispatches.EraseLearner(ctx, borough, l.User.ID)
			return err
		}},
	}
}
