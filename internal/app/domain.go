package app

import (
	"context"

	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/server"
)

// domainMigrations lists the migrations of the LRS and content rooms.
func domainMigrations() []db.MigrationSet {
	return nil
}

// onFirstRun runs the rooms' first-run steps (publishing the base course).
func (a *App) onFirstRun(ctx context.Context) error { return nil }

// mountDomain adds the LRS and content routes to the server's dependencies.
func (a *App) mountDomain(ctx context.Context, deps *server.Deps) error { return nil }
