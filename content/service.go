package content

import (
	"embed"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/blob"
	"github.com/reach-london/reach/internal/db"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations creates the content tables (component "content"). They
// reference auth's boroughs, so they run after auth's migrations.
var Migrations = db.Migrations("content", migrationsFS, "migrations")

// Options configures a Service.
type Options struct {
	Limits Limits
	// ContentURL is the content origin's external URL (REACH_CONTENT_URL);
	// FileURL builds launch URLs on it.
	ContentURL string
	Logger     *slog.Logger
	// CacheBytes bounds the in-memory cache of small files the content
	// origin serves (default 64 MiB; negative disables it).
	CacheBytes int64
	// ImportWorkers is how many files an import hashes and uploads at
	// once (default 4).
	ImportWorkers int
}

// Service is the content domain over the database, the blob store and
// auth (for tokens and the audit log). It is safe for concurrent use.
type Service struct {
	db     *db.DB
	blobs  blob.Store
	auth   *auth.Service
	opts   Options
	log    *slog.Logger
	now    func() time.Time
	files  *byteCache // small blobs by sha256
	maps   sync.Map   // package id → *fileMap (packages are immutable)
	tokens sync.Map   // content token → tokenGrant, until it expires
	tokenN atomic.Int64
	mapN   atomic.Int64
	// baseMu serialises base-course builds, which are CPU-heavy and
	// would otherwise race to create the same version.
	baseMu sync.Mutex
}

// NewService returns a Service.
func NewService(d *db.DB, blobs blob.Store, a *auth.Service, opts Options) *Service {
	opts.Limits = opts.Limits.withDefaults()
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.CacheBytes == 0 {
		opts.CacheBytes = 64 << 20
	}
	if opts.ImportWorkers <= 0 {
		opts.ImportWorkers = 4
	}
	opts.ContentURL = strings.TrimRight(opts.ContentURL, "/")
	return &Service{db: d, blobs: blobs, auth: a, opts: opts, log: opts.Logger, now: time.Now,
		files: newByteCache(opts.CacheBytes)}
}

// Limits returns the import limits in force.
func (s *Service) Limits() Limits { return s.opts.Limits }
