package clustertest

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reach-london/reach/client"
)

const tincanXML = `<?xml version="1.0"?>
<tincan xmlns="http://projecttincan.com/tincan.xsd"><activities>
  <activity id="http://example.org/clustertest/%s" type="http://adlnet.gov/expapi/activities/course">
    <name lang="en">Outage test</name><launch lang="en">story.html</launch>
  </activity>
</activities></tincan>`

// packageZip builds a small tincan package with a random 1.5 MiB file, too
// big for the replicas' in-memory file cache, so serving it needs MinIO.
func packageZip(t *testing.T, name string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	big := make([]byte, 1536<<10)
	_, _ = rand.Read(big)
	for _, f := range []struct {
		name string
		body []byte
	}{{"tincan.xml", []byte(strings.Replace(tincanXML, "%s", name, 1))}, {"story.html", []byte("<p>" + name + "</p>")}, {"video.mp4", big}} {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(f.body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func get(t *testing.T, u string) (*http.Response, string, time.Duration) {
	t.Helper()
	start := time.Now()
	res, err := httpClient.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b), time.Since(start)
}

// TestMinIOOutage stops the private MinIO under two replicas: package
// files answer 503 with Retry-After at once, an upload fails cleanly and
// leaves no package behind, and when MinIO is back both replicas serve and
// store again without being restarted.
func TestMinIOOutage(t *testing.T) {
	// Private backends: runs beside the other outage tests.
	t.Parallel()
	ctx := context.Background()
	p := privateBackends(t, false, true, false)
	c := startCluster(t, p.Backends, 2)
	ac := admin(t, c, c.Replicas[0])
	pkg, err := ac.ImportPackage(ctx, borough, bytes.NewReader(packageZip(t, "before")))
	if err != nil {
		t.Fatal(err)
	}
	pv, err := ac.PreviewPackage(ctx, borough, pkg.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	videoURL := strings.TrimSuffix(pv.URL, "story.html") + "video.mp4"
	for _, r := range c.Replicas {
		if res, body, _ := get(t, Rebase(videoURL, r.ContentURL)); res.StatusCode != http.StatusOK || len(body) != 1536<<10 {
			t.Fatalf("before the outage, on %s: %d (%d bytes)", r.Name, res.StatusCode, len(body))
		}
	}
	before, err := ac.Packages(ctx, borough)
	if err != nil {
		t.Fatal(err)
	}

	if err := p.MinIO.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, r := range c.Replicas {
		res, body, took := get(t, Rebase(videoURL, r.ContentURL))
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
			t.Errorf("package file on %s during the outage: %d Retry-After %q %.200s", r.Name, res.StatusCode, res.Header.Get("Retry-After"), body)
		}
		if took > 5*time.Second {
			t.Errorf("the 503 on %s took %v; it must come quickly", r.Name, took)
		}
		t.Logf("%s: %d after %v", r.Name, res.StatusCode, took.Round(time.Millisecond))
		if res, _, _ := get(t, r.URL+"/readyz"); res.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("/readyz on %s during the outage: %d, want 503", r.Name, res.StatusCode)
		}
	}
	start := time.Now()
	_, err = ac.ImportPackage(ctx, borough, bytes.NewReader(packageZip(t, "during")))
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusServiceUnavailable {
		t.Errorf("upload during the outage: %v, want 503", err)
	}
	t.Logf("upload during the outage answered %v after %v", err, time.Since(start).Round(time.Millisecond))
	during, err := ac.Packages(ctx, borough)
	if err != nil {
		t.Fatalf("listing packages needs only the database: %v", err)
	}
	if len(during) != len(before) {
		t.Errorf("a failed upload left a package behind: %d packages, had %d", len(during), len(before))
	}

	if err := p.MinIO.Start(ctx); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	for _, r := range c.Replicas {
		eventually(t, 30*time.Second, "package file on "+r.Name+" after MinIO is back", func() (bool, string) {
			res, _, _ := get(t, Rebase(videoURL, r.ContentURL))
			return res.StatusCode == http.StatusOK, res.Status
		})
	}
	t.Logf("serving again %v after MinIO came back", time.Since(back).Round(time.Millisecond))
	again, err := ac.ImportPackage(ctx, borough, bytes.NewReader(packageZip(t, "after")))
	if err != nil {
		t.Fatalf("upload after the outage: %v", err)
	}
	pv2, err := ac.PreviewPackage(ctx, borough, again.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range c.Replicas {
		if res, _, _ := get(t, Rebase(strings.TrimSuffix(pv2.URL, "story.html")+"video.mp4", r.ContentURL)); res.StatusCode != http.StatusOK {
			t.Errorf("new package's file on %s: %d", r.Name, res.StatusCode)
		}
		if res, _, _ := get(t, r.URL+"/readyz"); res.StatusCode != http.StatusOK {
			t.Errorf("/readyz on %s after the outage: %d", r.Name, res.StatusCode)
		}
	}
}
