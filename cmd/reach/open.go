package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/reach-london/reach/internal/app"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/config"
	"github.com/reach-london/reach/internal/db"
)

// openApp opens the installation for a command other than serve and
// migrate. Only those two create a database: run from the wrong directory,
// another command would otherwise make a new empty ./data/reach.db and work
// on it silently. So it says which database it opened (one line on
// stderr) and refuses one that Reach has never set up.
func openApp(ctx context.Context, env *cliEnv, cfg *config.Config, logLevel string) (*app.App, error) {
	where, err := checkDatabase(ctx, cfg)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(env.stderr, "reach: using the database %s\n", where)
	return app.Open(ctx, *cfg, newLogger(env, logLevel))
}

// openInBorough opens the installation for a command that acts in the
// one borough its required --borough flag names, and looks that borough
// up; the caller closes the app.
func openInBorough(ctx context.Context, env *cliEnv, cfg *config.Config, slug string) (*app.App, auth.Borough, error) {
	if slug == "" {
		return nil, auth.Borough{}, usageError{"--borough is required"}
	}
	a, err := openApp(ctx, env, cfg, "warn")
	if err != nil {
		return nil, auth.Borough{}, err
	}
	b, err := a.Borough(ctx, slug)
	if err != nil {
		a.Close()
		return nil, auth.Borough{}, err
	}
	return a, b, nil
}

// checkDatabase returns where the configured database is, or an error when
// it does not exist or has no Reach tables yet.
func checkDatabase(ctx context.Context, cfg *config.Config) (string, error) {
	raw := cfg.EffectiveDatabaseURL()
	if strings.HasPrefix(raw, "postgres://") || strings.HasPrefix(raw, "postgresql://") {
		where := raw
		if u, err := url.Parse(raw); err == nil {
			where = u.Redacted()
		}
		d, err := db.Open(ctx, raw, db.Options{MaxConns: 1})
		if err != nil {
			return "", fmt.Errorf("database (REACH_DATABASE_URL): %w", err)
		}
		defer d.Close()
		var n int
		err = d.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'schema_migrations' AND table_schema = current_schema()`).Scan(&n)
		if err != nil {
			return "", fmt.Errorf("database (REACH_DATABASE_URL): %w", err)
		}
		if n == 0 {
			return "", noDatabase("the PostgreSQL database " + where + " has no Reach tables")
		}
		return where, nil
	}
	path := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite://"), "sqlite:")
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		return "", noDatabase("there is no Reach database at " + path)
	}
	return path, nil
}

func noDatabase(what string) error {
	return fmt.Errorf("%s. Only 'reach serve' and 'reach migrate' create one: run one of them first, "+
		"or set REACH_DATA_DIR (--data-dir) or REACH_DATABASE_URL (--database-url) to the server's database", what)
}
