package dispatch

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"html/template"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/content/manifest"
	"github.com/reach-london/reach/internal/testenv"
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
		for _, want := range []string{`"https://content.example:8081/d/tok/play/` + mods[i].Module + `"`, `"https://content.example:8081"`, "LMSInitialize",
			"ev.origin !== origin", "ev.source !== frame.contentWindow", "&lms_origin=", "cmi.core.session_time", "cmi.core.exit"} {
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

// scoHarness runs a SCO page's script in Node against a fake SCORM 1.2 API
// and window: it delivers the messages in order (each {origin, fromFrame,
// data}, or the string "pagehide") and prints the API calls and the
// iframe's src as JSON.
const scoHarness = `
const fs = require("fs");
const input = JSON.parse(fs.readFileSync(0, "utf8"));
const calls = [];
const values = {"cmi.core.student_id": "stu 1", "cmi.core.student_name": "Doe, Jane", "cmi.core.lesson_status": input.prior};
const API = {
  LMSInitialize: () => { calls.push(["LMSInitialize"]); return "true"; },
  LMSGetValue: (k) => values[k] || "",
  LMSSetValue: (k, v) => { calls.push([k, v]); values[k] = v; return "true"; },
  LMSCommit: () => { calls.push(["LMSCommit"]); return "true"; },
  LMSFinish: () => { calls.push(["LMSFinish"]); return "true"; },
};
const listeners = {};
const frame = {src: "", contentWindow: {}};
const window = {API, addEventListener: (t, f) => { (listeners[t] = listeners[t] || []).push(f); }};
window.parent = window;
const document = {getElementById: () => frame, body: {}};
const location = {origin: "https://lms.example"};
new Function("window", "document", "location", input.script)(window, document, location);
for (const m of input.events) {
  if (m === "pagehide") { (listeners.pagehide || []).forEach((f) => f({})); continue; }
  (listeners.message || []).forEach((f) => f({origin: m.origin, source: m.fromFrame ? frame.contentWindow : {}, data: m.data}));
}
process.stdout.write(JSON.stringify({calls, src: frame.src}));
`

var scoScript = regexp.MustCompile(`(?s)<script>(.*)</script>`)

// TestSCOPageReportsOutcome runs the SCO page against a fake LMS: only the
// content origin's frame is heard, the status and score reach the LMS, a
// settled outcome finishes with a CMITimespan session time and exit "",
// an unfinished one suspends on pagehide, and a passed status is never
// taken back to incomplete.
func TestSCOPageReportsOutcome(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Unavailable(t, "node is not installed")
	}
	var page bytes.Buffer
	if err := scoPage.Execute(&page, map[string]any{"Title": "M1", "Play": template.JS(`"https://content.example/d/tok/play/1-landscape"`),
		"Origin": "https://content.example"}); err != nil {
		t.Fatal(err)
	}
	m := scoScript.FindStringSubmatch(page.String())
	if m == nil {
		t.Fatalf("no script in the SCO page:\n%s", page.String())
	}
	type msg struct {
		Origin    string         `json:"origin"`
		FromFrame bool           `json:"fromFrame"`
		Data      map[string]any `json:"data"`
	}
	const content = "https://content.example"
	outcome := func(completed, passed, failed bool, score any) map[string]any {
		o := map[string]any{"type": "reach-dispatch-outcome", "completed": completed, "passed": passed, "failed": failed, "satisfied": false}
		if score != nil {
			o["score"] = score
		}
		return o
	}
	timespan := regexp.MustCompile(`^\d{4}:\d{2}:\d{2}\.\d{2}$`)
	for _, tc := range []struct {
		name   string
		prior  string
		events []any
		want   []string // the API calls after LMSInitialize, "key=value" or the call's name
	}{
		{"strangers ignored", "not attempted", []any{
			msg{"https://evil.example", true, outcome(true, true, false, 1.0)},
			msg{content, false, outcome(true, true, false, 1.0)},
			msg{content, true, map[string]any{"type": "other", "passed": true}},
		}, nil},
		{"incomplete then passed", "not attempted", []any{
			msg{content, true, outcome(false, false, false, nil)},
			msg{content, true, outcome(true, true, false, 0.87)},
			msg{content, true, outcome(true, true, false, 0.9)},
		}, []string{"cmi.core.lesson_status=incomplete", "LMSCommit",
			"cmi.core.score.min=0", "cmi.core.score.max=100", "cmi.core.score.raw=87", "cmi.core.lesson_status=passed",
			"cmi.core.session_time=*", "cmi.core.exit=", "LMSCommit", "LMSFinish"}},
		{"failed", "incomplete", []any{msg{content, true, outcome(true, false, true, 0.2)}, "pagehide"},
			[]string{"cmi.core.score.min=0", "cmi.core.score.max=100", "cmi.core.score.raw=20", "cmi.core.lesson_status=failed",
				"cmi.core.session_time=*", "cmi.core.exit=", "LMSCommit", "LMSFinish"}},
		{"unfinished suspends", "not attempted", []any{msg{content, true, outcome(false, false, false, nil)}, "pagehide", "pagehide"},
			[]string{"cmi.core.lesson_status=incomplete", "LMSCommit", "cmi.core.session_time=*", "cmi.core.exit=suspend", "LMSCommit", "LMSFinish"}},
		{"completed awaiting a pass", "not attempted", []any{msg{content, true, outcome(true, false, false, nil)}, "pagehide"},
			[]string{"cmi.core.lesson_status=completed", "LMSCommit", "cmi.core.session_time=*", "cmi.core.exit=", "LMSCommit", "LMSFinish"}},
		{"passed kept", "passed", []any{msg{content, true, outcome(false, false, false, nil)}},
			[]string{"LMSCommit"}},
		{"satisfied finishes", "not attempted", []any{msg{content, true, map[string]any{"type": "reach-dispatch-outcome", "completed": true, "satisfied": true}}},
			[]string{"cmi.core.lesson_status=completed", "cmi.core.session_time=*", "cmi.core.exit=", "LMSCommit", "LMSFinish"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, _ := json.Marshal(map[string]any{"script": m[1], "prior": tc.prior, "events": tc.events})
			cmd := exec.Command(node, "-e", scoHarness)
			cmd.Stdin = bytes.NewReader(in)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("node: %v\n%s", err, out)
			}
			var res struct {
				Calls [][]string `json:"calls"`
				Src   string     `json:"src"`
			}
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			wantSrc := "https://content.example/d/tok/play/1-landscape?student_id=stu%201&student_name=Doe%2C%20Jane&lms_origin=https%3A%2F%2Flms.example"
			if res.Src != wantSrc {
				t.Errorf("iframe src = %s, want %s", res.Src, wantSrc)
			}
			if len(res.Calls) == 0 || res.Calls[0][0] != "LMSInitialize" {
				t.Fatalf("calls = %v, want LMSInitialize first", res.Calls)
			}
			var got []string
			for _, c := range res.Calls[1:] {
				if len(c) == 2 {
					if c[0] == "cmi.core.session_time" {
						if !timespan.MatchString(c[1]) {
							t.Errorf("session_time %q is not HHHH:MM:SS.SS", c[1])
						}
						c[1] = "*"
					}
					got = append(got, c[0]+"="+c[1])
				} else {
					got = append(got, c[0])
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("API calls:\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}
