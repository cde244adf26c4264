// Package clustertest runs Reach the way an operator does: the real
// `reach` binary, several `reach serve` processes on loopback ports over one
// PostgreSQL database, one Redis and one S3 bucket. Its tests show that the
// replicas behave as one and that Reach survives its backends failing; the
// load generator behind cmd/reach-load lives here too, so CI runs a short
// load test through the same code.
//
// Private backends (a redis-server, a MinIO and a PostgreSQL cluster in a
// temporary directory) exist so the failure tests can stop and restart them
// without touching the machine's shared servers.
package clustertest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/reach-london/reach/internal/secretbox"
)

// Build compiles cmd/reach into dir and returns the binary's path. It runs
// `go build` in the module, so it needs the Go toolchain and the source.
func Build(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "reach")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/reach-london/reach/cmd/reach")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/reach: %v\n%s", err, out)
	}
	return bin, nil
}

// Backends are the shared services every replica of a cluster uses.
type Backends struct {
	DatabaseURL string
	RedisURL    string
	RedisPrefix string
	S3Endpoint  string
	S3AccessKey string
	S3SecretKey string
	S3Bucket    string
	// SecretsKey seals stored secrets on every replica, as a deployment
	// shares one; StartCluster makes one when it is empty.
	SecretsKey string
}

// env returns the REACH_* variables for the backends.
func (b Backends) env() []string {
	return []string{
		"REACH_DATABASE_URL=" + b.DatabaseURL,
		"REACH_REDIS_URL=" + b.RedisURL,
		"REACH_REDIS_PREFIX=" + b.RedisPrefix,
		"REACH_S3_ENDPOINT=" + b.S3Endpoint,
		"REACH_S3_ACCESS_KEY=" + b.S3AccessKey,
		"REACH_S3_SECRET_KEY=" + b.S3SecretKey,
		"REACH_S3_BUCKET=" + b.S3Bucket,
		"REACH_SECRETS_KEY=" + b.SecretsKey,
	}
}

// Replica is one `reach serve` process.
type Replica struct {
	Name       string
	URL        string // its own app origin, http://127.0.0.1:port
	ContentURL string // its own content origin
	LogPath    string

	env  []string
	bin  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

// Cluster is a set of replicas over the same backends. Every replica is
// configured with the same public URLs, as behind a load balancer; tests
// address each replica directly by its own URL.
type Cluster struct {
	Bin           string
	Dir           string
	Backends      Backends
	PublicURL     string
	ContentURL    string
	Replicas      []*Replica
	AdminEmail    string
	AdminPassword string
}

// Options adjust a cluster.
type Options struct {
	Replicas int      // how many serve processes (default 2)
	Env      []string // extra REACH_* settings for every replica
	LogLevel string   // default "warn"
}

// StartCluster starts the replicas one after another (the first does the
// first-run setup and prints the admin's password) and waits until each
// answers /readyz.
func StartCluster(ctx context.Context, bin, dir string, be Backends, opts Options) (*Cluster, error) {
	if opts.Replicas <= 0 {
		opts.Replicas = 2
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "warn"
	}
	if be.SecretsKey == "" {
		be.SecretsKey = secretbox.EncodeKey(secretbox.NewKey())
	}
	c := &Cluster{Bin: bin, Dir: dir, Backends: be, AdminEmail: "admin@reach.test"}
	addrs := make([][2]string, opts.Replicas)
	for i := range addrs {
		a, err := FreeAddr()
		if err != nil {
			return nil, err
		}
		b, err := FreeAddr()
		if err != nil {
			return nil, err
		}
		addrs[i] = [2]string{a, b}
	}
	// Every replica believes it is reachable at the first one's address,
	// as replicas behind one load balancer share one public URL; the app
	// is named localhost and content 127.0.0.1, two sites as by default.
	c.PublicURL, c.ContentURL = "http://localhost:"+port(addrs[0][0]), "http://"+addrs[0][1]
	for i := range opts.Replicas {
		name := string(rune('a' + i))
		r := &Replica{Name: name, URL: "http://" + addrs[i][0], ContentURL: "http://" + addrs[i][1], bin: bin,
			LogPath: filepath.Join(dir, "replica-"+name+".log")}
		r.env = append(append(os.Environ(), be.env()...),
			"REACH_ADDR="+addrs[i][0], "REACH_CONTENT_ADDR="+addrs[i][1],
			"REACH_PUBLIC_URL="+c.PublicURL, "REACH_CONTENT_URL="+c.ContentURL,
			"REACH_DATA_DIR="+filepath.Join(dir, "data-"+name),
			"REACH_ADMIN_EMAIL="+c.AdminEmail, "REACH_LOG_LEVEL="+opts.LogLevel,
			"REACH_SHUTDOWN_TIMEOUT=5s",
			// The load generator stands in for the load balancer: it names
			// each simulated person's address in X-Forwarded-For, which
			// replicas believe only from a trusted proxy.
			"REACH_TRUSTED_PROXIES=127.0.0.1/32")
		r.env = append(r.env, opts.Env...)
		if err := r.Start(); err != nil {
			c.Stop()
			return nil, err
		}
		c.Replicas = append(c.Replicas, r)
		if err := r.WaitReady(ctx, 60*time.Second); err != nil {
			c.Stop()
			return nil, err
		}
		if i == 0 {
			pw, err := r.adminPassword()
			if err != nil {
				c.Stop()
				return nil, err
			}
			c.AdminPassword = pw
		}
	}
	return c, nil
}

// Stop ends every replica (SIGTERM, then SIGKILL after a few seconds).
func (c *Cluster) Stop() {
	var wg sync.WaitGroup
	for _, r := range c.Replicas {
		wg.Add(1)
		go func() { defer wg.Done(); r.Stop(10 * time.Second) }()
	}
	wg.Wait()
}

// PIDs returns the process ids of the running replicas.
func (c *Cluster) PIDs() []int {
	var out []int
	for _, r := range c.Replicas {
		if p := r.PID(); p > 0 {
			out = append(out, p)
		}
	}
	return out
}

// CLI runs a reach subcommand against the cluster's backends and returns
// its standard output.
func (c *Cluster) CLI(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, c.Bin, args...)
	cmd.Env = append(append(os.Environ(), c.Backends.env()...), "REACH_PUBLIC_URL="+c.PublicURL,
		"REACH_CONTENT_URL="+c.ContentURL, "REACH_DATA_DIR="+filepath.Join(c.Dir, "data-cli"), "REACH_LOG_LEVEL=warn")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("reach %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// Credential is an LRS key and secret.
type Credential struct {
	Key, Secret string
}

// Credential issues LRS credentials with the given scopes through
// `reach credentials create --json`.
func (c *Cluster) Credential(ctx context.Context, borough, scopes string) (Credential, error) {
	out, err := c.CLI(ctx, "credentials", "create", "--borough", borough, "--scope", scopes, "--name", "clustertest", "--json")
	if err != nil {
		return Credential{}, err
	}
	var v struct{ Key, Secret string }
	if err := json.Unmarshal(out, &v); err != nil || v.Key == "" {
		return Credential{}, fmt.Errorf("credentials create printed %q: %v", out, err)
	}
	return Credential{Key: v.Key, Secret: v.Secret}, nil
}

// Start starts the process (again, after Kill or Stop).
func (r *Replica) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return fmt.Errorf("replica %s is already running", r.Name)
	}
	f, err := os.OpenFile(r.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(r.bin, "serve")
	cmd.Env = r.env
	cmd.Stdout, cmd.Stderr = f, f
	// Own process group, so a signal to the test does not reach it first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start replica %s: %w", r.Name, err)
	}
	r.cmd, r.log, r.done = cmd, f, make(chan struct{})
	done := r.done
	go func() { _ = cmd.Wait(); f.Close(); close(done) }()
	return nil
}

// PID is the process id, or 0 when the replica is not running.
func (r *Replica) PID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil || r.cmd.Process == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

// Kill sends SIGKILL: no shutdown, no flushing, as when a node dies.
func (r *Replica) Kill() {
	r.signal(syscall.SIGKILL, 0)
}

// Stop sends SIGTERM and waits up to grace before SIGKILL.
func (r *Replica) Stop(grace time.Duration) {
	r.signal(syscall.SIGTERM, grace)
}

func (r *Replica) signal(sig syscall.Signal, grace time.Duration) {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	if grace > 0 {
		select {
		case <-done:
			return
		case <-time.After(grace):
			_ = cmd.Process.Kill()
		}
	}
	<-done
}

// WaitReady polls /readyz until it answers 200.
func (r *Replica) WaitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		r.mu.Lock()
		done := r.done
		r.mu.Unlock()
		if done != nil {
			select {
			case <-done:
				return fmt.Errorf("replica %s exited while starting:\n%s", r.Name, r.LogTail(40))
			default:
			}
		}
		res, err := http.Get(r.URL + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			last = res.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("replica %s not ready after %v (%s):\n%s", r.Name, timeout, last, r.LogTail(40))
}

// LogTail returns the last n lines of the replica's output.
func (r *Replica) LogTail(n int) string {
	b, err := os.ReadFile(r.LogPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var passwordRE = regexp.MustCompile(`(?m)^\s*password:\s+(\S+)\s*$`)

func (r *Replica) adminPassword() (string, error) {
	b, err := os.ReadFile(r.LogPath)
	if err != nil {
		return "", err
	}
	m := passwordRE.FindSubmatch(b)
	if m == nil {
		return "", errors.New("the first replica printed no admin password (was the database not empty?)")
	}
	return string(m[1]), nil
}

// FreeAddr reserves a loopback port and releases it for a server; the
// short window in which another process could take it is acceptable here.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("reserve a loopback port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Usage is a process's resource use read from /proc.
type Usage struct {
	PID    int
	RSS    int64         // resident set size, bytes
	CPU    time.Duration // user+system time so far
	Exists bool
}

// ReadUsage reads /proc/PID/stat and /proc/PID/status (Linux only).
func ReadUsage(pid int) Usage {
	u := Usage{PID: pid}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u
	}
	u.Exists = true
	// Fields after the command name (which may hold spaces) start after ')'.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		f := strings.Fields(s[i+1:])
		// utime and stime are fields 14 and 15 of stat, 12 and 13 here.
		if len(f) > 13 {
			ut, _ := strconv.ParseInt(f[11], 10, 64)
			st, _ := strconv.ParseInt(f[12], 10, 64)
			// USER_HZ is 100 on every Linux Reach supports.
			u.CPU = time.Duration(ut+st) * 10 * time.Millisecond
		}
	}
	if f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				u.RSS = kb * 1024
			}
		}
		f.Close()
	}
	return u
}

// port is the port of a host:port address.
func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
