// Package db opens Reach's relational database, SQLite by default or
// PostgreSQL when a URL is configured, and applies each component's embedded,
// versioned migrations.
//
// Both dialects accept the same placeholder style ($1, $2, …), so most SQL is
// written once. Where the dialects differ, callers branch on DB.Dialect.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Dialect names the SQL flavour behind a DB.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open database. SQL serves both dialects; Pool is the native pgx
// pool on PostgreSQL (nil on SQLite) for bulk paths such as COPY.
type DB struct {
	SQL     *sql.DB
	Pool    *pgxpool.Pool
	Dialect Dialect
}

// Options tunes the connection pool.
type Options struct {
	// MaxConns caps open connections on PostgreSQL; 0 means a default.
	MaxConns int
}

// Open connects to url: "postgres://…" or "postgresql://…" for PostgreSQL,
// "sqlite:PATH" or a plain file path for SQLite. It pings before returning.
func Open(ctx context.Context, rawURL string, opts Options) (*DB, error) {
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		return openPostgres(ctx, rawURL, opts)
	case rawURL == "":
		return nil, errors.New("database URL is empty")
	default:
		path := strings.TrimPrefix(strings.TrimPrefix(rawURL, "sqlite://"), "sqlite:")
		if strings.Contains(rawURL, "://") && !strings.HasPrefix(rawURL, "sqlite://") {
			return nil, fmt.Errorf("database URL %q: scheme must be postgres://, postgresql:// or sqlite:PATH", redactURL(rawURL))
		}
		return openSQLite(ctx, path)
	}
}

func openPostgres(ctx context.Context, rawURL string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("database URL %q is not a valid PostgreSQL URL: %w", redactURL(rawURL), err)
	}
	// An explicit pool_max_conns in the URL wins; otherwise take the
	// option, or a default sized for the LRS's concurrent batches.
	if !strings.Contains(rawURL, "pool_max_conns") {
		if opts.MaxConns > 0 {
			cfg.MaxConns = int32(opts.MaxConns)
		} else {
			cfg.MaxConns = 16
		}
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL %q: %w", redactURL(rawURL), err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL %q: %w", redactURL(rawURL), err)
	}
	return &DB{SQL: stdlib.OpenDBFromPool(pool), Pool: pool, Dialect: Postgres}, nil
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("SQLite path is empty")
	}
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("create directory for SQLite database %q: %w", path, err)
		}
	}
	// WAL lets readers run beside the one writer; synchronous=FULL makes a
	// committed transaction durable before the commit returns; an immediate
	// transaction lock avoids read-to-write upgrade deadlocks under load.
	// The connection whose commit takes the WAL past wal_autocheckpoint
	// pages copies it into the database file before its commit returns; at
	// SQLite's default of 1,000 pages (4 MiB) the statement writer did that
	// every few groups under load, copying the same index pages each time.
	// At 10,000 (about 40 MiB of WAL) the checkpoints of an ingest run took
	// less than half the CPU time.
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "wal_autocheckpoint(10000)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	sqlDB, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open SQLite %q: %w", path, err)
	}
	sqlDB.SetMaxOpenConns(8)
	sqlDB.SetConnMaxIdleTime(0)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open SQLite %q: %w", path, err)
	}
	return &DB{SQL: sqlDB, Dialect: SQLite}, nil
}

// Close releases every connection.
func (d *DB) Close() error {
	err := d.SQL.Close()
	if d.Pool != nil {
		d.Pool.Close()
	}
	return err
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error { return d.SQL.PingContext(ctx) }

// Tx runs fn in a transaction, committing when fn returns nil and rolling
// back otherwise.
func (d *DB) Tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := d.SQL.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// IsUniqueViolation reports whether err is a unique-constraint failure in
// either dialect.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505")
}

// redactURL hides a password in a URL so it can appear in errors and logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// RedactURL is redactURL for other packages' messages.
func RedactURL(raw string) string { return redactURL(raw) }
