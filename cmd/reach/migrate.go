package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/reach-london/reach/internal/app"
	"github.com/reach-london/reach/internal/db"
)

func init() {
	register(command{name: "migrate", summary: "apply database migrations and exit", run: runMigrate})
}

func runMigrate(ctx context.Context, env *cliEnv, args []string) error {
	fs, cfg, err := newFlags(env, "migrate", "migrate [flags]")
	if err != nil {
		return err
	}
	if err := parseFlags(env, fs, cfg, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	d, err := db.Open(ctx, cfg.EffectiveDatabaseURL(), db.Options{MaxConns: 2})
	if err != nil {
		return fmt.Errorf("database (REACH_DATABASE_URL): %w", err)
	}
	defer d.Close()
	n, err := d.Migrate(ctx, app.MigrationSets()...)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "applied %d migration(s) to the %s database\n", n, d.Dialect)
	return nil
}
