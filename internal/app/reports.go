package app

import (
	"context"
	"time"

	"github.com/reach-london/reach/lrs/forward"
	"github.com/reach-london/reach/lrs/sqlstore"
	"github.com/reach-london/reach/reports"
	"github.com/reach-london/reach/reports/reportsql"
	"github.com/reach-london/reach/server"
)

// ReportsInterval is how often the reports projector catches up with new
// statements.
const ReportsInterval = 2 * time.Second

// Reports returns the process's reports service: one projector, which the
// background worker runs and learner erasure catches up.
func (a *App) Reports() *reports.Service {
	a.reportsOnce.Do(func() {
		a.buildLRS()
		a.reports = reports.NewService(reportsql.New(a.DB), a.statementStore,
			forward.NewHorizon(sqlstore.NewForwardStore(a.DB, a.Secrets), 0), a.Config.PublicURL, a.Log)
	})
	return a.reports
}

// mountReports gives the server the reports and keeps their facts up to
// date in the background. Every replica runs the projector; the fact
// tables' cursor makes sure each statement is folded in once.
func (a *App) mountReports(deps *server.Deps) {
	svc := a.Reports()
	deps.Reports = svc
	a.Go("reports", func(ctx context.Context) { svc.Run(ctx, ReportsInterval, nil) })
}
