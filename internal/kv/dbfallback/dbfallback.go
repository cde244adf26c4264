// Package dbfallback keeps one-time values working while Redis is down: a
// kv.Store that uses its primary store (Redis) and, when that is
// unreachable, writes to and reads from a table in the database, which
// every replica shares. Take stays atomic across replicas in both places
// (Redis GETDEL, SQL DELETE … RETURNING).
//
// It is meant for the few keys a request cannot do without, such as cmi5
// fetch codes; caches and rate limits have their own cheaper fallbacks and
// should use the primary store directly.
package dbfallback

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/kv"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations creates the fallback table.
var Migrations = db.Migrations("kvfallback", migrationsFS, "migrations")

// Store is a kv.Store over a primary store with a database fallback for
// Set, SetNX, Get, Take and Delete. Incr, Publish, Subscribe, Ping and
// Close go to the primary only.
type Store struct {
	kv.Store
	db  *db.DB
	log *slog.Logger
	now func() time.Time

	closed atomic.Bool
}

// New wraps primary. log may be nil.
func New(primary kv.Store, d *db.DB, log *slog.Logger) *Store {
	return &Store{Store: primary, db: d, log: log, now: time.Now}
}

func unavailable(err error) bool { return errors.Is(err, kv.ErrUnavailable) }

// errClosed is what calls after Close get, as from any kv.Store.
var errClosed = &errs.Error{Kind: errs.Unavailable, Message: "cache unavailable", Err: kv.ErrUnavailable}

// Close closes the primary store; later calls fail, with no fallback.
func (s *Store) Close() error {
	s.closed.Store(true)
	return s.Store.Close()
}

func (s *Store) warn(op string, err error) {
	if s.log != nil {
		s.log.Warn("kv store unavailable; using the database", "op", op, "err", err)
	}
}

// Set implements kv.Store. A value with no ttl is given a day in the
// database, which only holds short-lived values.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if s.closed.Load() {
		return errClosed
	}
	err := s.Store.Set(ctx, key, value, ttl)
	if !unavailable(err) {
		return err
	}
	s.warn("set", err)
	if ttl == 0 {
		ttl = 24 * time.Hour
	}
	now := s.now()
	// Expired rows go when the next value is written: writes only happen
	// during outages, so the table stays small.
	if _, err := s.db.SQL.ExecContext(ctx, `DELETE FROM kv_fallback WHERE expires_at < $1`, now.UnixMilli()); err != nil {
		return dbErr(err)
	}
	_, err = s.db.SQL.ExecContext(ctx, `INSERT INTO kv_fallback (key, value, expires_at) VALUES ($1, $2, $3)
ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`, key, value, now.Add(ttl).UnixMilli())
	return dbErr(err)
}

// SetNX implements kv.Store. During an outage the database decides who
// sets the key first (INSERT … ON CONFLICT DO NOTHING), so a short lock
// still excludes other replicas. A key set in the primary just before it
// went down is not seen there, nor a key set in the database once the
// primary is back: around the edges of an outage two holders are
// possible for at most the key's ttl.
func (s *Store) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if s.closed.Load() {
		return false, errClosed
	}
	ok, err := s.Store.SetNX(ctx, key, value, ttl)
	if !unavailable(err) {
		return ok, err
	}
	s.warn("setnx", err)
	if ttl == 0 {
		ttl = 24 * time.Hour
	}
	now := s.now()
	if _, err := s.db.SQL.ExecContext(ctx, `DELETE FROM kv_fallback WHERE key = $1 AND expires_at < $2`, key, now.UnixMilli()); err != nil {
		return false, dbErr(err)
	}
	res, err := s.db.SQL.ExecContext(ctx, `INSERT INTO kv_fallback (key, value, expires_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING`,
		key, value, now.Add(ttl).UnixMilli())
	if err != nil {
		return false, dbErr(err)
	}
	n, err := res.RowsAffected()
	return n == 1, dbErr(err)
}

// Get implements kv.Store: a key the primary lacks (or cannot answer for)
// is looked for in the database.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if s.closed.Load() {
		return nil, errClosed
	}
	v, perr := s.Store.Get(ctx, key)
	if perr == nil || (!errors.Is(perr, kv.ErrNotFound) && !unavailable(perr)) {
		return v, perr
	}
	err := s.db.SQL.QueryRowContext(ctx, `SELECT value FROM kv_fallback WHERE key = $1 AND expires_at >= $2`, key, s.now().UnixMilli()).Scan(&v)
	return s.fromDB(v, err, perr)
}

// Take implements kv.Store: exactly one caller gets the value, whether it
// was stored in the primary or, during an outage, in the database.
func (s *Store) Take(ctx context.Context, key string) ([]byte, error) {
	if s.closed.Load() {
		return nil, errClosed
	}
	v, perr := s.Store.Take(ctx, key)
	if perr == nil || (!errors.Is(perr, kv.ErrNotFound) && !unavailable(perr)) {
		return v, perr
	}
	err := s.db.SQL.QueryRowContext(ctx, `DELETE FROM kv_fallback WHERE key = $1 AND expires_at >= $2 RETURNING value`, key, s.now().UnixMilli()).Scan(&v)
	return s.fromDB(v, err, perr)
}

// fromDB answers a database lookup: not found there means not found,
// unless the primary could not be asked either (then it may hold the key).
func (s *Store) fromDB(v []byte, err, perr error) ([]byte, error) {
	switch {
	case err == nil:
		return v, nil
	case errors.Is(err, sql.ErrNoRows) && unavailable(perr):
		return nil, perr
	case errors.Is(err, sql.ErrNoRows):
		return nil, kv.ErrNotFound
	}
	return nil, dbErr(err)
}

// Delete implements kv.Store on both stores.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if s.closed.Load() {
		return errClosed
	}
	perr := s.Store.Delete(ctx, keys...)
	for _, k := range keys {
		if _, err := s.db.SQL.ExecContext(ctx, `DELETE FROM kv_fallback WHERE key = $1`, k); err != nil {
			return dbErr(err)
		}
	}
	if unavailable(perr) {
		return nil
	}
	return perr
}

func dbErr(err error) error {
	if err == nil {
		return nil
	}
	return errs.Wrap(errs.Unavailable, err, "the token store is unavailable; try again")
}
