package app

import (
	"context"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/content/dispatch"
	"github.com/reach-london/reach/content/launch"
	"github.com/reach-london/reach/content/scorm"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/lrs"
	"github.com/reach-london/reach/lrs/forward"
	"github.com/reach-london/reach/lrs/sqlstore"
	"github.com/reach-london/reach/reports/reportsql"
	"github.com/reach-london/reach/server"
	"github.com/reach-london/reach/server/xapi"
	"github.com/reach-london/reach/server/xapidocs"
)

// Version is the product version reported by the LRS's About resource.
var Version = "dev"

// domainMigrations lists the migrations of the LRS and content rooms.
func domainMigrations() []db.MigrationSet {
	return []db.MigrationSet{sqlstore.Migrations, sqlstore.DocumentMigrations, sqlstore.ForwardingMigrations, reportsql.Migrations, content.Migrations, scorm.Migrations, launch.Migrations, dispatch.Migrations}
}

// onFirstRun runs the rooms' first-run steps (publishing the base course).
func (a *App) onFirstRun(ctx context.Context) error { return a.contentFirstRun(ctx) }

// buildLRS makes the process's one statement store and the LRS services
// over it. The statement service's hook is the cmi5 statement rules, so
// they hold for every path that stores statements.
func (a *App) buildLRS() {
	a.lrsOnce.Do(func() {
		a.statementStore = sqlstore.New(a.DB)
		a.statements = lrs.NewService(a.statementStore, a.Blobs)
		a.statements.SetHook(cmi5Rules{a})
		a.documents = lrs.NewDocumentService(sqlstore.NewDocumentStore(a.DB))
	})
}

// cmi5Rules hands the LRS's hook calls to the launch room, which is built
// lazily and itself stores statements through Statements.
type cmi5Rules struct{ a *App }

func (r cmi5Rules) Before(ctx context.Context, p auth.Principal, stmts []*lrs.Statement) (func(), error) {
	if p.Kind != auth.KindLaunch {
		return nil, nil // no need to build the launch room
	}
	return r.a.Launch().StatementRules().Before(ctx, p, stmts)
}

func (r cmi5Rules) After(ctx context.Context, p auth.Principal, stmts []*lrs.Statement) {
	if p.Kind == auth.KindLaunch {
		r.a.Launch().StatementRules().After(ctx, p, stmts)
	}
}

// Statements returns the process's LRS statement service; every caller
// gets the same one, over the one statement store.
func (a *App) Statements() *lrs.Service {
	a.buildLRS()
	return a.statements
}

// Documents returns the process's LRS document service.
func (a *App) Documents() *lrs.DocumentService {
	a.buildLRS()
	return a.documents
}

// mountDomain adds the LRS and content routes to the server's dependencies.
func (a *App) mountDomain(ctx context.Context, deps *server.Deps) error {
	statements := a.Statements()
	documents := a.Documents()
	// Launch tokens reach the LRS Basic-encoded too (cmi5 auth-token).
	handler := xapi.New(xapi.Deps{DefaultVersion: lrs.Version(a.Config.XAPIVersion), Statements: statements, Auth: server.XAPIAuthenticator{Auth: a.Auth}, Logger: a.Log,
		MaxAttachmentBytes:  a.Config.MaxBodyBytes,
		MaxBatchBytes:       a.Config.XAPIMaxBatchBytes,
		MaxLearnerBodyBytes: a.Config.XAPIMaxLearnerBodyBytes,
		Limits:              lrs.Limits{MaxStatements: int(a.Config.XAPIMaxBatchStatements), MaxStatementBytes: a.Config.XAPIMaxStatementBytes},
	})
	about := lrs.NewAbout(Version)
	deps.MountXAPI = func(g *echo.Group) {
		handler.Register(g)
		xapidocs.Register(g, documents, about)
	}
	deps.MountApp = append(deps.MountApp, server.MountForwarding(a.Forwarding()), server.MountExport(statements))
	a.StartForwarding(ctx, forward.Options{})
	a.mountReports(deps)
	a.mountContent(deps)
	a.mountSCORM(deps)
	a.mountDispatch(deps)
	a.mountAdmin(deps)
	a.mountLaunch(deps)
	return nil
}

// Forwarding returns the statement-forwarding admin service.
func (a *App) Forwarding() *forward.Service {
	return forward.NewService(sqlstore.NewForwardStore(a.DB, a.Secrets), a.Auth, a.forwardSender())
}

// forwardSender sends to forwarding targets where the configuration
// allows (REACH_FORWARD_ALLOW_PRIVATE).
func (a *App) forwardSender() *forward.Sender {
	return forward.NewSender(forward.Guard{AllowPrivate: a.Config.ForwardAllowPrivate}, a.Log)
}

type forwarder struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// StartForwarding runs the statement-forwarding worker until ctx ends or
// StopForwarding is called; a worker already running is stopped first.
// The server starts one with default options; tests start their own with
// shorter waits.
func (a *App) StartForwarding(ctx context.Context, opts forward.Options) {
	a.StopForwarding()
	if opts.Logger == nil {
		opts.Logger = a.Log
	}
	if opts.Attachments == nil {
		opts.Attachments = forward.LRSAttachments(a.Statements())
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if opts.Wake == nil {
		// A hint only: if the subscription fails or ends, polling goes on.
		if ch, err := a.KV.Subscribe(wctx, forward.WakeChannel); err == nil {
			opts.Wake = ch
		}
	}
	go func() {
		select {
		case <-ctx.Done():
			cancel()
		case <-wctx.Done():
		}
	}()
	f := &forwarder{cancel: cancel, done: make(chan struct{})}
	a.fwdMu.Lock()
	a.forwarder = f
	a.fwdMu.Unlock()
	w := forward.NewWorker(sqlstore.NewForwardStore(a.DB, a.Secrets), a.forwardSender(), opts)
	go func() {
		defer close(f.done)
		defer cancel()
		w.Run(wctx)
	}()
}

// StopForwarding stops the forwarding worker, if one runs, and waits for
// it to give up its leases. Call it before Close.
func (a *App) StopForwarding() {
	a.fwdMu.Lock()
	f := a.forwarder
	a.forwarder = nil
	a.fwdMu.Unlock()
	if f == nil {
		return
	}
	f.cancel()
	<-f.done
}
