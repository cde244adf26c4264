// Package browsertest starts Debian's headless Chromium for tests that
// drive Reach's pages, and finds axe-core for accessibility audits. Where
// Chromium or axe-core is missing a test skips locally and fails under
// CI=true, so CI never passes by skipping a browser test.
package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package installs the browser.
// Tests never download a browser of their own.
const ChromiumPath = "/usr/bin/chromium"

// Require skips the test when path is missing, or fails it under CI=true.
func Require(t testing.TB, path, what string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", what, err)
		}
		t.Skipf("%s is not installed (%v)", what, err)
	}
}

// Start runs headless Chromium until the test ends (or timeout passes) and
// returns its first tab; more tabs come from chromedp.NewContext(tab).
// JavaScript exceptions thrown in any page fail the test when it ends.
// Options add to Chromium's command line (e.g. chromedp.Flag).
func Start(t testing.TB, timeout time.Duration, options ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	Require(t, ChromiumPath, "Chromium (apt install chromium)")
	// Without the background-networking flags Chromium keeps calling
	// Google's hosts, which this machine's closed network refuses.
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir())}, options...)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	var mu sync.Mutex
	var thrown []string
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		cancelAlloc()
		mu.Lock()
		defer mu.Unlock()
		for _, msg := range thrown {
			t.Errorf("JavaScript exception: %s", msg)
		}
	})
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	// Listen only after the first navigation: the tab's target exists then.
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			mu.Lock()
			thrown = append(thrown, msg)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("watch Chromium for exceptions: %v", err)
	}
	return ctx
}

// AxeSource returns axe-core's script from web/node_modules (npm ci in
// web/), found from the test's working directory upwards.
func AxeSource(t testing.TB) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
	p := filepath.Join(dir, "web", "node_modules", "axe-core", "axe.min.js")
	Require(t, p, "axe-core (npm ci in web/)")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
