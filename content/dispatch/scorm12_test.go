package dispatch

import (
	"archive/zip"
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/content/manifest"
)

// TestSCORM12ZipParses checks the package is SCORM 1.2 to Reach's own
// parser (one SCO per module, mastery score kept) and that each SCO page
// plays its module from the content origin and checks message origins.
func TestSCORM12ZipParses(t *testing.T) {
	score := 0.8
	d := Dispatch{ID: "dsp_1", Token: "tok"}
	mods := []Module{
		{ModuleBinding: content.ModuleBinding{Module: "1-landscape", Title: "The landscape"}, AU: content.AU{MasteryScore: &score}},
		{ModuleBinding: content.ModuleBinding{Module: "2-risk"}, AU: content.AU{Title: "Risk </script>"}},
	}
	z, err := SCORM12Zip("Reach course", d, mods, "https://content.example:8081/", time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range zr.File {
		r, _ := f.Open()
		b, _ := io.ReadAll(r)
		r.Close()
		files[f.Name] = string(b)
	}
	m, err := manifest.Parse("imsmanifest.xml", []byte(files["imsmanifest.xml"]))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, files["imsmanifest.xml"])
	}
	aus := m.Course.AllAUs()
	if m.Type != content.TypeSCORM12 || len(aus) != 2 || aus[0].Kind != "sco" || aus[0].MasteryScore == nil || *aus[0].MasteryScore != 0.8 {
		t.Fatalf("manifest = %+v", m)
	}
	for i, au := range aus {
		page, ok := files[au.LaunchURL]
		if !ok {
			t.Fatalf("AU %d launches %q, not in the zip", i, au.LaunchURL)
		}
		for _, want := range []string{`"https://content.example:8081/d/tok/play/` + mods[i].Module + `"`, `"https://content.example:8081"`, "LMSInitialize", "ev.origin !== origin"} {
			if !strings.Contains(page, want) {
				t.Errorf("SCO %d lacks %s:\n%s", i, want, page)
			}
		}
	}
	if strings.Contains(files["sco/2.html"], "Risk </script>") {
		t.Error("a module title was not escaped in the SCO page")
	}
	if _, err := SCORM12Zip("C", d, nil, "https://c.example", time.Now()); err == nil {
		t.Error("an empty course was packaged")
	}
}
