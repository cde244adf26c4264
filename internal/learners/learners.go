// Package learners holds the use cases that end a learner's access and
// erase their data across every room: deactivation, reactivation and
// GDPR erasure. The JSON API, the admin pages and the CLI all go through
// one Service, so the rules below hold whichever an admin uses.
//
// The rules, in order:
//
//  1. End access first, so nothing new can be written: the account is
//     deactivated and its sign-in sessions end; every launch token of the
//     learner is refused from then on on every replica (internal/auth
//     checks the account of each launch token in the database), and each
//     room ends its open sessions (SessionEnders), which may itself write
//     (cmi5's abandoned statement).
//  2. Then erase or anonymise each room's data (Steps, in the order given:
//     statements, documents, report facts, registrations, attempts,
//     dispatch mappings...). Each step must be safe to run again.
//  3. Anonymise the account last: while any earlier step fails the
//     account keeps its email, so the admin can find it and run the
//     erasure again.
//  4. Record the erasure in the audit log, naming the account by id only.
package learners

import (
	"context"
	"log/slog"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs"
)

// Accounts is what the use cases need of internal/auth.
type Accounts interface {
	LearnerIn(ctx context.Context, boroughID, userID string) (auth.User, error)
	SetLearnerActive(ctx context.Context, actor, boroughID, userID string, active bool) (auth.User, error)
	EndAccess(ctx context.Context, boroughID, userID string) (auth.User, error)
	AnonymiseLearner(ctx context.Context, boroughID, userID string) error
	Audit(ctx context.Context, boroughID, actor, action, target string, details map[string]any)
}

// Learner is who a step works on: the account and its xAPI agent.
type Learner struct {
	User  auth.User
	Agent lrs.Actor
}

// Step is one room's part of ending a learner's access or erasing their
// data. Run must be safe to call again after it succeeded.
type Step struct {
	Name string
	Run  func(ctx context.Context, boroughID string, l Learner) error
}

// Service runs deactivation, reactivation and erasure.
type Service struct {
	accounts Accounts
	agent    func(userID string) lrs.Actor
	enders   []Step
	erasers  []Step
	log      *slog.Logger
}

// New returns a Service. agent gives a learner's xAPI agent; enders end
// a room's open sessions of a learner (run on deactivation and first in
// erasure); erasers erase each room's data, in order.
func New(accounts Accounts, agent func(userID string) lrs.Actor, enders, erasers []Step, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{accounts: accounts, agent: agent, enders: enders, erasers: erasers, log: log}
}

// Deactivate ends a learner's access at once on every replica: the
// account is deactivated, their sign-in sessions end, every launch token
// is refused and every open launch session ends.
func (s *Service) Deactivate(ctx context.Context, actor, boroughID, userID string) (auth.User, error) {
	u, err := s.accounts.SetLearnerActive(ctx, actor, boroughID, userID, false)
	if err != nil {
		return auth.User{}, err
	}
	if err := s.run(ctx, "deactivation", s.enders, boroughID, u); err != nil {
		return auth.User{}, err
	}
	return u, nil
}

// Reactivate lets a deactivated learner sign in again. Their old sessions
// and launches stay ended.
func (s *Service) Reactivate(ctx context.Context, actor, boroughID, userID string) (auth.User, error) {
	return s.accounts.SetLearnerActive(ctx, actor, boroughID, userID, true)
}

// Erase removes a learner's personal data from every room (GDPR erasure)
// in the order the package doc gives, and returns the anonymised account.
// An erasure that fails part-way can be run again.
func (s *Service) Erase(ctx context.Context, actor, boroughID, userID string) (auth.User, error) {
	if len(s.erasers) == 0 {
		return auth.User{}, errs.E(errs.Unavailable, "erasure is not set up on this server")
	}
	u, err := s.accounts.EndAccess(ctx, boroughID, userID)
	if err != nil {
		return auth.User{}, err
	}
	if err := s.run(ctx, "erasure", s.enders, boroughID, u); err != nil {
		return auth.User{}, err
	}
	if err := s.run(ctx, "erasure", s.erasers, boroughID, u); err != nil {
		return auth.User{}, err
	}
	if err := s.accounts.AnonymiseLearner(ctx, boroughID, u.ID); err != nil {
		return auth.User{}, s.failed(ctx, "erasure", "account", boroughID, u, err)
	}
	s.accounts.Audit(ctx, boroughID, actor, "learner.erase", u.ID, map[string]any{"rooms": len(s.erasers) + 1})
	return s.accounts.LearnerIn(ctx, boroughID, u.ID)
}

func (s *Service) run(ctx context.Context, what string, steps []Step, boroughID string, u auth.User) error {
	l := Learner{User: u, Agent: s.agent(u.ID)}
	for _, st := range steps {
		if err := st.Run(ctx, boroughID, l); err != nil {
			return s.failed(ctx, what, st.Name, boroughID, u, err)
		}
	}
	return nil
}

func (s *Service) failed(ctx context.Context, what, step, boroughID string, u auth.User, err error) error {
	s.log.ErrorContext(ctx, "learner "+what+" failed part-way", "step", step, "borough", boroughID, "user", u.ID, "err", err)
	if errs.KindOf(err) == errs.Internal {
		return errs.Wrap(errs.Internal, err, "%s did not finish (at %s); nothing was recorded as done, so run it again", what, step)
	}
	return err
}
