package auth

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/kv"
)

// Learner is one row of a borough's learner list: the account and, when
// known, when the learner last signed in.
type Learner struct {
	User
	LastActiveAt *time.Time `json:"lastActiveAt,omitempty"`
}

// LearnerQuery selects a page of a borough's learners.
type LearnerQuery struct {
	BoroughID string
	// Search matches part of the name or email, case-insensitively.
	Search string
	// Status, if set, keeps learners with that status only.
	Status string
	Limit  int
	Offset int
}

// LearnerPage is one page of learners and how many match in all.
type LearnerPage struct {
	Learners []Learner `json:"learners"`
	Total    int       `json:"total"`
	Limit    int       `json:"limit"`
	Offset   int       `json:"offset"`
}

// LearnerStore lists learners and erases their accounts; authsql.Store
// implements it.
type LearnerStore interface {
	ListLearners(ctx context.Context, q LearnerQuery) ([]Learner, int, error)
	// AnonymiseUser replaces a user's personal data with u's (already
	// anonymised) fields, ends their sessions, drops their invitations
	// and rewrites audit entries that named them by email, in one
	// transaction. It returns the ended session ids.
	AnonymiseUser(ctx context.Context, u User, oldEmail string, at time.Time) ([]string, error)
	// ListBoroughAdmins lists a borough's admin accounts by email.
	ListBoroughAdmins(ctx context.Context, boroughID string) ([]User, error)
	// DeleteOpenInvitation deletes an invitation of the borough that has
	// not been accepted, and returns its email; errs.NotFound otherwise.
	DeleteOpenInvitation(ctx context.Context, boroughID, id string) (string, error)
}

// Learner list limits.
const (
	DefaultLearnerPage = 50
	MaxLearnerPage     = 500
)

// ErasedName is the display name an erased learner's account keeps.
const ErasedName = "Erased learner"

func (s *Service) learners() (LearnerStore, error) {
	ls, ok := s.store.(LearnerStore)
	if !ok {
		return nil, errs.E(errs.Internal, "the account store cannot list learners")
	}
	return ls, nil
}

// ListLearners returns a page of a borough's learners, newest first.
func (s *Service) ListLearners(ctx context.Context, q LearnerQuery) (LearnerPage, error) {
	ls, err := s.learners()
	if err != nil {
		return LearnerPage{}, err
	}
	if q.BoroughID == "" {
		return LearnerPage{}, errs.E(errs.Invalid, "learners are listed per borough")
	}
	q.Search = strings.TrimSpace(q.Search)
	if utf8.RuneCountInString(q.Search) > 200 {
		return LearnerPage{}, errs.E(errs.Invalid, "search must be at most 200 characters")
	}
	switch q.Status {
	case "", StatusActive, StatusInvited, StatusDeactivated:
	default:
		return LearnerPage{}, errs.E(errs.Invalid, "status %q must be active, invited or deactivated", q.Status)
	}
	if q.Limit == 0 {
		q.Limit = DefaultLearnerPage
	}
	if q.Limit < 1 || q.Limit > MaxLearnerPage {
		return LearnerPage{}, errs.E(errs.Invalid, "limit must be from 1 to %d", MaxLearnerPage)
	}
	if q.Offset < 0 {
		return LearnerPage{}, errs.E(errs.Invalid, "offset must not be negative")
	}
	rows, total, err := ls.ListLearners(ctx, q)
	if err != nil {
		return LearnerPage{}, err
	}
	if rows == nil {
		rows = []Learner{}
	}
	return LearnerPage{Learners: rows, Total: total, Limit: q.Limit, Offset: q.Offset}, nil
}

// LearnerIn returns a learner account of boroughID. Accounts of other
// boroughs and admin accounts look absent.
func (s *Service) LearnerIn(ctx context.Context, boroughID, userID string) (User, error) {
	u, err := s.store.UserByID(ctx, userID)
	if errs.Is(err, errs.NotFound) || (err == nil && (u.BoroughID != boroughID || u.Role != RoleLearner)) {
		return User{}, errs.E(errs.NotFound, "no learner %q in this borough", userID)
	}
	return u, err
}

// SetLearnerActive deactivates or reactivates a learner. Deactivating
// ends every session of theirs at once on every replica.
func (s *Service) SetLearnerActive(ctx context.Context, actor, boroughID, userID string, active bool) (User, error) {
	u, err := s.LearnerIn(ctx, boroughID, userID)
	if err != nil {
		return User{}, err
	}
	if IsErased(u) {
		return User{}, errs.E(errs.Conflict, "this learner's account has been erased and cannot be reactivated")
	}
	want, action := StatusDeactivated, "learner.deactivate"
	if active {
		want, action = StatusActive, "learner.reactivate"
	}
	if u.Status != want {
		u.Status = want
		if err := s.store.UpdateUser(ctx, u); err != nil {
			return User{}, err
		}
		s.audit(ctx, boroughID, actor, action, u.ID, nil)
	}
	if !active {
		if err := s.EndSessions(ctx, u.ID); err != nil {
			return User{}, err
		}
	}
	return u, nil
}

// EndAccess deactivates a learner's account without an audit entry of
// its own and ends every sign-in session of theirs: the first step of an
// erasure, which the erasure's own audit entry records. From then on no
// token of the learner is accepted on any replica (AuthenticateToken
// checks the account of every launch token). Unlike SetLearnerActive it
// works on an erased account, so an erasure that failed part-way can run
// again.
func (s *Service) EndAccess(ctx context.Context, boroughID, userID string) (User, error) {
	u, err := s.LearnerIn(ctx, boroughID, userID)
	if err != nil {
		return User{}, err
	}
	if u.Status != StatusDeactivated {
		u.Status = StatusDeactivated
		if err := s.store.UpdateUser(ctx, u); err != nil {
			return User{}, err
		}
	}
	return u, s.EndSessions(ctx, u.ID)
}

// EndSessions revokes every session of a user in the store and drops them
// from the session cache, so no replica accepts their tokens any more.
func (s *Service) EndSessions(ctx context.Context, userID string) error {
	return s.endSessionsExcept(ctx, userID, "")
}

// endSessionsExcept is EndSessions keeping one session ("" for none).
func (s *Service) endSessionsExcept(ctx context.Context, userID, keep string) error {
	ids, err := s.store.RevokeUserSessions(ctx, userID, keep, s.now().UTC())
	if err != nil {
		return err
	}
	return s.forgetSessions(ctx, ids)
}

// forgetSessions drops revoked sessions from the session cache, as Logout
// does: while the cache is unreachable no replica reads it, and the
// database, which every replica falls back to, has them revoked.
func (s *Service) forgetSessions(ctx context.Context, ids []string) error {
	for _, id := range ids {
		err := s.kv.Delete(ctx, "session:"+id)
		if errors.Is(err, kv.ErrUnavailable) {
			s.opts.Logger.Warn("ended sessions while the session cache is unavailable", "err", err)
			return nil
		}
		if err != nil {
			return errs.Wrap(errs.Unavailable, err, "could not clear the session cache; try again")
		}
	}
	return nil
}

// ErasedEmail is the address an erased learner's account is given: unique
// per account and in a reserved top-level domain that never delivers.
func ErasedEmail(userID string) string { return "erased-" + userID + "@invalid" }

// IsErased reports whether u is an erased learner's account.
func IsErased(u User) bool { return u.Email == ErasedEmail(u.ID) }

// AnonymiseLearner removes a learner's personal data from their account
// (GDPR erasure): the email becomes ErasedEmail, the name ErasedName, the
// profession is cleared, the password can never match and the account is
// deactivated; their sessions end and their invitations are deleted. It is
// safe to call again on an erased account.
func (s *Service) AnonymiseLearner(ctx context.Context, boroughID, userID string) error {
	ls, err := s.learners()
	if err != nil {
		return err
	}
	u, err := s.LearnerIn(ctx, boroughID, userID)
	if err != nil {
		return err
	}
	old := u.Email
	u.Email, u.Name, u.Profession = ErasedEmail(u.ID), ErasedName, ""
	u.Status, u.MustChange = StatusDeactivated, false
	// A hash in no known format: VerifyPassword rejects every password.
	u.PasswordHash = "erased"
	ids, err := ls.AnonymiseUser(ctx, u, old, s.now().UTC())
	if err != nil {
		return err
	}
	return s.forgetSessions(ctx, ids)
}

// ListBoroughAdmins lists the admin accounts of a borough.
func (s *Service) ListBoroughAdmins(ctx context.Context, boroughID string) ([]User, error) {
	ls, err := s.learners()
	if err != nil {
		return nil, err
	}
	return ls.ListBoroughAdmins(ctx, boroughID)
}

// CancelInvitation withdraws an invitation not yet accepted, so its link
// stops working.
func (s *Service) CancelInvitation(ctx context.Context, actor, boroughID, id string) error {
	ls, err := s.learners()
	if err != nil {
		return err
	}
	email, err := ls.DeleteOpenInvitation(ctx, boroughID, id)
	if err != nil {
		return err
	}
	s.audit(ctx, boroughID, actor, "invitation.cancel", email, nil)
	return nil
}

// AuditPageStore pages through the audit log; authsql.Store implements it.
type AuditPageStore interface {
	// ListAuditBefore lists up to limit entries of the borough (every
	// borough for "") with ids below before (0: the newest), newest first.
	ListAuditBefore(ctx context.Context, boroughID string, before int64, limit int) ([]AuditEntry, error)
}

// AuditPage returns up to limit audit entries older than entry before (0:
// the newest), for reading the log page by page.
func (s *Service) AuditPage(ctx context.Context, boroughID string, before int64, limit int) ([]AuditEntry, error) {
	ap, ok := s.store.(AuditPageStore)
	if !ok {
		return nil, errs.E(errs.Internal, "the account store cannot page the audit log")
	}
	if before < 0 || limit < 1 || limit > 1000 {
		return nil, errs.E(errs.Invalid, "before must not be negative and limit must be from 1 to 1000")
	}
	return ap.ListAuditBefore(ctx, boroughID, before, limit)
}
