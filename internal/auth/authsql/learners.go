package authsql

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
)

var _ auth.LearnerStore = (*Store)(nil)

// likePattern turns a search into a LIKE pattern matching it anywhere,
// with LIKE's wildcards in the search taken literally.
func likePattern(search string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(search)) + "%"
}

// ListLearners implements auth.LearnerStore: newest accounts first.
func (s *Store) ListLearners(ctx context.Context, q auth.LearnerQuery) ([]auth.Learner, int, error) {
	where := ` WHERE borough_id = $1 AND role = 'learner'`
	args := []any{q.BoroughID}
	if q.Status != "" {
		args = append(args, q.Status)
		where += ` AND status = $` + strconv.Itoa(len(args))
	}
	if q.Search != "" {
		args = append(args, likePattern(q.Search))
		n := `$` + strconv.Itoa(len(args))
		where += ` AND (LOWER(name) LIKE ` + n + ` ESCAPE '\' OR email LIKE ` + n + ` ESCAPE '\')`
	}
	var total int
	if err := s.db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	page := append(args, q.Limit, q.Offset)
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT `+userCols+` FROM users`+where+
		` ORDER BY created_at DESC, id LIMIT $`+strconv.Itoa(len(args)+1)+` OFFSET $`+strconv.Itoa(len(args)+2), page...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []auth.Learner
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, auth.Learner{User: u})
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if err := s.fillLastActive(ctx, out); err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// fillLastActive sets each learner's latest sign-in. It reads the
// sessions in a second query rather than a MAX() subquery because SQLite
// reports an aggregate's value without the column's TIMESTAMP type.
func (s *Store) fillLastActive(ctx context.Context, ls []auth.Learner) error {
	if len(ls) == 0 {
		return nil
	}
	idx := make(map[string]int, len(ls))
	ph := make([]string, len(ls))
	args := make([]any, len(ls))
	for i, l := range ls {
		idx[l.ID] = i
		ph[i] = "$" + strconv.Itoa(i+1)
		args[i] = l.ID
	}
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT user_id, created_at FROM sessions WHERE user_id IN (`+strings.Join(ph, ",")+`)`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			return err
		}
		at = at.UTC()
		if l := &ls[idx[id]]; l.LastActiveAt == nil || at.After(*l.LastActiveAt) {
			l.LastActiveAt = &at
		}
	}
	return rows.Err()
}

// AnonymiseUser implements auth.LearnerStore.
func (s *Store) AnonymiseUser(ctx context.Context, u auth.User, oldEmail string, at time.Time) ([]string, error) {
	var ids []string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET email=$2, name=$3, profession=$4, status=$5, password_hash=$6, must_change=$7 WHERE id=$1`,
			u.ID, u.Email, u.Name, u.Profession, u.Status, u.PasswordHash, u.MustChange); err != nil {
			return conflict(err, "an account for "+u.Email)
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL`, u.ID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL`, u.ID, at); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM invitations WHERE borough_id = $1 AND (email = $2 OR user_id = $3)`,
			u.BoroughID, oldEmail, u.ID); err != nil {
			return err
		}
		// The audit log names accounts by email when they are created
		// or invited; those entries now name the erased address.
		if oldEmail != u.Email {
			if _, err := tx.ExecContext(ctx, `UPDATE audit_log SET target = $3 WHERE borough_id = $1 AND target = $2`,
				u.BoroughID, oldEmail, u.Email); err != nil {
				return err
			}
		}
		return nil
	})
	return ids, err
}

// ListBoroughAdmins implements auth.LearnerStore.
func (s *Store) ListBoroughAdmins(ctx context.Context, boroughID string) ([]auth.User, error) {
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT `+userCols+` FROM users WHERE borough_id = $1 AND role = $2 ORDER BY email`,
		boroughID, auth.RoleBoroughAdmin)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auth.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// DeleteOpenInvitation implements auth.LearnerStore.
func (s *Store) DeleteOpenInvitation(ctx context.Context, boroughID, id string) (string, error) {
	var email string
	err := s.db.SQL.QueryRowContext(ctx, `DELETE FROM invitations WHERE borough_id = $1 AND id = $2 AND accepted_at IS NULL RETURNING email`,
		boroughID, id).Scan(&email)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errs.E(errs.NotFound, "no open invitation %q in this borough", id)
	}
	return email, err
}

var _ auth.AuditPageStore = (*Store)(nil)

// ListAuditBefore implements auth.AuditPageStore.
func (s *Store) ListAuditBefore(ctx context.Context, boroughID string, before int64, limit int) ([]auth.AuditEntry, error) {
	q := `SELECT id, borough_id, actor, action, target, details, at FROM audit_log WHERE id < $2`
	args := []any{limit, before}
	if before == 0 {
		args[1] = int64(1) << 62
	}
	if boroughID != "" {
		q += ` AND borough_id = $3`
		args = append(args, boroughID)
	}
	rows, err := s.db.SQL.QueryContext(ctx, q+` ORDER BY id DESC LIMIT $1`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auth.AuditEntry
	for rows.Next() {
		var e auth.AuditEntry
		var details sql.NullString
		if err := rows.Scan(&e.ID, &e.BoroughID, &e.Actor, &e.Action, &e.Target, &details, &e.At); err != nil {
			return nil, err
		}
		if details.Valid {
			e.Details = []byte(details.String)
		}
		e.At = e.At.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
