package content_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/content/manifest"
	"github.com/reach-london/reach/internal/reachtest"
)

// TestImportAuthoringToolShapes imports a package around each manifest in
// content/manifest/testdata (shaped like Storyline, Rise, Captivate,
// iSpring, Adapt and Elucidat output) with every file it names, unchanged.
func TestImportAuthoringToolShapes(t *testing.T) {
	paths, err := filepath.Glob("manifest/testdata/*.xml")
	if err != nil || len(paths) < 10 {
		t.Fatalf("fixtures: %v %v", paths, err)
	}
	type pkgCase struct {
		name, typ string
		zip       []byte
		aus       int
	}
	var cases []pkgCase
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Base(p)
		file := base[strings.Index(base, ".")+1:] // "imsmanifest.xml", "cmi5.xml", "tincan.xml"
		m, err := manifest.Parse(file, raw)
		if err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		entries := []zentry{{name: file, body: raw}}
		have := map[string]bool{file: true}
		add := func(path string) {
			if path != "" && !have[path] {
				have[path] = true
				entries = append(entries, zentry{name: path, body: []byte("content of " + path)})
			}
		}
		for _, au := range m.Course.AllAUs() {
			lp, _ := manifest.LaunchPath(au)
			add(lp)
		}
		for _, f := range m.Files {
			add(f)
		}
		cases = append(cases, pkgCase{name: base, typ: string(m.Type), zip: makeZip(t, entries...), aus: len(m.Course.AllAUs())})
	}
	forEachBackend(t, func(t *testing.T, inst *reachtest.Instance, admin *client.Client) {
		ctx := context.Background()
		for _, c := range cases {
			pkg, err := admin.ImportPackage(ctx, "london", bytes.NewReader(c.zip))
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			if pkg.Type != c.typ || len(pkg.Warnings) != 0 {
				t.Errorf("%s: type %q (want %q), warnings %v", c.name, pkg.Type, c.typ, pkg.Warnings)
			}
			// The first AU's launch file is served from the content origin.
			pv, err := admin.PreviewPackage(ctx, "london", pkg.ID, "")
			if err != nil {
				t.Errorf("%s: preview: %v", c.name, err)
				continue
			}
			if strings.HasPrefix(pv.URL, inst.ContentURL) {
				if res, body := fetch(t, "GET", pv.URL); res.StatusCode != 200 || !strings.HasPrefix(body, "content of ") {
					t.Errorf("%s: launch %s: %d %q", c.name, pv.URL, res.StatusCode, body)
				}
			}
		}
	})
}
