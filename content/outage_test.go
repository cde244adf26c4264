package content_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/reachtest"
	"github.com/reach-london/reach/internal/testenv"
)

// TestObjectStoreDown checks that when MinIO stops answering, package
// files get a quick 503 with Retry-After, not a hang or a 500.
func TestObjectStoreDown(t *testing.T) {
	cfg := reachtest.Config(t, reachtest.Backend{Name: "production", Production: true})
	proxy := testenv.StartProxy(t, cfg.S3Endpoint)
	cfg.S3Endpoint = proxy.Addr()
	inst := reachtest.StartWith(t, cfg)
	ctx := context.Background()
	admin := client.New(inst.URL)
	if _, err := admin.Login(ctx, "", inst.AdminEmail, inst.AdminPassword); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 1<<20) // over the memory cache's per-file limit
	rand.Read(big)
	pkg, err := admin.ImportPackage(ctx, "london", bytes.NewReader(makeZip(t, append(files("tincan.xml", tincanXML, "story.html", "x"),
		zentry{name: "video.mp4", body: big})...)))
	if err != nil {
		t.Fatal(err)
	}
	pv, err := admin.PreviewPackage(ctx, "london", pkg.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	videoURL := strings.TrimSuffix(pv.URL, "story.html") + "video.mp4"
	if res, _ := fetch(t, "GET", videoURL); res.StatusCode != 200 {
		t.Fatalf("before the outage: %d", res.StatusCode)
	}
	proxy.Cut()
	start := time.Now()
	res, body := fetch(t, "GET", videoURL)
	took := time.Since(start)
	if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" || !strings.Contains(body, "unavailable") {
		t.Errorf("during the outage: %d Retry-After %q %s", res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	if took > 5*time.Second {
		t.Errorf("the 503 took %v; it must come quickly", took)
	}
	t.Logf("503 after %v", took)
}
