package db_test

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/testenv"
)

func set(files map[string]string) db.MigrationSet {
	fs := fstest.MapFS{}
	for name, body := range files {
		fs[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return db.MigrationSet{Component: "t", FS: fs}
}

func TestMigrateOnBothDialects(t *testing.T) {
	for name, url := range testenv.DatabaseURLs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			d, err := db.Open(ctx, url, db.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			good := set(map[string]string{
				"sqlite/0001_things.sql":   "CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);",
				"postgres/0001_things.sql": "CREATE TABLE things (id SERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE);",
				"sqlite/0002_more.sql":     "ALTER TABLE things ADD COLUMN size INTEGER;",
				"postgres/0002_more.sql":   "ALTER TABLE things ADD COLUMN size INTEGER;",
			})
			if n, err := d.Migrate(ctx, good); err != nil || n != 2 {
				t.Fatalf("first migrate: got %d %v, want 2 applied", n, err)
			}
			if n, err := d.Migrate(ctx, good); err != nil || n != 0 {
				t.Fatalf("second migrate: got %d %v, want 0 applied", n, err)
			}
			// A failing migration is rolled back whole and not recorded.
			bad := set(map[string]string{
				"sqlite/0003_bad.sql":   "CREATE TABLE half (id INTEGER); INSERT INTO nowhere VALUES (1);",
				"postgres/0003_bad.sql": "CREATE TABLE half (id INTEGER); INSERT INTO nowhere VALUES (1);",
			})
			bad.Component = "t"
			if _, err := d.Migrate(ctx, bad); err == nil || !strings.Contains(err.Error(), "0003_bad") {
				t.Fatalf("got %v, want an error naming 0003_bad", err)
			}
			var n int
			err = d.SQL.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE component = 't'").Scan(&n)
			if err != nil || n != 2 {
				t.Errorf("recorded migrations: got %d %v, want 2", n, err)
			}
			if _, err := d.SQL.ExecContext(ctx, "SELECT * FROM half"); err == nil {
				t.Error("the failed migration's table exists")
			}
			// Placeholders are written once for both dialects.
			if _, err := d.SQL.ExecContext(ctx, "INSERT INTO things (name, size) VALUES ($2, $1)", 7, "seven"); err != nil {
				t.Fatal(err)
			}
			var size int
			if err := d.SQL.QueryRowContext(ctx, "SELECT size FROM things WHERE name = $1", "seven").Scan(&size); err != nil || size != 7 {
				t.Errorf("got %d %v, want 7", size, err)
			}
			_, err = d.SQL.ExecContext(ctx, "INSERT INTO things (name) VALUES ($1)", "seven")
			if !db.IsUniqueViolation(err) {
				t.Errorf("duplicate insert: got %v, want a unique violation", err)
			}
		})
	}
}

func TestMigrationFileNames(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no number", map[string]string{"sqlite/things.sql": "SELECT 1"}, "NNNN_description.sql"},
		{"zero", map[string]string{"sqlite/0000_x.sql": "SELECT 1"}, "NNNN_description.sql"},
		{"duplicate version", map[string]string{"sqlite/0001_a.sql": "SELECT 1", "sqlite/1_b.sql": "SELECT 1"}, "share version 1"},
	}
	ctx := context.Background()
	d, err := db.Open(ctx, testenv.SQLiteURL(t), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := d.Migrate(ctx, set(tt.files)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestOpenRejectsBadURLs(t *testing.T) {
	ctx := context.Background()
	for _, url := range []string{"", "mysql://root@localhost/x", "postgres://nobody@127.0.0.1:1/x?connect_timeout=1"} {
		if d, err := db.Open(ctx, url, db.Options{}); err == nil {
			d.Close()
			t.Errorf("Open(%q) succeeded, want an error", url)
		}
	}
}

// TestMigrationsFromFolder checks db.Migrations, which every room declares
// its set with: the set reads the dialect folders below dir of an embedded
// tree, and a malformed dir fails at once rather than at migrate time.
func TestMigrationsFromFolder(t *testing.T) {
	tree := fstest.MapFS{
		"migrations/lrs/sqlite/0001_a.sql":   {Data: []byte("CREATE TABLE a (id INTEGER);")},
		"migrations/lrs/postgres/0001_a.sql": {Data: []byte("CREATE TABLE a (id INTEGER);")},
	}
	for name, url := range testenv.DatabaseURLs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			d, err := db.Open(ctx, url, db.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			set := db.Migrations("lrs_t", tree, "migrations/lrs")
			if set.Component != "lrs_t" {
				t.Errorf("component %q", set.Component)
			}
			if n, err := d.Migrate(ctx, set); err != nil || n != 1 {
				t.Fatalf("migrate: %d %v, want 1 applied", n, err)
			}
		})
	}
	defer func() {
		if recover() == nil {
			t.Error("db.Migrations accepted the malformed folder \"../up\"")
		}
	}()
	db.Migrations("bad", tree, "../up")
}
