package clustertest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/testenv"
)

// reachBin is the binary built once for the whole test run.
var reachBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "reach-clustertest-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// REACH_CLUSTERTEST_BIN reuses a binary built elsewhere (handy while
	// the working tree does not build); normally the tests build their own.
	if reachBin = os.Getenv("REACH_CLUSTERTEST_BIN"); reachBin != "" {
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	reachBin, err = Build(ctx, dir)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// workDir returns a temporary directory that, unlike t.TempDir, other
// users may enter (the private PostgreSQL runs as user postgres).
func workDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "reach-clustertest-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// sharedBackends returns a fresh database, Redis prefix and bucket on the
// machine's shared servers (the ones scripts/test.sh provides).
func sharedBackends(t testing.TB) Backends {
	t.Helper()
	redisURL, prefix := testenv.Redis(t)
	s3 := testenv.MinIO(t)
	return Backends{DatabaseURL: testenv.PostgresURL(t), RedisURL: redisURL, RedisPrefix: prefix,
		S3Endpoint: s3.Endpoint, S3AccessKey: s3.AccessKey, S3SecretKey: s3.SecretKey, S3Bucket: s3.Bucket}
}

// private is a set of private backends the test may stop and start.
type private struct {
	Redis, MinIO, Postgres *Service
	Backends               Backends
}

// privateBackends starts the requested private services; the others come
// from the shared servers. A missing tool skips locally and fails in CI.
func privateBackends(t testing.TB, redis, minio, postgres bool) *private {
	t.Helper()
	ctx := context.Background()
	dir := workDir(t)
	p := &private{}
	be := Backends{RedisPrefix: "reach:"}
	if redis {
		s, err := StartRedis(ctx, dir)
		if err != nil {
			testenv.Unavailable(t, "private Redis: %v", err)
		}
		t.Cleanup(func() { _ = s.Stop() })
		p.Redis, be.RedisURL = s, "redis://"+s.Addr+"/0"
	} else {
		be.RedisURL, be.RedisPrefix = testenv.Redis(t)
	}
	if minio {
		s, err := StartMinIO(ctx, dir)
		if err != nil {
			testenv.Unavailable(t, "private MinIO: %v", err)
		}
		t.Cleanup(func() { _ = s.Stop() })
		p.MinIO = s
		be.S3Endpoint, be.S3AccessKey, be.S3SecretKey, be.S3Bucket = s.Addr, MinIOAccessKey, MinIOSecretKey, "reach"
	} else {
		s3 := testenv.MinIO(t)
		be.S3Endpoint, be.S3AccessKey, be.S3SecretKey, be.S3Bucket = s3.Endpoint, s3.AccessKey, s3.SecretKey, s3.Bucket
	}
	if postgres {
		s, url, err := StartPostgres(ctx, dir)
		if err != nil {
			testenv.Unavailable(t, "private PostgreSQL: %v", err)
		}
		t.Cleanup(func() { _ = s.Stop() })
		p.Postgres, be.DatabaseURL = s, url
	} else {
		be.DatabaseURL = testenv.PostgresURL(t)
	}
	p.Backends = be
	return p
}

// startCluster starts n replicas over be until the test ends; a failing
// test prints the end of each replica's log.
func startCluster(t testing.TB, be Backends, n int, env ...string) *Cluster {
	t.Helper()
	dir := workDir(t)
	c, err := StartCluster(context.Background(), reachBin, dir, be, Options{Replicas: n, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, r := range c.Replicas {
				t.Logf("replica %s log:\n%s", r.Name, r.LogTail(8))
			}
		}
		c.Stop()
	})
	return c
}

// admin signs the platform admin in on replica r.
func admin(t testing.TB, c *Cluster, r *Replica) *client.Client {
	t.Helper()
	ac := client.New(r.URL)
	if _, err := ac.Login(context.Background(), "", c.AdminEmail, c.AdminPassword); err != nil {
		t.Fatalf("admin login on %s: %v", r.Name, err)
	}
	return ac
}

// eventually polls cond until it holds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not after %v (%s)", what, timeout, last)
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
