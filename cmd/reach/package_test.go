package main

import (
	"archive/zip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reach-london/reach/internal/testenv"
)

func writeZip(t *testing.T, path string, files map[string]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestPackageAndCourseCommands(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			env := map[string]string{"REACH_DATA_DIR": dir, "REACH_LOG_LEVEL": "warn"}
			if backend == "postgres" {
				env["REACH_DATABASE_URL"] = testenv.PostgresURL(t)
			}
			if code, _, errOut := cli(t, env, "migrate"); code != 0 {
				t.Fatalf("migrate: exit %d: %s", code, errOut)
			}
			good := filepath.Join(dir, "good.zip")
			writeZip(t, good, map[string]string{"tincan.xml": `<tincan><activities><activity id="http://example.org/a" type="http://adlnet.gov/expapi/activities/course"><name>CLI test</name><launch>index.html</launch></activity></activities></tincan>`, "index.html": "hi"})
			bad := filepath.Join(dir, "bad.zip")
			writeZip(t, bad, map[string]string{"tincan.xml": `<tincan><activities><activity id="http://example.org/a"><launch>missing.html</launch></activity></activities></tincan>`})
			slotsFile := filepath.Join(dir, "slots.json")
			writeFile(t, slotsFile, `{"boroughName":"Hackney","offers":[{"name":"Dance for Health"}]}`)
			badSlots := filepath.Join(dir, "bad-slots.json")
			writeFile(t, badSlots, `{"branding":{"primaryColour":"#ffff00"}}`)
			steps := []struct {
				args             []string
				code             int
				wantOut, wantErr string
			}{
				{[]string{"course", "publish"}, 1, "", "no boroughs yet"},
				{[]string{"course", "build"}, 2, "", "--out is required"},
				{[]string{"course", "build", "--out", filepath.Join(dir, "course.zip")}, 0, "wrote", ""},
				{[]string{"course", "build", "--out", filepath.Join(dir, "hackney.zip"), "--slots", slotsFile}, 0, "wrote", ""},
				{[]string{"course", "build", "--out", filepath.Join(dir, "bad.zip"), "--slots", badSlots}, 1, "", "primary colour"},
				{[]string{"package", "import", filepath.Join(dir, "course.zip"), "--borough", "hackney"}, 1, "", `borough "hackney" not found`},
				{[]string{"borough", "create", "hackney", "--publish-course=false"}, 0, "created borough", ""},
				{[]string{"course", "publish"}, 0, "hackney: published version 1", ""},
				{[]string{"course", "publish", "--borough", "hackney"}, 0, "hackney: version 1 is already current", ""},
				{[]string{"course", "publish", "--borough", "nowhere"}, 1, "", `borough "nowhere" not found`},
				{[]string{"package", "import", good}, 2, "", "--borough is required"},
				{[]string{"package", "import", "--borough", "hackney"}, 2, "", "exactly one package zip"},
				{[]string{"package", "import", good, "--borough", "hackney"}, 0, `imported xapi package "CLI test" into hackney`, ""},
				{[]string{"package", "import", bad, "--borough", "hackney"}, 1, "", `launch file "missing.html"`},
				{[]string{"package", "import", filepath.Join(dir, "none.zip"), "--borough", "hackney"}, 1, "", "cannot open"},
				{[]string{"package", "import", good, "--borough", "hackney", "--json"}, 0, `"type": "xapi"`, ""},
				{[]string{"package", "import", filepath.Join(dir, "course.zip"), "--borough", "hackney"}, 0, `imported cmi5 package`, ""},
			}
			for _, s := range steps {
				code, out, errOut := cli(t, env, s.args...)
				if code != s.code || !strings.Contains(out, s.wantOut) || !strings.Contains(errOut, s.wantErr) {
					t.Errorf("reach %s: exit %d, stdout %q, stderr %q; want exit %d, stdout ~%q, stderr ~%q",
						strings.Join(s.args, " "), code, out, errOut, s.code, s.wantOut, s.wantErr)
				}
			}
			// An invalid manifest's cause is printed once (issue 18 §5).
			invalid := filepath.Join(dir, "invalid.zip")
			writeZip(t, invalid, map[string]string{"cmi5.xml": `<courseStructure xmlns="https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd"><course/></courseStructure>`})
			code, _, errOut := cli(t, env, "package", "import", invalid, "--borough", "hackney")
			if code != 1 || strings.Count(errOut, "attribute id is missing") != 1 || !strings.Contains(errOut, "invalid manifest: cmi5.xml: <course>: attribute id is missing") {
				t.Errorf("invalid manifest: exit %d, stderr %q; want the cause once", code, errOut)
			}
			// Delete an unused package, then sweep.
			other := filepath.Join(dir, "other.zip")
			writeZip(t, other, map[string]string{"tincan.xml": `<tincan><activities><activity id="http://example.org/b" type="http://adlnet.gov/expapi/activities/course"><name>To delete</name><launch>b.html</launch></activity></activities></tincan>`, "b.html": "bye"})
			code, out, errOut := cli(t, env, "package", "import", other, "--borough", "hackney", "--json")
			var imported struct{ ID string }
			if code != 0 || json.Unmarshal([]byte(out), &imported) != nil || imported.ID == "" {
				t.Fatalf("import to delete: exit %d %q %q", code, out, errOut)
			}
			for _, s := range []struct {
				args             []string
				code             int
				wantOut, wantErr string
			}{
				{[]string{"package", "delete", imported.ID}, 2, "", "--borough is required"},
				{[]string{"package", "delete", imported.ID, "--borough", "hackney"}, 0, "deleted package " + imported.ID + " from hackney: 2 files removed", ""},
				{[]string{"package", "delete", imported.ID, "--borough", "hackney"}, 1, "", "package not found"},
				{[]string{"package", "sweep", "--older-than", "0s"}, 0, "deleted 0 (0 bytes)", ""},
				{[]string{"package", "sweep", "extra"}, 2, "", "unexpected arguments"},
			} {
				code, out, errOut := cli(t, env, s.args...)
				if code != s.code || !strings.Contains(out, s.wantOut) || !strings.Contains(errOut, s.wantErr) {
					t.Errorf("reach %s: exit %d, stdout %q, stderr %q; want exit %d, stdout ~%q, stderr ~%q",
						strings.Join(s.args, " "), code, out, errOut, s.code, s.wantOut, s.wantErr)
				}
			}
		})
	}
}
