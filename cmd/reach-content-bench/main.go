// Command reach-content-bench measures the content path on the production blob backend
// (MinIO): serving a 20 KB file to 32 concurrent clients, Range requests
// on a 500 MB file with the server's resident memory, and importing
// 100 MB and 500 MB packages with time and peak memory. It starts the
// server as a child process so the memory figures are the server's alone.
//
//	make bench-content           (starts MinIO, then runs this)
//	go run ./cmd/reach-content-bench  (with REACH_TEST_S3_* set to a running MinIO)
package main

import (
	"archive/zip"
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/app"
	"github.com/reach-london/reach/internal/config"
)

func main() {
	if os.Getenv("REACH_BENCH_CHILD") == "1" {
		if err := serve(); err != nil {
			fmt.Fprintln(os.Stderr, "bench server:", err)
			os.Exit(1)
		}
		return
	}
	dur := flag.Duration("duration", 10*time.Second, "how long each load phase runs")
	clients := flag.Int("clients", 32, "concurrent clients")
	bigMB := flag.Int("big-mb", 500, "size of the large file, in MB")
	importMB := flag.Int("import-mb", 100, "size of the imported package, in MB")
	flag.Parse()
	if err := run(*dur, *clients, *bigMB, *importMB); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// serve is the child: a Reach server from REACH_* variables, first run
// done, announcing the admin password on stdout, until stdin closes.
func serve() error {
	ctx := context.Background()
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	if err := cfg.Finish(); err != nil {
		return err
	}
	a, err := app.Open(ctx, cfg, slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	defer a.Close()
	pw, err := a.FirstRun(ctx)
	if err != nil {
		return err
	}
	srv, err := a.Server(ctx)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	fmt.Printf("READY %s\n", pw)
	io.Copy(io.Discard, os.Stdin)
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	pid   int
}

// memKB reads a field (VmRSS, VmHWM) of the child's /proc status, in KiB.
func (c *child) memKB(field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field+":") {
			n, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return n
		}
	}
	return -1
}

// resetPeak resets the child's peak RSS (VmHWM) to its current RSS.
func (c *child) resetPeak() {
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", c.pid), []byte("5"), 0)
}

func mb(kb int64) string { return fmt.Sprintf("%.0f MB", float64(kb)/1024) }

func run(dur time.Duration, clients, bigMB, importMB int) error {
	endpoint := os.Getenv("REACH_TEST_S3_ENDPOINT")
	if endpoint == "" {
		return fmt.Errorf("REACH_TEST_S3_ENDPOINT is not set; run 'make bench-content', which starts MinIO")
	}
	tmp, err := os.MkdirTemp("", "reach-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	appAddr, contentAddr := freeAddr(), freeAddr()
	env := append(os.Environ(), "REACH_BENCH_CHILD=1",
		"REACH_ADDR="+appAddr, "REACH_CONTENT_ADDR="+contentAddr,
		"REACH_PUBLIC_URL=http://localhost:"+appAddr[strings.LastIndex(appAddr, ":")+1:], "REACH_CONTENT_URL=http://"+contentAddr,
		"REACH_DATA_DIR="+filepath.Join(tmp, "data"), "REACH_LOG_LEVEL=warn",
		"REACH_ADMIN_EMAIL=bench@reach.test", "REACH_MAX_UPLOAD_BYTES=2GiB",
		"REACH_S3_ENDPOINT="+endpoint, "REACH_S3_ACCESS_KEY="+os.Getenv("REACH_TEST_S3_ACCESS_KEY"),
		"REACH_S3_SECRET_KEY="+os.Getenv("REACH_TEST_S3_SECRET_KEY"), "REACH_S3_BUCKET=reach-bench-"+strconv.Itoa(os.Getpid()))
	if u := os.Getenv("REACH_BENCH_DATABASE_URL"); u != "" {
		env = append(env, "REACH_DATABASE_URL="+u)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self)
	cmd.Env = env
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return err
	}
	ch := &child{cmd: cmd, stdin: stdin, pid: cmd.Process.Pid}
	defer func() { stdin.Close(); cmd.Wait() }()
	go func() { // stop the child on ^C too
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		cmd.Process.Kill()
		os.Exit(1)
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "READY ") {
		return fmt.Errorf("server did not start: %q %v", line, err)
	}
	password := strings.TrimSpace(strings.TrimPrefix(line, "READY "))
	ctx := context.Background()
	admin := client.New("http://" + appAddr)
	admin.HTTP.Timeout = 30 * time.Minute
	if _, err := admin.Login(ctx, "", "bench@reach.test", password); err != nil {
		return err
	}
	fmt.Printf("Reach content benchmark: MinIO at %s, %d CPUs, server pid %d (idle RSS %s)\n\n", endpoint, numCPU(), ch.pid, mb(ch.memKB("VmRSS")))

	// Packages.
	smallZip := filepath.Join(tmp, "small.zip")
	if err := writePackage(smallZip, map[string]int64{"index.html": 20 << 10}); err != nil {
		return err
	}
	importZip := filepath.Join(tmp, "import.zip")
	files := map[string]int64{"index.html": 20 << 10}
	for i := 0; i < importMB; i++ {
		files[fmt.Sprintf("media/clip-%03d.mp4", i)] = 1 << 20
	}
	if err := writePackage(importZip, files); err != nil {
		return err
	}
	bigZip := filepath.Join(tmp, "big.zip")
	if err := writePackage(bigZip, map[string]int64{"index.html": 1 << 10, "video.mp4": int64(bigMB) << 20}); err != nil {
		return err
	}

	small, err := importTimed(ctx, admin, ch, smallZip)
	if err != nil {
		return err
	}
	fmt.Println("Import (streamed upload over HTTP, hash, store in MinIO, one transaction):")
	for _, p := range []string{importZip, bigZip} {
		st, _ := os.Stat(p)
		pkg, err := importTimed(ctx, admin, ch, p)
		if err != nil {
			return err
		}
		fmt.Printf("  %4d MB package, %4d files: %6.1f s, server peak RSS %s\n", st.Size()>>20, pkg.files, pkg.took.Seconds(), mb(pkg.peakKB))
		if p == bigZip {
			small.bigID = pkg.id
		}
	}

	// Serving a 20 KB file.
	pv, err := admin.PreviewPackage(ctx, "london", small.id, "")
	if err != nil {
		return err
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients * 2, MaxConnsPerHost: clients * 2}}
	get := func(url string, hdr map[string]string) (int, int64, error) {
		req, _ := http.NewRequest("GET", url, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := hc.Do(req)
		if err != nil {
			return 0, 0, err
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, n, nil
	}
	for i := 0; i < 500; i++ { // warm the caches and the connections
		if code, _, err := get(pv.URL, nil); err != nil || code != 200 {
			return fmt.Errorf("warm-up: %d %v", code, err)
		}
	}
	ch.resetPeak()
	n, lat, errsN := load(clients, dur, func(int) error {
		code, size, err := get(pv.URL, nil)
		if err == nil && (code != 200 || size != 20<<10) {
			err = fmt.Errorf("status %d, %d bytes", code, size)
		}
		return err
	})
	fmt.Printf("\nServing a 20 KB file, %d clients, %v, warm cache:\n  %.0f requests/s, p50 %v, p99 %v, %d errors, server peak RSS %s\n",
		clients, dur, float64(n)/dur.Seconds(), lat(0.50), lat(0.99), errsN, mb(ch.memKB("VmHWM")))

	// Range requests on the large file.
	bpv, err := admin.PreviewPackage(ctx, "london", small.bigID, "")
	if err != nil {
		return err
	}
	bigURL := strings.TrimSuffix(bpv.URL, "index.html") + "video.mp4"
	size := int64(bigMB) << 20
	ch.resetPeak()
	var bytesRead atomic.Int64
	done := make(chan error, 1)
	go func() { // one client reads the whole file meanwhile
		start := time.Now()
		code, n, err := get(bigURL, nil)
		if err == nil && (code != 200 || n != size) {
			err = fmt.Errorf("full read: status %d, %d bytes", code, n)
		}
		if err == nil {
			fmt.Printf("  full %d MB download alongside: %.1f s (%.0f MB/s)\n", bigMB, time.Since(start).Seconds(), float64(n)/(1<<20)/time.Since(start).Seconds())
		}
		done <- err
	}()
	n, lat, errsN = load(clients, dur, func(int) error {
		off := mrand.Int64N(size - (1 << 20))
		code, got, err := get(bigURL, map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", off, off+(1<<20)-1)})
		if err == nil && (code != 206 || got != 1<<20) {
			err = fmt.Errorf("range: status %d, %d bytes", code, got)
		}
		bytesRead.Add(got)
		return err
	})
	if err := <-done; err != nil {
		return err
	}
	fmt.Printf("\nRange requests (1 MB at random offsets) on a %d MB file, %d clients, %v:\n  %.0f requests/s, %.0f MB/s, p50 %v, p99 %v, %d errors\n  server peak RSS %s (current %s)\n",
		bigMB, clients, dur, float64(n)/dur.Seconds(), float64(bytesRead.Load())/(1<<20)/dur.Seconds(), lat(0.50), lat(0.99), errsN,
		mb(ch.memKB("VmHWM")), mb(ch.memKB("VmRSS")))
	return nil
}

type imported struct {
	id, bigID string
	files     int
	took      time.Duration
	peakKB    int64
}

func importTimed(ctx context.Context, admin *client.Client, ch *child, path string) (imported, error) {
	f, err := os.Open(path)
	if err != nil {
		return imported{}, err
	}
	defer f.Close()
	ch.resetPeak()
	start := time.Now()
	pkg, err := admin.ImportPackage(ctx, "london", f)
	if err != nil {
		return imported{}, fmt.Errorf("import %s: %w", filepath.Base(path), err)
	}
	return imported{id: pkg.ID, files: pkg.FileCount, took: time.Since(start), peakKB: ch.memKB("VmHWM")}, nil
}

// load runs fn on clients goroutines for dur; it returns the number of
// successful calls, a latency quantile function and the error count.
func load(clients int, dur time.Duration, fn func(int) error) (int64, func(float64) time.Duration, int64) {
	var ok, failed atomic.Int64
	var mu sync.Mutex
	var lats []time.Duration
	var firstErr atomic.Value
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				t := time.Now()
				if err := fn(c); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				mine = append(mine, time.Since(t))
				ok.Add(1)
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		fmt.Fprintln(os.Stderr, "  first error:", e)
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	q := func(p float64) time.Duration {
		if len(lats) == 0 {
			return 0
		}
		return lats[int(p*float64(len(lats)-1))].Round(10 * time.Microsecond)
	}
	return ok.Load(), q, failed.Load()
}

// writePackage writes a tincan.xml package with files of random bytes
// (stored, not deflated: media does not compress).
func writePackage(path string, files map[string]int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	zw := zip.NewWriter(bw)
	w, _ := zw.Create("tincan.xml")
	io.WriteString(w, `<?xml version="1.0"?><tincan xmlns="http://projecttincan.com/tincan.xsd"><activities>
<activity id="https://example.org/bench/`+filepath.Base(path)+`" type="http://adlnet.gov/expapi/activities/course"><name>Bench</name><launch>index.html</launch></activity></activities></tincan>`)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	rng := mrand.NewChaCha8([32]byte{byte(len(path))})
	for _, n := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Store})
		if err != nil {
			return err
		}
		if _, err := io.CopyN(w, rng, files[n]); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}
