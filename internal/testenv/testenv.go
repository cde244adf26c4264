// Package testenv gives tests real backends: a fresh PostgreSQL database,
// a Redis key prefix, an S3 bucket on the MinIO server the test script
// starts. A backend that cannot be reached skips the test on a developer
// machine and fails it when CI=true, so CI never passes by skipping.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reach-london/reach/internal/db"
)

// Env var names the test script sets; defaults match the CI machine.
const (
	PostgresURLEnv = "REACH_TEST_POSTGRES_URL"
	RedisURLEnv    = "REACH_TEST_REDIS_URL"
	S3EndpointEnv  = "REACH_TEST_S3_ENDPOINT"
	S3AccessKeyEnv = "REACH_TEST_S3_ACCESS_KEY"
	S3SecretKeyEnv = "REACH_TEST_S3_SECRET_KEY"
)

// InCI reports whether missing backends must fail tests instead of skipping.
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable skips or (in CI) fails the test for a missing backend.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("backend required in CI: %s", msg)
	}
	t.Skipf("backend not available: %s", msg)
}

// RandomSuffix returns n random hex bytes, for unique names.
func RandomSuffix(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// SQLiteURL returns the URL of a new SQLite database in the test's temp dir.
func SQLiteURL(t testing.TB) string {
	t.Helper()
	return "sqlite:" + filepath.Join(t.TempDir(), "reach.db")
}

// PostgresURL creates an empty database for this test and returns its URL;
// the database is dropped when the test ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresURLEnv)
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		Unavailable(t, "PostgreSQL at %s: %v", redact(base), err)
	}
	name := "reach_t_" + RandomSuffix(6)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close(ctx)
		t.Fatalf("create test database: %v", err)
	}
	admin.Close(ctx)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, _ := url.Parse(base)
	u.Path = "/" + name
	return u.String()
}

// DatabaseURLs returns one fresh database per dialect, for contract tests.
func DatabaseURLs(t testing.TB) map[string]string {
	t.Helper()
	return map[string]string{"sqlite": SQLiteURL(t), "postgres": PostgresURL(t)}
}

// MigratedDBs opens a fresh database of each dialect ("sqlite",
// "postgres") with sets applied; each is closed when the test ends.
func MigratedDBs(t testing.TB, sets ...db.MigrationSet) map[string]*db.DB {
	t.Helper()
	out := map[string]*db.DB{}
	for name, url := range DatabaseURLs(t) {
		ctx := context.Background()
		d, err := db.Open(ctx, url, db.Options{})
		if err != nil {
			t.Fatalf("%s: open: %v", name, err)
		}
		t.Cleanup(func() { d.Close() })
		if _, err := d.Migrate(ctx, sets...); err != nil {
			t.Fatalf("%s: migrate: %v", name, err)
		}
		out[name] = d
	}
	return out
}

// Redis returns the Redis URL and a key prefix unique to this test.
func Redis(t testing.TB) (redisURL, prefix string) {
	t.Helper()
	redisURL = os.Getenv(RedisURLEnv)
	if redisURL == "" {
		redisURL = "redis://127.0.0.1:6379/0"
	}
	u, err := url.Parse(redisURL)
	if err != nil {
		t.Fatalf("%s: %v", RedisURLEnv, err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		Unavailable(t, "Redis at %s: %v", u.Host, err)
	}
	conn.Close()
	return redisURL, "reach-test-" + RandomSuffix(6) + ":"
}

// S3 describes the MinIO server and a bucket name unique to this test (the
// bucket is not created: the store under test must create it).
type S3 struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
	Bucket    string
}

// MinIO returns the S3 settings of the MinIO server started by the test
// script, with a fresh bucket name.
func MinIO(t testing.TB) S3 {
	t.Helper()
	s := S3{
		Endpoint:  os.Getenv(S3EndpointEnv),
		AccessKey: os.Getenv(S3AccessKeyEnv),
		SecretKey: os.Getenv(S3SecretKeyEnv),
		Bucket:    "reach-test-" + RandomSuffix(6),
	}
	if s.Endpoint == "" {
		Unavailable(t, "%s is not set (run the tests through scripts/test.sh, which starts MinIO)", S3EndpointEnv)
	}
	s.Endpoint = strings.TrimPrefix(strings.TrimPrefix(s.Endpoint, "http://"), "https://")
	conn, err := net.DialTimeout("tcp", s.Endpoint, 2*time.Second)
	if err != nil {
		Unavailable(t, "MinIO at %s: %v", s.Endpoint, err)
	}
	conn.Close()
	return s
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}
