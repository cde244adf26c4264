package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/secretbox"
	"github.com/reach-london/reach/lrs/forward"
)

//go:embed migrations_forwarding
var forwardingFS embed.FS

// ForwardingMigrations creates the forwarding targets table.
var ForwardingMigrations = db.Migrations("lrs_forwarding", forwardingFS, "migrations_forwarding")

// ForwardStore keeps forwarding targets and reads the statement feed. It
// implements forward.Store.
type ForwardStore struct {
	*Store
	// box seals targets' secrets at rest; nil stores them as they are.
	box *secretbox.Box
}

var _ forward.Store = (*ForwardStore)(nil)

// NewForwardStore returns a ForwardStore on d, which must have had
// Migrations and ForwardingMigrations applied. Targets' secrets are sealed
// with box (nil: not sealed).
func NewForwardStore(d *db.DB, box *secretbox.Box) *ForwardStore {
	return &ForwardStore{Store: New(d), box: box}
}

// secretPlace binds a sealed target secret to its row.
func secretPlace(targetID string) string { return "lrs_forward_targets.auth_secret/" + targetID }

func (s *ForwardStore) sealSecret(t forward.Target) string {
	return string(s.box.Seal([]byte(t.Secret), secretPlace(t.ID)))
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMilli(v.Int64).UTC()
	return &t
}

func jsonList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// CreateTarget implements forward.Store.
func (s *ForwardStore) CreateTarget(ctx context.Context, t forward.Target, cursor int64) error {
	_, err := s.d.SQL.ExecContext(ctx, `INSERT INTO lrs_forward_targets (id, borough_id, name, endpoint, xapi_version,
		auth_type, auth_key, auth_secret, verbs, activities, enabled, created_at, updated_at, cursor_seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		t.ID, t.BoroughID, t.Name, t.Endpoint, t.Version, t.AuthType, t.AuthKey, s.sealSecret(t),
		jsonList(t.Filter.Verbs), jsonList(t.Filter.Activities), t.Enabled, t.CreatedAt.UnixMilli(), t.UpdatedAt.UnixMilli(), cursor)
	if db.IsUniqueViolation(err) {
		return errs.E(errs.Conflict, "this borough already has a forwarding target named %q", t.Name)
	}
	if err != nil {
		return errs.Wrap(errs.Internal, err, "create forwarding target")
	}
	return nil
}

// UpdateTarget implements forward.Store.
func (s *ForwardStore) UpdateTarget(ctx context.Context, t forward.Target) error {
	res, err := s.d.SQL.ExecContext(ctx, `UPDATE lrs_forward_targets SET name = $3, endpoint = $4, xapi_version = $5,
		auth_type = $6, auth_key = $7, auth_secret = $8, verbs = $9, activities = $10, enabled = $11, updated_at = $12,
		-- new settings deserve a prompt attempt, not the old backoff
		next_attempt_at = NULL
		WHERE borough_id = $1 AND id = $2`,
		t.BoroughID, t.ID, t.Name, t.Endpoint, t.Version, t.AuthType, t.AuthKey, s.sealSecret(t),
		jsonList(t.Filter.Verbs), jsonList(t.Filter.Activities), t.Enabled, t.UpdatedAt.UnixMilli())
	if db.IsUniqueViolation(err) {
		return errs.E(errs.Conflict, "this borough already has a forwarding target named %q", t.Name)
	}
	if err != nil {
		return errs.Wrap(errs.Internal, err, "update forwarding target")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "no forwarding target %q in this borough", t.ID)
	}
	return nil
}

// DeleteTarget implements forward.Store.
func (s *ForwardStore) DeleteTarget(ctx context.Context, borough, id string) error {
	res, err := s.d.SQL.ExecContext(ctx, `DELETE FROM lrs_forward_targets WHERE borough_id = $1 AND id = $2`, borough, id)
	if err != nil {
		return errs.Wrap(errs.Internal, err, "delete forwarding target")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "no forwarding target %q in this borough", id)
	}
	return nil
}

const targetCols = `id, borough_id, name, endpoint, xapi_version, auth_type, auth_key, auth_secret, verbs, activities,
	enabled, created_at, updated_at, cursor_seq, delivered, last_delivered_at, last_attempt_at, last_error, attempts,
	next_attempt_at`

func (s *ForwardStore) scanTarget(sc interface{ Scan(...any) error }) (forward.Target, forward.State, error) {
	var t forward.Target
	var st forward.State
	var verbs, acts string
	var created, updated int64
	var lastDel, lastAtt, next sql.NullInt64
	if err := sc.Scan(&t.ID, &t.BoroughID, &t.Name, &t.Endpoint, &t.Version, &t.AuthType, &t.AuthKey, &t.Secret,
		&verbs, &acts, &t.Enabled, &created, &updated, &st.Cursor, &st.Delivered, &lastDel, &lastAtt, &st.LastError,
		&st.Attempts, &next); err != nil {
		return t, st, err
	}
	if err := json.Unmarshal([]byte(verbs), &t.Filter.Verbs); err != nil {
		return t, st, err
	}
	if err := json.Unmarshal([]byte(acts), &t.Filter.Activities); err != nil {
		return t, st, err
	}
	secret, err := s.box.Open([]byte(t.Secret), secretPlace(t.ID))
	if err != nil {
		return t, st, fmt.Errorf("forwarding target %s's secret: %w", t.ID, err)
	}
	t.Secret = string(secret)
	t.CreatedAt, t.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	st.LastDeliveredAt, st.LastAttemptAt, st.NextRetryAt = timePtr(lastDel), timePtr(lastAtt), timePtr(next)
	return t, st, nil
}

// Target implements forward.Store.
func (s *ForwardStore) Target(ctx context.Context, borough, id string) (forward.Target, forward.State, error) {
	t, st, err := s.scanTarget(s.d.SQL.QueryRowContext(ctx, `SELECT `+targetCols+` FROM lrs_forward_targets
		WHERE borough_id = $1 AND id = $2`, borough, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, st, errs.E(errs.NotFound, "no forwarding target %q in this borough", id)
	}
	if err != nil {
		return t, st, errs.Wrap(errs.Internal, err, "read forwarding target")
	}
	return t, st, nil
}

// Targets implements forward.Store.
func (s *ForwardStore) Targets(ctx context.Context, borough string) ([]forward.Target, []forward.State, error) {
	q := `SELECT ` + targetCols + ` FROM lrs_forward_targets`
	var args []any
	if borough != "" {
		q += ` WHERE borough_id = $1`
		args = append(args, borough)
	}
	rows, err := s.d.SQL.QueryContext(ctx, q+` ORDER BY borough_id, name`, args...)
	if err != nil {
		return nil, nil, errs.Wrap(errs.Internal, err, "list forwarding targets")
	}
	defer rows.Close()
	var ts []forward.Target
	var sts []forward.State
	for rows.Next() {
		t, st, err := s.scanTarget(rows)
		if err != nil {
			return nil, nil, errs.Wrap(errs.Internal, err, "list forwarding targets")
		}
		ts, sts = append(ts, t), append(sts, st)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, errs.Wrap(errs.Internal, err, "list forwarding targets")
	}
	return ts, sts, nil
}

// Lease implements forward.Store.
func (s *ForwardStore) Lease(ctx context.Context, id, owner string, now, until time.Time) (bool, error) {
	res, err := s.d.SQL.ExecContext(ctx, `UPDATE lrs_forward_targets SET lease_owner = $2, lease_until = $3
		WHERE id = $1 AND (lease_owner = $2 OR lease_owner = '' OR lease_until < $4)`, id, owner, until.UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, errs.Wrap(errs.Internal, err, "lease forwarding target")
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Release implements forward.Store.
func (s *ForwardStore) Release(ctx context.Context, id, owner string) error {
	_, err := s.d.SQL.ExecContext(ctx, `UPDATE lrs_forward_targets SET lease_owner = '', lease_until = 0
		WHERE id = $1 AND lease_owner = $2`, id, owner)
	if err != nil {
		return errs.Wrap(errs.Internal, err, "release forwarding target")
	}
	return nil
}

// Advance implements forward.Store. One UPDATE is one transaction: the
// cursor and the delivery counters move together or not at all.
func (s *ForwardStore) Advance(ctx context.Context, id, owner string, from, to int64, delivered int, at time.Time) (bool, error) {
	q := `UPDATE lrs_forward_targets SET cursor_seq = $4, attempts = 0, last_error = '', next_attempt_at = NULL`
	if delivered > 0 {
		q += `, delivered = delivered + $5, last_delivered_at = $6, last_attempt_at = $6`
	} else {
		q += `, delivered = delivered + $5, last_attempt_at = COALESCE(last_attempt_at, $6)`
	}
	res, err := s.d.SQL.ExecContext(ctx, q+` WHERE id = $1 AND lease_owner = $2 AND cursor_seq = $3`,
		id, owner, from, to, delivered, at.UnixMilli())
	if err != nil {
		return false, errs.Wrap(errs.Internal, err, "advance forwarding cursor")
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Fail implements forward.Store.
func (s *ForwardStore) Fail(ctx context.Context, id, owner, msg string, attempts int, at, next time.Time) error {
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	_, err := s.d.SQL.ExecContext(ctx, `UPDATE lrs_forward_targets SET last_error = $3, attempts = $4,
		last_attempt_at = $5, next_attempt_at = $6 WHERE id = $1 AND lease_owner = $2`,
		id, owner, msg, attempts, at.UnixMilli(), next.UnixMilli())
	if err != nil {
		return errs.Wrap(errs.Internal, err, "record forwarding failure")
	}
	return nil
}

// Skip implements forward.Store.
func (s *ForwardStore) Skip(ctx context.Context, id string, from, to int64) (bool, error) {
	res, err := s.d.SQL.ExecContext(ctx, `UPDATE lrs_forward_targets SET cursor_seq = $3, attempts = 0, last_error = '',
		next_attempt_at = NULL WHERE id = $1 AND cursor_seq = $2`, id, from, to)
	if err != nil {
		return false, errs.Wrap(errs.Internal, err, "skip forwarded statement")
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ResealSecrets seals every target's secret with the box's current key
// (secrets stored before a key was set, or sealed with a previous one) and
// reports how many it changed. All or none change.
func (s *ForwardStore) ResealSecrets(ctx context.Context) (int, error) {
	if s.box == nil {
		return 0, secretbox.ErrNoKey
	}
	tx, err := s.d.SQL.BeginTx(ctx, nil)
	if err != nil {
		return 0, errs.Wrap(errs.Unavailable, err, "reseal forwarding secrets")
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT id, auth_secret FROM lrs_forward_targets`)
	if err != nil {
		return 0, errs.Wrap(errs.Internal, err, "reseal forwarding secrets")
	}
	resealed := map[string]string{}
	for rows.Next() {
		var id, stored string
		if err := rows.Scan(&id, &stored); err != nil {
			rows.Close()
			return 0, errs.Wrap(errs.Internal, err, "reseal forwarding secrets")
		}
		if s.box.Current([]byte(stored)) {
			continue
		}
		plain, err := s.box.Open([]byte(stored), secretPlace(id))
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("forwarding target %s's secret: %w", id, err)
		}
		resealed[id] = string(s.box.Seal(plain, secretPlace(id)))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, errs.Wrap(errs.Internal, err, "reseal forwarding secrets")
	}
	for id, v := range resealed {
		if _, err := tx.ExecContext(ctx, `UPDATE lrs_forward_targets SET auth_secret = $2 WHERE id = $1`, id, v); err != nil {
			return 0, errs.Wrap(errs.Internal, err, "reseal forwarding secrets")
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, errs.Wrap(errs.Internal, err, "reseal forwarding secrets")
	}
	return len(resealed), nil
}
