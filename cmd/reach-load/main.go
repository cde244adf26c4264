// Command reach-load is Reach's load test. It starts several `reach serve`
// processes over one PostgreSQL database, one Redis and one S3 bucket (or
// uses replicas you name with -targets), then runs simulated learners —
// sign up, launch a module, page through it with "experienced"
// statements, answer questions, complete, sign out and in again — beside
// LMS readers paging through GET /xapi/statements with filters and LMS
// writers posting statement batches. It stops after -duration or
// -max-requests and prints throughput, latency percentiles per kind of
// request, error counts, and the memory and CPU of the server processes.
//
// Everything runs on loopback: targets elsewhere are refused.
//
//	make load                                  # 60 s, 3 replicas
//	go run ./cmd/reach-load -duration 20s -learners 10
//	go run ./cmd/reach-load -targets http://127.0.0.1:8080 -key K -secret S
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/reach-london/reach/internal/clustertest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "reach-load:", err)
		os.Exit(1)
	}
}

type options struct {
	targets      string
	key, secret  string
	borough      string
	replicas     int
	duration     time.Duration
	maxRequests  int64
	learners     int
	readers      int
	writers      int
	databaseURL  string
	redisURL     string
	s3Endpoint   string
	s3AccessKey  string
	s3SecretKey  string
	reachBin     string
	keep         bool
	maxErrorRate float64
	think        time.Duration
	rampUp       time.Duration
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run() error {
	var o options
	flag.StringVar(&o.targets, "targets", "", "comma-separated app origins of running replicas (default: start -replicas of them)")
	flag.StringVar(&o.key, "key", "", "LRS key with scope all, for -targets")
	flag.StringVar(&o.secret, "secret", "", "LRS secret, for -targets")
	flag.StringVar(&o.borough, "borough", "london", "borough the learners sign up in")
	flag.IntVar(&o.replicas, "replicas", 3, "reach serve processes to start")
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "how long to run (at most 30m)")
	flag.Int64Var(&o.maxRequests, "max-requests", 500000, "stop after this many requests")
	flag.IntVar(&o.learners, "learners", 20, "simulated learners at once")
	flag.DurationVar(&o.think, "think", 200*time.Millisecond, "how long a learner reads before each statement")
	flag.DurationVar(&o.rampUp, "ramp-up", 10*time.Second, "spread the learners' arrival over this long")
	flag.IntVar(&o.readers, "readers", 4, "LMS readers at once")
	flag.IntVar(&o.writers, "writers", 2, "LMS writers at once")
	flag.StringVar(&o.databaseURL, "database-url", envOr("REACH_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"),
		"PostgreSQL server to create a throw-away database on")
	flag.StringVar(&o.redisURL, "redis-url", envOr("REACH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis to use (under a fresh key prefix)")
	flag.StringVar(&o.s3Endpoint, "s3-endpoint", os.Getenv("REACH_TEST_S3_ENDPOINT"), "MinIO host:port (default: start one from ~/.cache/reach-tools)")
	flag.StringVar(&o.s3AccessKey, "s3-access-key", os.Getenv("REACH_TEST_S3_ACCESS_KEY"), "S3 access key for -s3-endpoint")
	flag.StringVar(&o.s3SecretKey, "s3-secret-key", os.Getenv("REACH_TEST_S3_SECRET_KEY"), "S3 secret key for -s3-endpoint")
	flag.StringVar(&o.reachBin, "reach", "", "reach binary to run (default: go build ./cmd/reach)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory with the replicas' logs")
	flag.Float64Var(&o.maxErrorRate, "max-error-rate", 0, "exit 1 when errors/requests exceeds this")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(flag.Args(), " "))
	}
	if o.duration <= 0 || o.duration > 30*time.Minute {
		return errors.New("-duration must be between 0 and 30m")
	}
	if o.maxRequests <= 0 {
		return errors.New("-max-requests must be positive")
	}
	if o.learners < 0 || o.readers < 0 || o.writers < 0 || o.learners+o.readers+o.writers == 0 {
		return errors.New("-learners, -readers and -writers must not be negative, and one must be positive")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var targets []string
	var pids []int
	var cred clustertest.Credential
	if o.targets != "" {
		for _, t := range strings.Split(o.targets, ",") {
			t = strings.TrimRight(strings.TrimSpace(t), "/")
			if err := loopbackOnly(t); err != nil {
				return err
			}
			targets = append(targets, t)
		}
		if o.key == "" || o.secret == "" {
			return errors.New("-targets needs -key and -secret (reach credentials create --scope all --json)")
		}
		cred = clustertest.Credential{Key: o.key, Secret: o.secret}
	} else {
		dir, err := os.MkdirTemp("", "reach-load-")
		if err != nil {
			return err
		}
		if o.keep {
			fmt.Println("logs in", dir)
		} else {
			defer os.RemoveAll(dir)
		}
		c, cleanup, err := startCluster(ctx, dir, o)
		defer cleanup()
		if err != nil {
			return err
		}
		for _, r := range c.Replicas {
			targets = append(targets, r.URL)
		}
		pids = c.PIDs()
		if cred, err = c.Credential(ctx, o.borough, "all"); err != nil {
			return err
		}
	}

	fmt.Printf("load: %d learners (%v reading before each statement), %d LMS readers, %d LMS writers against %d replicas for %v (at most %d requests)\n",
		o.learners, o.think, o.readers, o.writers, len(targets), o.duration, o.maxRequests)
	before := map[int]clustertest.Usage{}
	for _, p := range pids {
		before[p] = clustertest.ReadUsage(p)
	}
	rep, err := clustertest.RunLoad(ctx, clustertest.LoadOptions{Targets: targets, Borough: o.borough, Learners: o.learners,
		Readers: o.readers, Writers: o.writers, Duration: o.duration, MaxRequests: o.maxRequests,
		ReaderCred: cred, WriterCred: cred, WriterPause: 50 * time.Millisecond, Think: o.think, RampUp: o.rampUp})
	if err != nil {
		return err
	}
	rep.Print(os.Stdout)
	clustertest.PrintUsage(os.Stdout, before, pids, rep.Elapsed)

	// Every statement a writer got 200 for must be readable.
	vctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	missing, dup, err := clustertest.VerifyStored(vctx, nil, targets[0], cred, rep.Acked)
	if err != nil {
		return fmt.Errorf("checking stored statements: %w", err)
	}
	fmt.Printf("check: %d acknowledged writer statements, %d missing, %d stored twice\n", len(rep.Acked), missing, dup)
	if missing > 0 || dup > 0 {
		return errors.New("acknowledged statements are missing or duplicated")
	}
	if rep.Requests > 0 && float64(rep.Errors)/float64(rep.Requests) > o.maxErrorRate {
		return fmt.Errorf("%d errors in %d requests", rep.Errors, rep.Requests)
	}
	return nil
}

// loopbackOnly refuses targets that are not on this machine: a load test
// is not to be pointed at someone else's server.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("target %q is not an http(s) URL", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("target %q is not on loopback; reach-load only runs against this machine", raw)
}

// startCluster makes a fresh database, Redis prefix and bucket (starting a
// private MinIO when none is given) and starts the replicas.
func startCluster(ctx context.Context, dir string, o options) (*clustertest.Cluster, func(), error) {
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	bin := o.reachBin
	if bin == "" {
		fmt.Println("building reach …")
		var err error
		if bin, err = clustertest.Build(ctx, dir); err != nil {
			return nil, cleanup, err
		}
	}
	dbURL, drop, err := clustertest.CreateDatabase(ctx, o.databaseURL, "reach_load_")
	if err != nil {
		return nil, cleanup, err
	}
	cleanups = append(cleanups, drop)
	be := clustertest.Backends{DatabaseURL: dbURL, RedisURL: o.redisURL,
		RedisPrefix: fmt.Sprintf("reach-load-%d:", time.Now().UnixNano()),
		S3Endpoint:  o.s3Endpoint, S3AccessKey: o.s3AccessKey, S3SecretKey: o.s3SecretKey,
		S3Bucket: fmt.Sprintf("reach-load-%d", time.Now().Unix())}
	if be.S3Endpoint == "" {
		m, err := clustertest.StartMinIO(ctx, filepath.Join(dir))
		if err != nil {
			return nil, cleanup, err
		}
		cleanups = append(cleanups, func() { _ = m.Stop() })
		be.S3Endpoint, be.S3AccessKey, be.S3SecretKey = m.Addr, clustertest.MinIOAccessKey, clustertest.MinIOSecretKey
	}
	fmt.Printf("starting %d replicas …\n", o.replicas)
	c, err := clustertest.StartCluster(ctx, bin, dir, be, clustertest.Options{Replicas: o.replicas})
	if err != nil {
		return nil, cleanup, err
	}
	cleanups = append(cleanups, c.Stop)
	return c, cleanup, nil
}
