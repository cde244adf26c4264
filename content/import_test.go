package content_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/internal/reachtest"
)

func forEachBackend(t *testing.T, fn func(t *testing.T, inst *reachtest.Instance, admin *client.Client)) {
	for _, b := range reachtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			inst := reachtest.Start(t, b)
			admin := client.New(inst.URL)
			if _, err := admin.Login(context.Background(), "", inst.AdminEmail, inst.AdminPassword); err != nil {
				t.Fatalf("login: %v", err)
			}
			fn(t, inst, admin)
		})
	}
}

func TestImportEachType(t *testing.T) {
	forEachBackend(t, func(t *testing.T, inst *reachtest.Instance, admin *client.Client) {
		ctx := context.Background()
		shared := "/* the same player script in every package */"
		tests := []struct {
			name, typ, title string
			zip              []byte
			aus              int
		}{
			{"cmi5", "cmi5", "Test course", makeZip(t, files("cmi5.xml", cmi5XML, "au1/index.html", "<h1>AU</h1>", "lib/player.js", shared)...), 1},
			{"scorm12 multi-sco", "scorm12", "SCORM 1.2 test", makeZip(t, files("imsmanifest.xml", scorm12XML, "one/index.html", "1", "two/index.html", "2", "lib/player.js", shared)...), 2},
			{"scorm2004 2nd", "scorm2004-2nd", "SCORM 2004 test", makeZip(t, files("imsmanifest.xml", scorm2004XML("CAM 1.3"), "index_lms.html", "2nd", "lib/player.js", shared)...), 1},
			{"scorm2004 3rd", "scorm2004-3rd", "SCORM 2004 test", makeZip(t, files("imsmanifest.xml", scorm2004XML("2004 3rd Edition"), "index_lms.html", "3rd", "lib/player.js", shared)...), 1},
			{"scorm2004 4th", "scorm2004-4th", "SCORM 2004 test", makeZip(t, files("imsmanifest.xml", scorm2004XML("2004 4th Edition"), "index_lms.html", "4th", "lib/player.js", shared)...), 1},
			{"xapi", "xapi", "xAPI test", makeZip(t, files("tincan.xml", tincanXML, "story.html", "<p>story</p>", "lib/player.js", shared)...), 1},
		}
		_, _, blobsBefore := counts(t, inst)
		newFiles := 0
		for _, tt := range tests {
			pkg, err := admin.ImportPackage(ctx, "london", bytes.NewReader(tt.zip))
			if err != nil {
				t.Fatalf("%s: import: %v", tt.name, err)
			}
			if pkg.Type != tt.typ || pkg.Title != tt.title || pkg.ID == "" || len(pkg.ContentHash) != 64 {
				t.Errorf("%s: got type %q title %q id %q hash %q", tt.name, pkg.Type, pkg.Title, pkg.ID, pkg.ContentHash)
			}
			full, err := admin.Package(ctx, "london", pkg.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(full.Files) != pkg.FileCount || full.Files["lib/player.js"].SHA256 == "" {
				t.Errorf("%s: file map %v, count %d", tt.name, full.Files, pkg.FileCount)
			}
			var course content.Course
			if err := jsonUnmarshal(full.Course, &course); err != nil {
				t.Fatal(err)
			}
			if got := len(course.AllAUs()); got != tt.aus {
				t.Errorf("%s: %d AUs, want %d", tt.name, got, tt.aus)
			}
			newFiles += pkg.FileCount - 1 // lib/player.js is shared
		}
		_, _, blobsAfter := counts(t, inst)
		// The shared script is stored once across all six packages.
		if got, want := blobsAfter-blobsBefore, newFiles+1; got != want {
			t.Errorf("stored %d new blobs, want %d (identical files once)", got, want)
		}
		// Importing the same zip again returns the same package.
		again, err := admin.ImportPackage(ctx, "london", bytes.NewReader(tests[0].zip))
		if err != nil {
			t.Fatal(err)
		}
		list, _ := admin.Packages(ctx, "london")
		found := false
		for _, p := range list {
			found = found || p.ID == again.ID
		}
		if !found {
			t.Errorf("re-import gave package %s, not in the list", again.ID)
		}
		audit, err := admin.Audit(ctx, "london")
		if err != nil {
			t.Fatal(err)
		}
		imports := 0
		for _, a := range audit {
			if a.Action == content.AuditPackageImport {
				imports++
			}
		}
		if imports < len(tests) {
			t.Errorf("audit has %d package imports, want at least %d", imports, len(tests))
		}
	})
}

// oneMiBFiles returns n files of exactly 1 MiB of zeros: each is at the
// per-entry ratio check's floor, so only the whole-archive bound sees them.
func oneMiBFiles(n int) []zentry {
	var out []zentry
	for i := 0; i < n; i++ {
		out = append(out, zentry{name: fmt.Sprintf("pad/%04d.txt", i), body: make([]byte, 1<<20)})
	}
	return out
}

// TestImportCMI5Formats: cmi5 14.0.0.0-1, a course structure alone (all
// AU URLs fully qualified) and a Zip64 package import like a Zip32 one.
func TestImportCMI5Formats(t *testing.T) {
	standalone := strings.Replace(cmi5XML, "<url>au1/index.html</url>", "<url>https://cdn.example.org/au1/index.html?lang=en</url>", 1)
	forEachBackend(t, func(t *testing.T, inst *reachtest.Instance, admin *client.Client) {
		ctx := context.Background()
		pkg, err := admin.ImportPackage(ctx, "london", strings.NewReader(standalone))
		if err != nil {
			t.Fatalf("standalone cmi5.xml: %v", err)
		}
		full, err := admin.Package(ctx, "london", pkg.ID)
		if err != nil {
			t.Fatal(err)
		}
		var course content.Course
		if err := jsonUnmarshal(full.Course, &course); err != nil {
			t.Fatal(err)
		}
		aus := course.AllAUs()
		if pkg.Type != "cmi5" || len(full.Files) != 1 || full.Files["cmi5.xml"].SHA256 == "" || len(aus) != 1 || !aus[0].External ||
			aus[0].LaunchURL != "https://cdn.example.org/au1/index.html?lang=en" {
			t.Fatalf("standalone: type %q files %v aus %+v", pkg.Type, full.Files, aus)
		}
		z64 := toZip64(t, makeZip(t, files("cmi5.xml", cmi5XML, "au1/index.html", "<h1>zip64</h1>")...))
		pkg, err = admin.ImportPackage(ctx, "london", bytes.NewReader(z64))
		if err != nil {
			t.Fatalf("zip64: %v", err)
		}
		if pkg.FileCount != 2 || pkg.Type != "cmi5" {
			t.Fatalf("zip64: %+v", pkg)
		}
	})
}

func TestImportRejected(t *testing.T) {
	bomb := make([]byte, 8<<20) // zeros compress about 1000:1
	random := make([]byte, 3<<20)
	rand.Read(random)
	okCMI5 := files("cmi5.xml", cmi5XML, "au1/index.html", "x")
	tests := []struct {
		name    string
		body    []byte
		status  int
		message string
	}{
		{"not a zip", []byte("this is not a zip file at all"), 400, "not a zip file"},
		{"empty zip", makeZip(t), 400, "no manifest"},
		{"no manifest", makeZip(t, files("index.html", "x")...), 400, "no manifest"},
		{"manifest in a folder", makeZip(t, files("course/cmi5.xml", cmi5XML)...), 400, "zip the folder's contents"},
		{"invalid manifest", makeZip(t, files("cmi5.xml", `<courseStructure xmlns="https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd"><course/></courseStructure>`)...), 400, "invalid manifest: cmi5.xml: <course>: attribute id is missing (CourseStructure.xsd"},
		{"cmi5 without descriptions", makeZip(t, files("cmi5.xml", strings.ReplaceAll(cmi5XML, `<description><langstring lang="en">The only AU</langstring></description>`, ""), "au1/index.html", "x")...), 400, `<au id="https://example.org/test/course/au1">: found <url> where <description> is expected`},
		{"cmi5 launch parameter in url", makeZip(t, files("cmi5.xml", strings.Replace(cmi5XML, "au1/index.html", "au1/index.html?registration=1", 1), "au1/index.html", "x")...), 400, "cmi5 8.1.0.0-6"},
		{"cmi5 course structure alone with a relative url", []byte(cmi5XML), 400, "cmi5 14.2.0.0-1"},
		{"neither zip nor xml", []byte("# cmi5 package\nnot really"), 400, "cmi5 14.0.0.0-1"},
		{"NUL in an entry name", makeZip(t, append(okCMI5, files("lib/a\x00.js", "x")...)...), 400, `"lib/a\x00.js" contains a control character`},
		{"archive expands too much", makeZip(t, append(okCMI5, oneMiBFiles(70)...)...), 413, "more than 100 times"},
		{"launch file missing", makeZip(t, files("cmi5.xml", cmi5XML)...), 400, `launch file "au1/index.html" of "First AU" is not in the zip (cmi5 14.1.0.0-4`},
		{"launch file wrong case", makeZip(t, files("cmi5.xml", cmi5XML, "AU1/index.html", "x")...), 400, "differs only in letter case"},
		{"path traversal", makeZip(t, append(okCMI5, files("../evil.js", "x")...)...), 400, `"../evil.js" contains ".." (path traversal)`},
		{"absolute path", makeZip(t, append(okCMI5, files("/etc/cron.d/x", "x")...)...), 400, "is an absolute path"},
		{"drive letter", makeZip(t, append(okCMI5, files("C:/x.js", "x")...)...), 400, "drive letter"},
		{"backslash", makeZip(t, append(okCMI5, files(`lib\x.js`, "x")...)...), 400, "contains a backslash"},
		{"symlink", makeZip(t, append(okCMI5, zentry{name: "lib/link", body: []byte("/etc/passwd"), mode: fs.ModeSymlink | 0o777})...), 400, "is a symbolic link"},
		{"duplicate", makeZip(t, append(okCMI5, files("a.js", "1", "a.js", "2")...)...), 400, `"a.js" appears more than once`},
		{"case duplicate", makeZip(t, append(okCMI5, files("A.js", "1", "a.js", "2")...)...), 400, "differ only in letter case"},
		{"zip bomb", makeZip(t, append(okCMI5, zentry{name: "big.bin", body: bomb})...), 400, "expands more than 200 times"},
		{"oversize upload", makeZip(t, append(okCMI5, zentry{name: "random.bin", body: random})...), 413, "larger than the 2 MiB upload limit"},
	}
	for _, b := range reachtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			inst := reachtest.Start(t, b, func(c *configT) { c.MaxUploadBytes = 2 << 20 })
			admin := client.New(inst.URL)
			ctx := context.Background()
			if _, err := admin.Login(ctx, "", inst.AdminEmail, inst.AdminPassword); err != nil {
				t.Fatal(err)
			}
			p0, f0, b0 := counts(t, inst)
			for _, tt := range tests {
				_, err := admin.ImportPackage(ctx, "london", bytes.NewReader(tt.body))
				var ce *client.Error
				if !errors.As(err, &ce) {
					t.Errorf("%s: want an API error, got %v", tt.name, err)
					continue
				}
				if ce.Status != tt.status || !strings.Contains(ce.Message, tt.message) {
					t.Errorf("%s: got %d %q, want %d containing %q", tt.name, ce.Status, ce.Message, tt.status, tt.message)
				}
				if p, f, bl := counts(t, inst); p != p0 || f != f0 || bl != b0 {
					t.Errorf("%s: left something behind: packages %d→%d, file rows %d→%d, blobs %d→%d", tt.name, p0, p, f0, f, b0, bl)
				}
			}
		})
	}
}
