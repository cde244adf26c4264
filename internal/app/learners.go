package app

import (
	"context"

	"github.com/reach-london/reach/content/dispatch"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/lrs"
	"github.com/reach-london/reach/reports/reportsql"
	"github.com/reach-london/reach/server"
)

// mountAdmin adds learner management and the admin pages, and the erasers
// that GDPR erasure runs.
func (a *App) mountAdmin(deps *server.Deps) {
	deps.MountApp = append(deps.MountApp, server.MountStatic, server.MountLearners,
		server.MountAdminUI(server.AdminServices{Content: a.Content(), Forwarding: a.Forwarding(), Launch: a.Launch(),
			Dispatch: dispatch.NewStore(a.DB)}))
	deps.Erasers = append(deps.Erasers, a.learnerErasers()...)
}

// learnerErasers lists every room's part of erasing one learner, the
// account last: while any earlier step fails the account stays findable,
// so the admin can run the erasure again.
func (a *App) learnerErasers() []server.LearnerEraser {
	statements, documents := a.Statements(), a.Documents()
	out := []server.LearnerEraser{
		server.EraserFunc(func(ctx context.Context, borough string, _ auth.User, agent lrs.Actor) error {
			_, err := statements.EraseAgent(ctx, borough, agent)
			return err
		}),
		server.EraserFunc(func(ctx context.Context, borough string, _ auth.User, agent lrs.Actor) error {
			_, err := documents.EraseAgent(ctx, borough, agent)
			return err
		}),
	}
	facts, projector := reportsql.New(a.DB), a.Reports()
	out = append(out, server.EraserFunc(func(ctx context.Context, borough string, _ auth.User, agent lrs.Actor) error {
		// Catch the projector up first: a batch read before the statements
		// were deleted is then either applied already (and its facts
		// erased below) or refused for its stale cursor, so no fact of the
		// learner comes back afterwards.
		if _, err := projector.CatchUp(ctx); err != nil {
			return err
		}
		return facts.EraseLearner(ctx, borough, agent.Key())
	}))
	// cmi5 registrations and SCORM attempts (which hold the learner's name).
	launches, attempts := a.Launch(), a.SCORM()
	out = append(out, server.EraserFunc(func(ctx context.Context, borough string, u auth.User, _ lrs.Actor) error {
		if _, err := launches.EraseLearner(ctx, borough, u.ID); err != nil {
			return err
		}
		_, err := attempts.EraseLearner(ctx, borough, u.ID)
		return err
	}))
	// The versions a learner is pinned to, per module.
	courses := a.Content()
	out = append(out, server.EraserFunc(func(ctx context.Context, borough string, u auth.User, _ lrs.Actor) error {
		vs, err := courses.Versions(ctx, borough)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, v := range vs {
			for _, m := range v.Modules {
				if !seen[m.Module] {
					seen[m.Module] = true
					if err := courses.ReleasePin(ctx, borough, u.ID, m.Module); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}))
	// The LMS students a SCORM 1.2 dispatch mapped to the learner: the
	// student comes back, if ever, as a new learner.
	dispatches := dispatch.NewStore(a.DB)
	out = append(out, server.EraserFunc(func(ctx context.Context, borough string, u auth.User, _ lrs.Actor) error {
		_, err := dispatches.EraseLearner(ctx, borough, u.ID)
		return err
	}))
	return append(out, server.EraserFunc(func(ctx context.Context, borough string, u auth.User, _ lrs.Actor) error {
		return a.Auth.AnonymiseLearner(ctx, borough, u.ID)
	}))
}
