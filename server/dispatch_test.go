package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reach-london/reach/internal/reachtest"
)

// TestDispatchCMI5Export exports the published course for another LMS,
// checks cmi5.xml against the schema, opens an AU from the content origin
// with the dispatch token, and sees revocation close it.
func TestDispatchCMI5Export(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		ctx := context.Background()
		admin := adminClient(t, r)
		const slug = "london"

		if _, err := admin.CreateDispatch(ctx, slug, " ", 0); err == nil {
			t.Fatal("a dispatch without a name was created")
		} else {
			wantStatus(t, err, http.StatusBadRequest)
		}
		if _, err := admin.ExportCMI5(ctx, slug, "dsp_nope"); err == nil {
			t.Fatal("export of an unknown dispatch succeeded")
		} else {
			wantStatus(t, err, http.StatusNotFound)
		}
		d, err := admin.CreateDispatch(ctx, slug, "Trust Moodle", 10)
		if err != nil {
			t.Fatal(err)
		}
		zipped, err := admin.ExportCMI5(ctx, slug, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
		if err != nil {
			t.Fatal(err)
		}
		if len(zr.File) != 1 || zr.File[0].Name != "cmi5.xml" {
			t.Fatalf("zip holds %d files, first %q", len(zr.File), zr.File[0].Name)
		}
		f, _ := zr.File[0].Open()
		doc, _ := io.ReadAll(f)
		f.Close()
		path := filepath.Join(t.TempDir(), "cmi5.xml")
		if err := os.WriteFile(path, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		if xmllint, err := exec.LookPath("xmllint"); err == nil {
			if out, err := exec.Command(xmllint, "--noout", "--schema", "/work/shared/schemas/cmi5/CourseStructure.xsd", path).CombinedOutput(); err != nil {
				t.Fatalf("cmi5.xml does not validate: %v\n%s\n%s", err, out, doc)
			}
		} else if os.Getenv("CI") == "true" {
			t.Fatal("xmllint is missing")
		}
		var cs struct {
			AUs []struct {
				URL string `xml:"url"`
			} `xml:"au"`
		}
		if err := xml.Unmarshal(doc, &cs); err != nil {
			t.Fatal(err)
		}
		if len(cs.AUs) != 4 {
			t.Fatalf("%d AUs, want the 4 modules\n%s", len(cs.AUs), doc)
		}
		au := cs.AUs[0].URL
		if !strings.HasPrefix(au, r.ContentURL+"/d/"+d.Token+"/") {
			t.Fatalf("AU URL %q is not on the content origin with the dispatch token", au)
		}
		// Another LMS appends its launch parameters to the URL.
		launch := au + "&endpoint=https%3A%2F%2Flms.example%2Fxapi&fetch=x&actor=%7B%7D&registration=r&activityId=a"
		if !strings.Contains(au, "?") {
			launch = strings.Replace(launch, "&", "?", 1)
		}
		if res, body := get(t, launch); res.StatusCode != http.StatusOK || !strings.Contains(strings.ToLower(body), "<html") {
			t.Fatalf("AU from the content origin: %d %.200s", res.StatusCode, body)
		}
		if res, _ := get(t, strings.Replace(au, d.Token, "forged", 1)); res.StatusCode != http.StatusForbidden {
			t.Fatalf("forged token: %d", res.StatusCode)
		}
		if _, err := admin.RevokeDispatch(ctx, slug, d.ID); err != nil {
			t.Fatal(err)
		}
		if res, _ := get(t, launch); res.StatusCode != http.StatusForbidden {
			t.Fatalf("AU after revocation: %d, want 403", res.StatusCode)
		}
		if _, err := admin.ExportCMI5(ctx, slug, d.ID); err == nil {
			t.Fatal("a revoked dispatch exported")
		} else {
			wantStatus(t, err, http.StatusConflict)
		}
		list, err := admin.Dispatches(ctx, slug)
		if err != nil || len(list) != 1 || list[0].RevokedAt == nil {
			t.Fatalf("dispatches = %+v, %v", list, err)
		}
	})
}
