package course

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os/exec"
	"path"
	"testing"
	"testing/fstest"
	"time"

	"github.com/chromedp/chromedp"
	"go.yaml.in/yaml/v3"

	"github.com/reach-london/reach/internal/browsertest"
)

// requireTool skips the test when a tool is missing locally, but fails it
// under CI=true, where every tool must be installed.
func requireTool(t *testing.T, path, what string) {
	t.Helper()
	browsertest.Require(t, path, what)
}

// newBrowser starts headless Chromium for the test and returns a tab's
// context. JavaScript exceptions in the page fail the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return browsertest.Start(t, 4*time.Minute)
}

// do runs browser steps, failing the test on error.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// eval evaluates JavaScript (awaiting promises) and returns its value.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %.80q: %v", js, err)
	}
	return v
}

// waitReady waits until the AU runtime has started. It polls with short
// evaluations rather than one long one, because a navigation still in
// progress replaces the page's JavaScript context under a waiting call.
func waitReady(t *testing.T, ctx context.Context) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ready, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.dataset.ready === "true"`))
		if err == nil && ready {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the AU did not start (last error: %v)", last)
}

// unzip reads a built package into memory.
func unzip(t *testing.T, pkg []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	return files
}

// buildPackage loads sources and builds them with opts.
func buildPackage(t *testing.T, fsys fs.FS, opts BuildOptions) (*Course, map[string][]byte) {
	t.Helper()
	c, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Build(&buf, c, opts); err != nil {
		t.Fatal(err)
	}
	return c, unzip(t, buf.Bytes())
}

// packageHandler serves a built package's files under /pkg/.
func packageHandler(files map[string][]byte) http.Handler {
	return http.StripPrefix("/pkg/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		ct := mime.TypeByExtension(path.Ext(r.URL.Path))
		if ct == "" {
			ct = "application/octet-stream"
		}
		w.Header().Set("Content-Type", ct)
		w.Write(data)
	}))
}

// subsetSources returns the sources with course.yaml listing only the
// given module folders, so one finished module can be tested while the
// others are still being written.
func subsetSources(t *testing.T, fsys fs.FS, dirs ...string) fs.FS {
	t.Helper()
	out := fstest.MapFS{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		out[p] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var cf courseFile
	if err := yaml.Unmarshal(out["course.yaml"].Data, &cf); err != nil {
		t.Fatal(err)
	}
	cf.Modules = dirs
	data, _ := yaml.Marshal(cf)
	out["course.yaml"] = &fstest.MapFile{Data: data}
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// moduleStarted reports whether the writers have put pages in a module
// folder of the real sources.
func moduleStarted(dir string) bool {
	entries, err := fs.ReadDir(Sources(), path.Join("modules", dir, "pages"))
	return err == nil && len(entries) > 0
}

// realModuleDirs lists the module folders named in the real course.yaml.
func realModuleDirs(t *testing.T) []string {
	t.Helper()
	var cf courseFile
	data, err := fs.ReadFile(Sources(), "course.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &cf); err != nil {
		t.Fatal(err)
	}
	return cf.Modules
}

func xmllintPath() string {
	p, err := exec.LookPath("xmllint")
	if err != nil {
		return "/usr/bin/xmllint"
	}
	return p
}
