package authsql

import (
	"context"
	"database/sql"
	"time"

	"github.com/reach-london/reach/internal/auth"
)

// CreateInvitation implements auth.InviteStore.
func (s *Store) CreateInvitation(ctx context.Context, inv auth.Invitation) error {
	_, err := s.db.SQL.ExecContext(ctx, `INSERT INTO invitations (id, borough_id, email, token_hash, created_by, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, inv.ID, inv.BoroughID, inv.Email, inv.TokenHash, inv.CreatedBy, inv.CreatedAt, inv.ExpiresAt)
	return conflict(err, "invitation")
}

const inviteCols = `id, borough_id, email, token_hash, created_by, created_at, expires_at, accepted_at, user_id`

func scanInvitation(row interface{ Scan(...any) error }) (auth.Invitation, error) {
	var inv auth.Invitation
	var acc sql.NullTime
	err := row.Scan(&inv.ID, &inv.BoroughID, &inv.Email, &inv.TokenHash, &inv.CreatedBy, &inv.CreatedAt, &inv.ExpiresAt, &acc, &inv.UserID)
	inv.CreatedAt, inv.ExpiresAt = inv.CreatedAt.UTC(), inv.ExpiresAt.UTC()
	if acc.Valid {
		t := acc.Time.UTC()
		inv.AcceptedAt = &t
	}
	return inv, err
}

// InvitationByTokenHash implements auth.InviteStore.
func (s *Store) InvitationByTokenHash(ctx context.Context, hash []byte) (auth.Invitation, error) {
	inv, err := scanInvitation(s.db.SQL.QueryRowContext(ctx, `SELECT `+inviteCols+` FROM invitations WHERE token_hash = $1`, hash))
	return inv, notFound(err, "invitation")
}

// AcceptInvitation implements auth.InviteStore.
func (s *Store) AcceptInvitation(ctx context.Context, id, userID string, at time.Time) (bool, error) {
	res, err := s.db.SQL.ExecContext(ctx, `UPDATE invitations SET accepted_at = $1, user_id = $2 WHERE id = $3 AND accepted_at IS NULL`,
		at, userID, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseInvitation implements auth.InviteStore.
func (s *Store) ReleaseInvitation(ctx context.Context, id string) error {
	_, err := s.db.SQL.ExecContext(ctx, `UPDATE invitations SET accepted_at = NULL, user_id = '' WHERE id = $1`, id)
	return err
}

// SetInvitationUser implements auth.InviteStore.
func (s *Store) SetInvitationUser(ctx context.Context, id, userID string) error {
	_, err := s.db.SQL.ExecContext(ctx, `UPDATE invitations SET user_id = $1 WHERE id = $2`, userID, id)
	return err
}

// ListInvitations implements auth.InviteStore.
func (s *Store) ListInvitations(ctx context.Context, boroughID string) ([]auth.Invitation, error) {
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT `+inviteCols+` FROM invitations WHERE borough_id = $1 ORDER BY created_at DESC`, boroughID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []auth.Invitation{}
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, rows.Err()
}
