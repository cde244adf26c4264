// Package app assembles a Reach process from its configuration: it opens
// the backends (embedded defaults where no URL is set), builds the domain
// services and wires them into the HTTP server. cmd/reach and the test
// harness both start Reach through it, so tests run the real wiring.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/content/launch"
	"github.com/reach-london/reach/content/scorm"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/auth/authsql"
	"github.com/reach-london/reach/internal/blob"
	"github.com/reach-london/reach/internal/blob/fsblob"
	"github.com/reach-london/reach/internal/blob/s3blob"
	"github.com/reach-london/reach/internal/config"
	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/kv"
	"github.com/reach-london/reach/internal/kv/dbfallback"
	"github.com/reach-london/reach/internal/kv/memkv"
	"github.com/reach-london/reach/internal/kv/rediskv"
	"github.com/reach-london/reach/internal/learners"
	"github.com/reach-london/reach/internal/ratelimit"
	"github.com/reach-london/reach/internal/secretbox"
	"github.com/reach-london/reach/lrs"
	"github.com/reach-london/reach/lrs/sqlstore"
	"github.com/reach-london/reach/reports"
	"github.com/reach-london/reach/server"
)

// App holds the opened backends and domain services of one process.
type App struct {
	Config config.Config
	Log    *slog.Logger
	DB     *db.DB
	Blobs  blob.Store
	KV     kv.Store
	Auth   *auth.Service
	// Secrets seals forwarding credentials and signing keys at rest; nil
	// when PostgreSQL runs without REACH_SECRETS_KEY (secrets.go).
	Secrets *secretbox.Box

	// Background workers (projectors, sweepers) run under workCtx until
	// Close cancels it and waits for them.
	workCtx  context.Context
	stopWork context.CancelFunc
	workers  sync.WaitGroup

	// The rooms' services, one per process so their caches are shared by
	// every request; each is built on first use (content.go, launch.go,
	// scorm.go, domain.go, reports.go).
	contentOnce, launchOnce, scormOnce sync.Once
	learnersOnce                       sync.Once
	learners                           *learners.Service
	content                            *content.Service
	launch                             *launch.Service
	scorm                              *scorm.Service

	// The LRS: one statement store, so every path that stores statements
	// (xAPI, cmi5, SCORM) goes through one group-commit writer (on SQLite
	// one writer connection, ADR 4) and one definition cache, and the
	// reports projector reads through it too (domain.go).
	lrsOnce        sync.Once
	statementStore *sqlstore.Store
	statements     *lrs.Service
	documents      *lrs.DocumentService
	reportsOnce    sync.Once
	reports        *reports.Service

	// The forwarding worker, if one runs (domain.go).
	fwdMu     sync.Mutex
	forwarder *forwarder
}

// MigrationSets lists every component's migrations, in dependency order.
func MigrationSets() []db.MigrationSet {
	return append([]db.MigrationSet{authsql.Migrations, dbfallback.Migrations}, domainMigrations()...)
}

// Open connects to every configured backend, applies migrations and loads
// signing keys. Errors name the setting at fault.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	a := &App{Config: cfg, Log: log}
	a.workCtx, a.stopWork = context.WithCancel(context.Background())
	var err error
	a.DB, err = db.Open(ctx, cfg.EffectiveDatabaseURL(), db.Options{})
	if err != nil {
		return nil, fmt.Errorf("database (REACH_DATABASE_URL): %w", err)
	}
	if n, err := a.DB.Migrate(ctx, MigrationSets()...); err != nil {
		a.Close()
		return nil, fmt.Errorf("migrate database: %w", err)
	} else if n > 0 {
		log.Info("database migrated", "migrations_applied", n, "dialect", string(a.DB.Dialect))
	}
	if cfg.S3Endpoint != "" {
		a.Blobs, err = s3blob.New(ctx, s3blob.Config{Endpoint: cfg.S3Endpoint, AccessKey: cfg.S3AccessKey,
			SecretKey: cfg.S3SecretKey, Bucket: cfg.S3Bucket, Region: cfg.S3Region, UseTLS: cfg.S3UseTLS})
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("object storage (REACH_S3_ENDPOINT): %w", err)
		}
	} else {
		a.Blobs, err = fsblob.New(cfg.BlobDir())
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("blob directory (REACH_DATA_DIR): %w", err)
		}
	}
	if cfg.RedisURL != "" {
		a.KV, err = rediskv.New(ctx, cfg.RedisURL, cfg.RedisPrefix)
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("redis (REACH_REDIS_URL): %w", err)
		}
	} else {
		a.KV = memkv.New()
	}
	a.Secrets, err = openSecrets(cfg, log)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.Auth = auth.NewService(authsql.New(a.DB, a.Secrets), a.KV, auth.Options{Issuer: cfg.PublicURL, SessionTTL: cfg.SessionTTL, Logger: log})
	if err := a.Auth.LoadKeys(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// Go runs fn as a background worker until Close.
func (a *App) Go(name string, fn func(ctx context.Context)) {
	a.workers.Add(1)
	go func() {
		defer a.workers.Done()
		fn(a.workCtx)
		a.Log.Debug("worker stopped", "worker", name)
	}()
}

// Close stops the background workers, then releases every backend.
func (a *App) Close() error {
	a.StopForwarding()
	a.stopWork()
	a.workers.Wait()
	var err error
	if a.KV != nil {
		err = errors.Join(err, a.KV.Close())
	}
	if c, ok := a.Blobs.(io.Closer); ok {
		err = errors.Join(err, c.Close())
	}
	if a.DB != nil {
		err = errors.Join(err, a.DB.Close())
	}
	return err
}

// Borough finds a borough by slug with a message saying how to create it.
func (a *App) Borough(ctx context.Context, slug string) (auth.Borough, error) {
	b, err := a.Auth.BoroughBySlug(ctx, slug)
	if err != nil {
		return auth.Borough{}, fmt.Errorf("borough %q not found (create it with 'reach borough create %s')", slug, slug)
	}
	return b, nil
}

// FirstRun sets up an empty installation: the default borough, the first
// platform admin, and the published base course. It returns the admin's
// one-time password when it created the admin.
func (a *App) FirstRun(ctx context.Context) (string, error) {
	password, err := a.Auth.Bootstrap(ctx, a.Config.DefaultBorough, a.Config.AdminEmail)
	if err != nil {
		return "", fmt.Errorf("first-run setup: %w", err)
	}
	if err := a.onFirstRun(ctx); err != nil {
		return "", err
	}
	return password, nil
}

// Server wires the domain rooms into the HTTP server.
func (a *App) Server(ctx context.Context) (*server.Server, error) {
	deps := server.Deps{
		Config:  a.Config,
		Logger:  a.Log,
		Auth:    a.Auth,
		Limiter: ratelimit.New(a.KV),
		// Failed sign-ins per account and address: 5 free, then a wait
		// of 1 s doubling to at most 15 minutes; forgotten after a day
		// or at the next success.
		LoginBackoff: ratelimit.NewBackoff(a.KV, ratelimit.BackoffOptions{Free: 5, Base: time.Second, Max: 15 * time.Minute, Memory: 24 * time.Hour}),
		// Driver errors that mean the database is down answer 503.
		BackendDown: db.IsUnavailable,
		Ready: []server.ReadyCheck{
			{Name: "database", Ping: a.DB.Ping},
			{Name: "blobs", Ping: a.Blobs.Ping},
			// Without Redis Reach falls back to the database and local
			// counting, so a cache outage alone keeps replicas ready.
			{Name: "cache", Ping: a.KV.Ping, Optional: true},
		},
	}
	if err := a.mountDomain(ctx, &deps); err != nil {
		return nil, err
	}
	a.Go("credential-revocations", func(ctx context.Context) { a.Auth.FollowRevocations(ctx, 2*time.Second) })
	a.Go("key-changes", func(ctx context.Context) { a.Auth.FollowKeyChanges(ctx, 2*time.Second) })
	return server.New(deps), nil
}
