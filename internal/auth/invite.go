package auth

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/google/uuid"

	"github.com/reach-london/reach/internal/errs"
)

// Invitation lets one person create a learner account in a borough. The
// token is handed over out of band (there is no mail server); only its
// hash is stored, and it works once, before it expires.
type Invitation struct {
	ID         string     `json:"id"`
	BoroughID  string     `json:"boroughId"`
	Email      string     `json:"email"`
	TokenHash  []byte     `json:"-"`
	CreatedBy  string     `json:"createdBy"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  time.Time  `json:"expiresAt"`
	AcceptedAt *time.Time `json:"acceptedAt,omitempty"`
	UserID     string     `json:"userId,omitempty"`
}

// InviteStore persists invitations; authsql.Store implements it.
type InviteStore interface {
	CreateInvitation(ctx context.Context, inv Invitation) error
	InvitationByTokenHash(ctx context.Context, hash []byte) (Invitation, error)
	// AcceptInvitation marks an unaccepted invitation accepted by userID
	// and reports whether this call did it.
	AcceptInvitation(ctx context.Context, id, userID string, at time.Time) (bool, error)
	// ReleaseInvitation undoes AcceptInvitation when the account could not
	// be created.
	ReleaseInvitation(ctx context.Context, id string) error
	// SetInvitationUser records the account an accepted invitation created.
	SetInvitationUser(ctx context.Context, id, userID string) error
	ListInvitations(ctx context.Context, boroughID string) ([]Invitation, error)
}

// InvitationTTL is how long an invitation link works.
const InvitationTTL = 14 * 24 * time.Hour

func (s *Service) invites() (InviteStore, error) {
	is, ok := s.store.(InviteStore)
	if !ok {
		return nil, errs.E(errs.Internal, "the account store cannot keep invitations")
	}
	return is, nil
}

func hashInviteToken(tok string) []byte {
	h := sha256.Sum256([]byte("reach-invitation:" + tok))
	return h[:]
}

// Invite creates an invitation for email to join boroughID as a learner
// and returns it with the token to put in the link. An email that already
// has an account in the borough is refused.
func (s *Service) Invite(ctx context.Context, actor, boroughID, email string) (Invitation, string, error) {
	is, err := s.invites()
	if err != nil {
		return Invitation{}, "", err
	}
	email = NormalizeEmail(email)
	if err := ValidateEmail(email); err != nil {
		return Invitation{}, "", err
	}
	if _, err := s.store.UserByEmail(ctx, boroughID, email); err == nil {
		return Invitation{}, "", errs.E(errs.Conflict, "%s already has an account in this borough", email)
	} else if !errs.Is(err, errs.NotFound) {
		return Invitation{}, "", err
	}
	tok := RandomToken(24)
	now := s.now().UTC()
	inv := Invitation{ID: uuid.NewString(), BoroughID: boroughID, Email: email, TokenHash: hashInviteToken(tok),
		CreatedBy: actor, CreatedAt: now, ExpiresAt: now.Add(InvitationTTL)}
	if err := is.CreateInvitation(ctx, inv); err != nil {
		return Invitation{}, "", err
	}
	s.audit(ctx, boroughID, actor, "invitation.create", email, nil)
	return inv, tok, nil
}

// Invitation returns the live invitation for a token in a borough.
func (s *Service) Invitation(ctx context.Context, boroughID, token string) (Invitation, error) {
	is, err := s.invites()
	if err != nil {
		return Invitation{}, err
	}
	gone := errs.E(errs.NotFound, "this invitation link is not valid; ask your borough for a new one")
	if token == "" || len(token) > 128 {
		return Invitation{}, gone
	}
	inv, err := is.InvitationByTokenHash(ctx, hashInviteToken(token))
	if errs.Is(err, errs.NotFound) || (err == nil && inv.BoroughID != boroughID) {
		return Invitation{}, gone
	}
	if err != nil {
		return Invitation{}, err
	}
	if inv.AcceptedAt != nil {
		return Invitation{}, errs.E(errs.Conflict, "this invitation has already been used; sign in instead")
	}
	if !s.now().Before(inv.ExpiresAt) {
		return Invitation{}, errs.E(errs.NotFound, "this invitation has expired; ask your borough for a new one")
	}
	return inv, nil
}

// AcceptInvitation creates the invited learner's account, once.
func (s *Service) AcceptInvitation(ctx context.Context, boroughID, token, name, password, profession string) (User, error) {
	inv, err := s.Invitation(ctx, boroughID, token)
	if err != nil {
		return User{}, err
	}
	if err := CheckPassword(password, inv.Email, name); err != nil {
		return User{}, err
	}
	is, _ := s.invites()
	// Claim the invitation first, so two submissions cannot both create
	// an account; the claim names the account once it exists.
	ok, err := is.AcceptInvitation(ctx, inv.ID, "", s.now().UTC())
	if err != nil {
		return User{}, err
	}
	if !ok {
		return User{}, errs.E(errs.Conflict, "this invitation has already been used; sign in instead")
	}
	u, _, err := s.CreateUser(ctx, "invitation:"+inv.ID, NewUser{BoroughID: boroughID, Email: inv.Email, Name: name,
		Role: RoleLearner, Profession: profession, Password: password})
	if err != nil {
		_ = is.ReleaseInvitation(ctx, inv.ID)
		return User{}, err
	}
	if err := is.SetInvitationUser(ctx, inv.ID, u.ID); err != nil {
		return User{}, err
	}
	return u, nil
}

// ListInvitations lists a borough's invitations, newest first.
func (s *Service) ListInvitations(ctx context.Context, boroughID string) ([]Invitation, error) {
	is, err := s.invites()
	if err != nil {
		return nil, err
	}
	return is.ListInvitations(ctx, boroughID)
}
