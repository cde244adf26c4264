package db

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// MigrationSet is one component's migrations: an fs.FS holding a folder per
// dialect ("sqlite/", "postgres/") of files named NNNN_description.sql.
// Components migrate independently, so each owns its tables and numbering.
type MigrationSet struct {
	Component string
	FS        fs.FS
}

// Migrations returns component's migration set from the folder dir of
// fsys, an embedded tree with the dialect folders below dir. Every room
// declares its set with it. It panics only on a malformed dir, a mistake
// in the code that fails at start-up.
func Migrations(component string, fsys fs.FS, dir string) MigrationSet {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return MigrationSet{Component: component, FS: sub}
}

type migration struct {
	version int
	name    string
	sql     string
}

// Migrate applies every migration of each set not yet recorded in
// schema_migrations, each in its own transaction, and returns how many ran.
func (d *DB) Migrate(ctx context.Context, sets ...MigrationSet) (int, error) {
	if _, err := d.SQL.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		component TEXT NOT NULL,
		version INTEGER NOT NULL,
		name TEXT NOT NULL,
		applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
		PRIMARY KEY (component, version))`); err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	if d.Dialect == Postgres {
		// Replicas starting together must not migrate at the same time.
		conn, err := d.SQL.Conn(ctx)
		if err != nil {
			return 0, err
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(727274)`); err != nil {
			return 0, fmt.Errorf("take migration lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(727274)`)
	}
	total := 0
	for _, set := range sets {
		n, err := d.migrateSet(ctx, set)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (d *DB) migrateSet(ctx context.Context, set MigrationSet) (int, error) {
	migs, err := readMigrations(set.FS, string(d.Dialect))
	if err != nil {
		return 0, fmt.Errorf("%s migrations: %w", set.Component, err)
	}
	applied := map[int]bool{}
	rows, err := d.SQL.QueryContext(ctx, `SELECT version FROM schema_migrations WHERE component = $1`, set.Component)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return 0, err
		}
		applied[v] = true
	}
	rows.Close()
	n := 0
	for _, m := range migs {
		if applied[m.version] {
			continue
		}
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (component, version, name) VALUES ($1, $2, $3)`,
				set.Component, m.version, m.name)
			return err
		})
		if err != nil {
			return n, fmt.Errorf("%s migration %04d_%s: %w", set.Component, m.version, m.name, err)
		}
		n++
	}
	return n, nil
}

func readMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var migs []migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		base := strings.TrimSuffix(e.Name(), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %q is not named NNNN_description.sql", e.Name())
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %q and %q share version %d", other, e.Name(), v)
		}
		seen[v] = e.Name()
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		migs = append(migs, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(migs, func(i, j int) bool { return migs[i].version < migs[j].version })
	return migs, nil
}
