// Package authsql stores auth's boroughs, users, credentials, keys,
// sessions and audit log in SQLite or PostgreSQL.
package authsql

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/secretbox"
)

//go:embed migrations
var migrations embed.FS

// Migrations creates auth's tables (component "core").
var Migrations = db.Migrations("core", migrations, "migrations")

// Store implements auth.Store.
type Store struct {
	db *db.DB
	// box seals signing keys at rest; nil stores them as they are.
	box *secretbox.Box
}

// New returns a Store over d that seals signing keys with box (nil: not
// sealed).
func New(d *db.DB, box *secretbox.Box) *Store { return &Store{db: d, box: box} }

var _ auth.Store = (*Store)(nil)

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return errs.E(errs.NotFound, "%s not found", what)
	}
	return err
}

func conflict(err error, what string) error {
	if db.IsUniqueViolation(err) {
		return errs.E(errs.Conflict, "%s already exists", what)
	}
	return err
}

func nullTime(t *time.Time) sql.NullTime {
	if t == nil {
		return sql.NullTime{}
	}
	return sql.NullTime{Time: *t, Valid: true}
}

func timePtr(n sql.NullTime) *time.Time {
	if !n.Valid {
		return nil
	}
	t := n.Time.UTC()
	return &t
}

// CreateBorough implements auth.Store.
func (s *Store) CreateBorough(ctx context.Context, b auth.Borough) error {
	_, err := s.db.SQL.ExecContext(ctx, `INSERT INTO boroughs (id, slug, name, created_at) VALUES ($1, $2, $3, $4)`,
		b.ID, b.Slug, b.Name, b.CreatedAt)
	return conflict(err, "borough "+b.Slug)
}

func (s *Store) borough(ctx context.Context, where string, arg any) (auth.Borough, error) {
	var b auth.Borough
	err := s.db.SQL.QueryRowContext(ctx, `SELECT id, slug, name, created_at FROM boroughs WHERE `+where+` = $1`, arg).
		Scan(&b.ID, &b.Slug, &b.Name, &b.CreatedAt)
	b.CreatedAt = b.CreatedAt.UTC()
	return b, notFound(err, "borough")
}

// BoroughBySlug implements auth.Store.
func (s *Store) BoroughBySlug(ctx context.Context, slug string) (auth.Borough, error) {
	return s.borough(ctx, "slug", slug)
}

// BoroughByID implements auth.Store.
func (s *Store) BoroughByID(ctx context.Context, id string) (auth.Borough, error) {
	return s.borough(ctx, "id", id)
}

// ListBoroughs implements auth.Store.
func (s *Store) ListBoroughs(ctx context.Context) ([]auth.Borough, error) {
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT id, slug, name, created_at FROM boroughs ORDER BY slug`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auth.Borough
	for rows.Next() {
		var b auth.Borough
		if err := rows.Scan(&b.ID, &b.Slug, &b.Name, &b.CreatedAt); err != nil {
			return nil, err
		}
		b.CreatedAt = b.CreatedAt.UTC()
		out = append(out, b)
	}
	return out, rows.Err()
}

const userCols = `id, borough_id, email, name, role, profession, status, password_hash, must_change, created_at`

func scanUser(row interface{ Scan(...any) error }) (auth.User, error) {
	var u auth.User
	err := row.Scan(&u.ID, &u.BoroughID, &u.Email, &u.Name, &u.Role, &u.Profession, &u.Status, &u.PasswordHash, &u.MustChange, &u.CreatedAt)
	u.CreatedAt = u.CreatedAt.UTC()
	return u, err
}

// CreateUser implements auth.Store.
func (s *Store) CreateUser(ctx context.Context, u auth.User) error {
	_, err := s.db.SQL.ExecContext(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
		u.ID, u.BoroughID, u.Email, u.Name, u.Role, u.Profession, u.Status, u.PasswordHash, u.MustChange, u.CreatedAt)
	return conflict(err, "an account for "+u.Email)
}

// UpdateUser implements auth.Store.
func (s *Store) UpdateUser(ctx context.Context, u auth.User) error {
	res, err := s.db.SQL.ExecContext(ctx, `UPDATE users SET email=$2, name=$3, role=$4, profession=$5, status=$6, password_hash=$7, must_change=$8 WHERE id=$1`,
		u.ID, u.Email, u.Name, u.Role, u.Profession, u.Status, u.PasswordHash, u.MustChange)
	if err != nil {
		return conflict(err, "an account for "+u.Email)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "user not found")
	}
	return nil
}

// UserByEmail implements auth.Store.
func (s *Store) UserByEmail(ctx context.Context, boroughID, email string) (auth.User, error) {
	u, err := scanUser(s.db.SQL.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE borough_id = $1 AND email = $2`, boroughID, email))
	return u, notFound(err, "user")
}

// UserByID implements auth.Store.
func (s *Store) UserByID(ctx context.Context, id string) (auth.User, error) {
	u, err := scanUser(s.db.SQL.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	return u, notFound(err, "user")
}

// CountUsers implements auth.Store.
func (s *Store) CountUsers(ctx context.Context, role auth.Role) (int, error) {
	var n int
	err := s.db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role = $1`, role).Scan(&n)
	return n, err
}

func joinScopes(sc []auth.Scope) string {
	s := make([]string, len(sc))
	for i, x := range sc {
		s[i] = string(x)
	}
	return strings.Join(s, " ")
}

func splitScopes(s string) []auth.Scope {
	var out []auth.Scope
	for _, f := range strings.Fields(s) {
		out = append(out, auth.Scope(f))
	}
	return out
}

const credCols = `id, borough_id, name, key, secret_hash, scopes, created_at, revoked_at`

func scanCredential(row interface{ Scan(...any) error }) (auth.Credential, error) {
	var c auth.Credential
	var scopes string
	var revoked sql.NullTime
	err := row.Scan(&c.ID, &c.BoroughID, &c.Name, &c.Key, &c.SecretHash, &scopes, &c.CreatedAt, &revoked)
	c.Scopes, c.RevokedAt, c.CreatedAt = splitScopes(scopes), timePtr(revoked), c.CreatedAt.UTC()
	return c, err
}

// CreateCredential implements auth.Store.
func (s *Store) CreateCredential(ctx context.Context, c auth.Credential) error {
	_, err := s.db.SQL.ExecContext(ctx, `INSERT INTO credentials (`+credCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
		c.ID, c.BoroughID, c.Name, c.Key, c.SecretHash, joinScopes(c.Scopes), c.CreatedAt, nullTime(c.RevokedAt))
	return conflict(err, "credential")
}

// CredentialByKey implements auth.Store.
func (s *Store) CredentialByKey(ctx context.Context, key string) (auth.Credential, error) {
	c, err := scanCredential(s.db.SQL.QueryRowContext(ctx, `SELECT `+credCols+` FROM credentials WHERE key = $1`, key))
	return c, notFound(err, "credential")
}

// CredentialKeys implements auth.Store.
func (s *Store) CredentialKeys(ctx context.Context) ([]string, error) {
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT key FROM credentials`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// ListCredentials implements auth.Store.
func (s *Store) ListCredentials(ctx context.Context, boroughID string) ([]auth.Credential, error) {
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT `+credCols+` FROM credentials WHERE borough_id = $1 ORDER BY created_at, id`, boroughID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auth.Credential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RevokeCredential implements auth.Store.
func (s *Store) RevokeCredential(ctx context.Context, boroughID, id string, at time.Time) error {
	res, err := s.db.SQL.ExecContext(ctx, `UPDATE credentials SET revoked_at = $3 WHERE borough_id = $1 AND id = $2 AND revoked_at IS NULL`, boroughID, id, at)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "no live credential %q in this borough", id)
	}
	return nil
}

// SigningKeys implements auth.Store.
func (s *Store) SigningKeys(ctx context.Context) ([]auth.SigningKey, error) {
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT kid, private_key, created_at, retired_at FROM signing_keys ORDER BY created_at`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auth.SigningKey
	for rows.Next() {
		var k auth.SigningKey
		var priv []byte
		var retired sql.NullTime
		if err := rows.Scan(&k.KID, &priv, &k.CreatedAt, &retired); err != nil {
			return nil, err
		}
		priv, err := s.box.Open(priv, signingKeyPlace(k.KID))
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", k.KID, err)
		}
		k.Private, k.RetiredAt = priv, timePtr(retired)
		out = append(out, k)
	}
	return out, rows.Err()
}

// AddSigningKey implements auth.Store.
func (s *Store) AddSigningKey(ctx context.Context, k auth.SigningKey) error {
	_, err := s.db.SQL.ExecContext(ctx, `INSERT INTO signing_keys (kid, private_key, created_at) VALUES ($1, $2, $3)`,
		k.KID, s.box.Seal([]byte(k.Private), signingKeyPlace(k.KID)), k.CreatedAt)
	return err
}

// signingKeyPlace binds a sealed signing key to its row.
func signingKeyPlace(kid string) string { return "signing_keys.private_key/" + kid }

// ResealSigningKeys seals every signing key with the box's current key
// (keys stored before a key was set, or sealed with a previous one) and
// reports how many it changed. All or none change.
func (s *Store) ResealSigningKeys(ctx context.Context) (int, error) {
	if s.box == nil {
		return 0, secretbox.ErrNoKey
	}
	tx, err := s.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT kid, private_key FROM signing_keys`)
	if err != nil {
		return 0, err
	}
	resealed := map[string][]byte{}
	for rows.Next() {
		var kid string
		var stored []byte
		if err := rows.Scan(&kid, &stored); err != nil {
			rows.Close()
			return 0, err
		}
		if s.box.Current(stored) {
			continue
		}
		plain, err := s.box.Open(stored, signingKeyPlace(kid))
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("signing key %s: %w", kid, err)
		}
		resealed[kid] = s.box.Seal(plain, signingKeyPlace(kid))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for kid, v := range resealed {
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET private_key = $2 WHERE kid = $1`, kid, v); err != nil {
			return 0, err
		}
	}
	return len(resealed), tx.Commit()
}

// RetireSigningKeys implements auth.Store.
func (s *Store) RetireSigningKeys(ctx context.Context, exceptKID string, at time.Time) error {
	_, err := s.db.SQL.ExecContext(ctx, `UPDATE signing_keys SET retired_at = $2 WHERE kid <> $1 AND retired_at IS NULL`, exceptKID, at)
	return err
}

// CreateSession implements auth.Store.
func (s *Store) CreateSession(ctx context.Context, x auth.Session) error {
	_, err := s.db.SQL.ExecContext(ctx, `INSERT INTO sessions (id, user_id, borough_id, created_at, expires_at) VALUES ($1,$2,$3,$4,$5)`,
		x.ID, x.UserID, x.BoroughID, x.CreatedAt, x.ExpiresAt)
	return err
}

// SessionByID implements auth.Store.
func (s *Store) SessionByID(ctx context.Context, id string) (auth.Session, error) {
	var x auth.Session
	var revoked sql.NullTime
	err := s.db.SQL.QueryRowContext(ctx, `SELECT id, user_id, borough_id, created_at, expires_at, revoked_at FROM sessions WHERE id = $1`, id).
		Scan(&x.ID, &x.UserID, &x.BoroughID, &x.CreatedAt, &x.ExpiresAt, &revoked)
	x.RevokedAt = timePtr(revoked)
	return x, notFound(err, "session")
}

// RevokeSession implements auth.Store.
func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.SQL.ExecContext(ctx, `UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, id, at)
	return err
}

// RevokeUserSessions implements auth.Store.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, except string, at time.Time) ([]string, error) {
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND id <> $2`, userID, except)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	_, err = s.db.SQL.ExecContext(ctx, `UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL AND id <> $3`, userID, at, except)
	return ids, err
}

// AppendAudit implements auth.Store.
func (s *Store) AppendAudit(ctx context.Context, e auth.AuditEntry) error {
	var details sql.NullString
	if len(e.Details) > 0 {
		details = sql.NullString{String: string(e.Details), Valid: true}
	}
	_, err := s.db.SQL.ExecContext(ctx, `INSERT INTO audit_log (borough_id, actor, action, target, details, at) VALUES ($1,$2,$3,$4,$5,$6)`,
		e.BoroughID, e.Actor, e.Action, e.Target, details, e.At)
	return err
}

// ListAudit implements auth.Store: newest first; an empty borough id lists
// every borough's entries. It is the first page of ListAuditBefore.
func (s *Store) ListAudit(ctx context.Context, boroughID string, limit int) ([]auth.AuditEntry, error) {
	return s.ListAuditBefore(ctx, boroughID, 0, limit)
}
