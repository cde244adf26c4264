package clustertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Service is a private backend process that can be stopped and started
// again on the same port and data directory.
type Service struct {
	Name string
	Addr string // 127.0.0.1:port
	Dir  string

	argv  []string
	env   []string
	ready func(ctx context.Context) error
	// cred runs the process as another user (PostgreSQL refuses root).
	cred *syscall.Credential
	// stopSignal ends the process (SIGTERM when zero).
	stopSignal syscall.Signal

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts the process and waits until it answers.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		return nil
	}
	logf, err := os.OpenFile(filepath.Join(s.Dir, s.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	cmd := exec.Command(s.argv[0], s.argv[1:]...)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: s.cred}
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		logf.Close()
		return fmt.Errorf("start %s: %w", s.Name, err)
	}
	done := make(chan struct{})
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	return s.waitReady(ctx, done)
}

func (s *Service) waitReady(ctx context.Context, done chan struct{}) error {
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		if done != nil {
			select {
			case <-done:
				return fmt.Errorf("%s exited while starting:\n%s", s.Name, s.LogTail(30))
			default:
			}
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = s.ready(cctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready: %v\n%s", s.Name, last, s.LogTail(30))
}

// Stop stops the process and waits for it to exit.
func (s *Service) Stop() error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	sig := s.stopSignal
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	return nil
}

// LogTail returns the last n lines of the service's log.
func (s *Service) LogTail(n int) string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, s.Name+".log"))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func tcpReady(addr string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// StartRedis starts a private redis-server without persistence.
func StartRedis(ctx context.Context, dir string) (*Service, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found: %w", err)
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	s := &Service{Name: "redis", Addr: addr, Dir: dir,
		argv: []string{bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir}}
	s.ready = func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("PING\r\n")); err != nil {
			return err
		}
		buf := make([]byte, 16)
		n, err := c.Read(buf)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(string(buf[:n]), "+PONG") {
			return fmt.Errorf("redis answered %q", buf[:n])
		}
		return nil
	}
	return s, s.Start(ctx)
}

// MinIOBinary finds the MinIO server scripts/tools.sh builds.
func MinIOBinary() (string, error) {
	candidates := []string{os.Getenv("REACH_MINIO")}
	if d := os.Getenv("REACH_TOOLS_DIR"); d != "" {
		candidates = append(candidates, filepath.Join(d, "minio"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".cache", "reach-tools", "minio"))
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c, nil
		}
	}
	return "", fmt.Errorf("no MinIO binary (build it with: . scripts/tools.sh && ensure_minio)")
}

// MinIOAccess is the root user of a private MinIO.
const (
	MinIOAccessKey = "clustertest"
	MinIOSecretKey = "clustertest-secret-key"
)

// StartMinIO starts a private MinIO with its data in dir.
func StartMinIO(ctx context.Context, dir string) (*Service, error) {
	bin, err := MinIOBinary()
	if err != nil {
		return nil, err
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	console, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "minio-data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	s := &Service{Name: "minio", Addr: addr, Dir: dir,
		argv: []string{bin, "server", "--quiet", "--address", addr, "--console-address", console, data},
		env:  []string{"MINIO_ROOT_USER=" + MinIOAccessKey, "MINIO_ROOT_PASSWORD=" + MinIOSecretKey, "MINIO_BROWSER=off"}}
	s.ready = func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/minio/health/live", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("minio health: %s", res.Status)
		}
		return nil
	}
	return s, s.Start(ctx)
}

// StartPostgres creates a PostgreSQL cluster in dir (initdb) and starts
// it on a free loopback port with trust authentication for user postgres,
// returning the URL of its postgres database. PostgreSQL refuses to run as
// root, so as root it runs as the postgres system user.
func StartPostgres(ctx context.Context, dir string) (*Service, string, error) {
	bindir, err := postgresBinDir()
	if err != nil {
		return nil, "", err
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, "", err
	}
	_, port, _ := net.SplitHostPort(addr)
	data := filepath.Join(dir, "pgdata")
	sockets := filepath.Join(dir, "pgsock")
	for _, d := range []string{data, sockets} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, "", err
		}
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, "", fmt.Errorf("running as root needs the postgres system user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		for _, d := range []string{data, sockets, dir} {
			if err := os.Chown(d, uid, gid); err != nil {
				return nil, "", err
			}
		}
	}
	initdb := exec.CommandContext(ctx, filepath.Join(bindir, "initdb"), "-D", data, "-U", "postgres",
		"--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("initdb: %v\n%s", err, out)
	}
	s := &Service{Name: "postgres", Addr: addr, Dir: dir, cred: cred,
		// SIGINT is PostgreSQL's fast shutdown: it ends open sessions,
		// where SIGTERM would wait for the pools to disconnect.
		stopSignal: syscall.SIGINT,
		argv: []string{filepath.Join(bindir, "postgres"), "-D", data, "-p", port,
			"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + sockets, "-c", "fsync=off",
			"-c", "max_connections=200", "-c", "shared_buffers=32MB"}}
	s.ready = tcpReady(addr)
	if err := s.Start(ctx); err != nil {
		return nil, "", err
	}
	url := "postgres://postgres@" + addr + "/postgres?sslmode=disable"
	// The port accepts connections a moment before the server takes queries.
	if err := waitPostgres(ctx, url); err != nil {
		_ = s.Stop()
		return nil, "", err
	}
	return s, url, nil
}

func postgresBinDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			if _, err := os.Stat(filepath.Join(filepath.Dir(r), "initdb")); err == nil {
				return filepath.Dir(r), nil
			}
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return "", fmt.Errorf("PostgreSQL server binaries (initdb, postgres) not found")
	}
	return filepath.Dir(matches[len(matches)-1]), nil
}

// waitPostgres waits until the server at url runs queries.
func waitPostgres(ctx context.Context, url string) error {
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := pgx.Connect(cctx, url)
		if err == nil {
			_, err = c.Exec(cctx, "SELECT 1")
			c.Close(cctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("PostgreSQL did not take queries: %w", last)
}

// CreateDatabase makes a fresh database on the server at adminURL and
// returns its URL and a function that drops it.
func CreateDatabase(ctx context.Context, adminURL, prefix string) (string, func(), error) {
	c, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer c.Close(ctx)
	name := prefix + randomHex(6)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	u, err := neturl.Parse(adminURL)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, adminURL); err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	}
	return u.String(), drop, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Freeze stops the process with SIGSTOP: its port still accepts
// connections (the kernel completes them) but nothing answers, as with a
// hung server or a network that drops packets.
func (s *Service) Freeze() error { return s.signalProc(syscall.SIGSTOP) }

// Thaw lets a frozen process run again (SIGCONT).
func (s *Service) Thaw() error { return s.signalProc(syscall.SIGCONT) }

func (s *Service) signalProc(sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return fmt.Errorf("%s is not running", s.Name)
	}
	return s.cmd.Process.Signal(sig)
}
