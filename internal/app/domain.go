package app

import (
	"context"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/lrs"
	"github.com/reach-london/reach/lrs/sqlstore"
	"github.com/reach-london/reach/server"
	"github.com/reach-london/reach/server/xapi"
	"github.com/reach-london/reach/server/xapidocs"
)

// Version is the product version reported by the LRS's About resource.
var Version = "dev"

// domainMigrations lists the migrations of the LRS and content rooms.
func domainMigrations() []db.MigrationSet {
	return []db.MigrationSet{sqlstore.Migrations, sqlstore.DocumentMigrations}
}

// onFirstRun runs the rooms' first-run steps (publishing the base course).
func (a *App) onFirstRun(ctx context.Context) error { return nil }

// Statements returns the LRS statement service over this process's backends.
func (a *App) Statements() *lrs.Service {
	return lrs.NewService(sqlstore.New(a.DB), a.Blobs)
}

// Documents returns the LRS document service.
func (a *App) Documents() *lrs.DocumentService {
	return lrs.NewDocumentService(sqlstore.NewDocumentStore(a.DB))
}

// mountDomain adds the LRS and content routes to the server's dependencies.
func (a *App) mountDomain(ctx context.Context, deps *server.Deps) error {
	statements := a.Statements()
	documents := a.Documents()
	handler := xapi.New(xapi.Deps{Statements: statements, Auth: a.Auth, Logger: a.Log})
	about := lrs.NewAbout(Version)
	deps.MountXAPI = func(g *echo.Group) {
		handler.Register(g)
		xapidocs.Register(g, documents, about)
	}
	return nil
}
