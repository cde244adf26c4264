package course

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/reach-london/reach/internal/errs"
)

// fixture returns a writable copy of testdata/good.
func fixture(t *testing.T) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	src := os.DirFS("testdata/good")
	err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(src, p)
		out[p] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const (
	welcome   = "modules/1-demo/pages/01-welcome.md"
	checkPage = "modules/1-demo/pages/05-check.md"
	questions = "modules/1-demo/questions.yaml"
	demoMod   = "modules/1-demo/module.yaml"
)

func TestLoadFixture(t *testing.T) {
	c, err := Load(os.DirFS("testdata/good"))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.Modules); got != 2 {
		t.Fatalf("got %d modules, want 2", got)
	}
	m := c.Modules[0]
	var ids []string
	for _, p := range m.Pages {
		ids = append(ids, p.ID)
	}
	if want := []string{"welcome", "stories", "for-gps", "offer", "knowledge-check", "summary", "sources"}; !slices.Equal(ids, want) {
		t.Errorf("pages %v, want %v", ids, want)
	}
	if got := m.Pages[2].Roles; !slices.Equal(got, []string{"gp"}) {
		t.Errorf("for-gps roles %v, want [gp]", got)
	}
	if !m.Pages[0].ForAll() {
		t.Error("welcome should be on every path")
	}
	if got := len(m.Questions); got != 7 {
		t.Errorf("got %d questions, want 7", got)
	}
	if got := c.AUIRI(m); got != "https://reach.london/course/test-fixture/demo" {
		t.Errorf("AU IRI %s", got)
	}
	e := m.Estimate()
	words := 0
	for _, p := range m.Pages {
		words += p.Words
	}
	want := int(math.Round(float64(words)/150)) + 2 + 3 + 10 + 7
	if e.Words != words || e.Minutes != want || e.ActivityMinutes != 15 || e.QuestionMinutes != 7 {
		t.Errorf("estimate %+v, want %d words and %d minutes", e, words, want)
	}
	// A role's path leaves out the other roles' pages and their questions:
	// the GP page (its words, 3 minutes and one question) is only the GP's.
	gp, artist := m.EstimateFor("gp"), m.EstimateFor("artist")
	if gp != e {
		t.Errorf("the GP's estimate %+v, want the whole module's %+v (the GP page is the only role page)", gp, e)
	}
	if artist.Words != words-m.Pages[2].Words || artist.ActivityMinutes != 12 || artist.QuestionMinutes != 6 {
		t.Errorf("the artist's estimate %+v, want the module's without the GP page", artist)
	}
	if got := m.Estimates(); len(got) != 4 || got["other"] != artist || got["gp"] != gp {
		t.Errorf("estimates by role %+v", got)
	}
}

func TestCountWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"", 0},
		{"One two three.", 3},
		{"- a list item\n- another", 4},
		{"See [the NHS page](https://www.england.nhs.uk/) today.", 5},
		{"## Heading with *emphasis* -- and 2020", 5},
	} {
		if got := countWords(tc.in); got != tc.want {
			t.Errorf("countWords(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestLoadRejects checks that each kind of mistake a writer can make is
// reported with its file, line where known, and a clear message.
func TestLoadRejects(t *testing.T) {
	replace := func(file, old, new string) func(fstest.MapFS) {
		return func(f fstest.MapFS) {
			s := string(f[file].Data)
			if !strings.Contains(s, old) {
				panic("fixture has no " + old)
			}
			f[file] = &fstest.MapFile{Data: []byte(strings.Replace(s, old, new, 1))}
		}
	}
	add := func(file, content string) func(fstest.MapFS) {
		return func(f fstest.MapFS) { f[file] = &fstest.MapFile{Data: []byte(content)} }
	}
	const sc = "modules/1-demo/scenarios/fx-s1.yaml"
	const stories = "modules/1-demo/pages/02-stories.md"
	const image = "modules/1-demo/images/two-steps.svg"
	for _, tc := range []struct {
		name   string
		change func(fstest.MapFS)
		want   string
	}{
		{"unknown block", replace(welcome, ":::role artist", ":::sidebar"), welcome + ":12: unknown block :::sidebar"},
		{"unclosed block", add("modules/1-demo/pages/06-summary.md", "---\nid: summary\ntitle: Summary\n---\nText.\n\n:::note\nNever closed.\n"), "06-summary.md:7: the :::note block is never closed"},
		{"nested block", replace(welcome, "A note for artists.", ":::note\nInner"), welcome + ":13: blocks do not nest"},
		{"stray closing", replace(welcome, "Welcome. This", ":::\nWelcome. This"), welcome + ":6: closing ::: without an open block"},
		{"bad role block", replace(welcome, ":::role gp", ":::role nurse"), `:::role nurse: "nurse" must be one of artist, linkworker, gp, other`},
		{"bad role in front matter", replace("modules/1-demo/pages/03-for-gps.md", "roles: [gp]", "roles: [nurse]"), `roles: unknown role "nurse"`},
		{"all with roles", replace("modules/1-demo/pages/03-for-gps.md", "roles: [gp]", "roles: [all, gp]"), `"all" cannot be combined`},
		{"unknown front matter field", replace(welcome, "title:", "titel: x\ntitle:"), welcome + ":3: field titel not found"},
		{"no front matter", add("modules/1-demo/pages/06-summary.md", "Just text."), "06-summary.md:1: a page must start with YAML front matter"},
		{"duplicate page id", replace("modules/1-demo/pages/06-summary.md", "id: summary", "id: welcome"), `page id "welcome" is already used by ` + welcome},
		{"bad page id", replace(welcome, "id: welcome", "id: Welcome Page"), `page id "Welcome Page" must be a lowercase slug`},
		{"missing sources page", replace("modules/2-plan/pages/02-sources.md", "id: sources\ntitle: Sources", "id: extra\ntitle: Extra"), "the last page of a module must be its sources page"},
		{"h1 in body", replace(welcome, "## What you will do", "# What you will do"), welcome + ":8: use ## for headings"},
		{"skipped heading", replace(welcome, "## What you will do", "### What you will do"), welcome + ":8: heading level 3 skips a level"},
		{"raw html", replace(welcome, "Welcome. This", "<div>Welcome.</div>\n\nThis"), welcome + ":6: raw HTML is not allowed"},
		{"image", replace(welcome, "Welcome. This", "![a choir](choir.jpg) This"), "use a :::figure block for images, with alt text and a long description"},
		{"question missing", replace(checkPage, "fx-q6]", "fx-q6, fx-q9]"), `questions: "fx-q9" is not defined in ` + questions},
		{"question on no page", replace(checkPage, ", fx-q6]", "]"), questions + `:41: question "fx-q6" is not listed in any page's questions`},
		{"question on two pages", replace("modules/1-demo/pages/06-summary.md", "title: Summary\n---\n", "title: Summary\nquestions: [fx-q1]\n---\n:::check\n:::\n"), `questions: "fx-q1" is already shown on ` + checkPage},
		{"check without questions", replace("modules/1-demo/pages/06-summary.md", "That is the end.", ":::check\n:::"), "has a :::check block but its front matter lists no questions"},
		{"questions without check", replace(checkPage, ":::check\n:::", ""), "has no :::check block"},
		{"unknown question type", replace(questions, "type: fill-in", "type: essay"), questions + `:42: question fx-q6: type "essay" must be one of`},
		{"choice with two answers", replace(questions, "correct: [b]", "correct: [a, b]"), "exactly one correct answer, got 2"},
		{"answer not a choice", replace(questions, "correct: [a, c]", "correct: [a, z]"), `correct answer "z" is not one of the choices`},
		{"true-false answer", replace(questions, "correct: [true]", "correct: [yes]"), "correct: [true] or [false]"},
		{"sequencing incomplete", replace(questions, "correct: [a, b, c]", "correct: [a, b]"), "lists every choice id once"},
		{"matching unmatched", replace(questions, "correct: [[s1, t1], [s2, t2]]", "correct: [[s1, t1]]"), `source "s2" has no correct target`},
		{"matching bad pair", replace(questions, "correct: [[s1, t1], [s2, t2]]", "correct: [[s1, t1], [s2, t9]]"), "must be [source id, target id]"},
		{"no feedback", replace(questions, "feedback: {correct: \"Right. The stories page explains why.\", incorrect: \"Look again at the stories.\"}", "feedback: {correct: Yes.}"), "feedback needs both correct and incorrect text"},
		{"unquoted colon", replace(questions, "{id: a, text: The wrong one,", "{id: a, text: The wrong: one,"), "put the text in double quotes"},
		{"option feedback on some choices only", replace(questions, `, feedback: "Tempting, but this one misses the point."}`, "}"), "question fx-q1: 1 of 2 choices have feedback: give every choice its feedback, or none"},
		{"option feedback on sequencing", replace(questions, "{id: a, text: First}", "{id: a, text: First, feedback: Good}"), "feedback on a choice is only for choice and multiple-choice questions"},
		{"teaches an unknown page", replace(questions, "teaches: stories", "teaches: storys"), `question fx-q1: teaches "storys" is not a page id of this module`},
		{"duplicate question id", add("modules/2-plan/questions.yaml", "- id: fx-q1\n  type: true-false\n  prompt: Again?\n  correct: [true]\n  feedback: {correct: a, incorrect: b}\n"), `question id "fx-q1" is already used at ` + questions},
		{"duplicate reflection id", replace("modules/1-demo/pages/03-for-gps.md", ":::reflection fx-r2", ":::reflection fx-r1"), `reflection id "fx-r1" is already used at ` + welcome},
		{"bad moveOn", replace(demoMod, "moveOn: CompletedAndPassed", "moveOn: Finished"), `moveOn "Finished" must be one of`},
		{"mastery out of range", replace(demoMod, "masteryScore: 0.5", "masteryScore: 70"), "masteryScore 70 must be between 0 and 1"},
		{"questions without mastery", replace(demoMod, "masteryScore: 0.5\n", ""), "the module has questions, so it needs a masteryScore"},
		{"passed without questions", replace("modules/2-plan/module.yaml", "moveOn: Completed", "moveOn: Passed"), "moveOn Passed needs a masteryScore"},
		{"two offer-builders", replace("modules/1-demo/pages/06-summary.md", "That is the end.", ":::offer-builder\n:::"), ":::offer-builder may appear once per module"},
		{"generated block with text", replace(checkPage, ":::check\n:::", ":::check\nSome text\n:::"), "the :::check block is generated; leave it empty"},
		{"scenario not placed", replace("modules/1-demo/pages/02-stories.md", ":::scenario fx-s1\n:::", ""), "scenario fx-s1 is not placed on any page"},
		{"scenario unknown", replace("modules/1-demo/pages/02-stories.md", ":::scenario fx-s1", ":::scenario fx-s9"), ":::scenario fx-s9: no such scenario"},
		{"scenario placed twice", replace("modules/1-demo/pages/06-summary.md", "That is the end.", ":::scenario fx-s1\n:::"), ":::scenario fx-s1 is already placed at"},
		{"scenario leads nowhere", replace(sc, "next: left\n  - id: tea", "next: lost\n  - id: tea"), `choice wait leads to "lost", which is neither a step nor an ending`},
		{"scenario step unreachable", replace(sc, "next: tea", "next: stayed"), "step tea cannot be reached from the first step"},
		{"scenario loop without end", replace(sc, "        next: stayed\n      - id: leave\n        text: Leave him to it\n        consequence: He drinks his tea alone.\n        next: left", "        next: tea\n      - id: leave\n        text: Leave him to it\n        consequence: He drinks his tea alone.\n        next: tea"), "step tea can never reach an ending"},
		{"scenario one choice", replace(sc, "      - id: wait\n        text: Carry on setting up and let him come in when he is ready\n        consequence: He waits a minute, then leaves.\n        next: left\n", ""), "step door needs at least two choices"},
		{"scenario without consequence", replace(sc, "consequence: They talk about football.", "consequence: \"\""), "choice introduce needs text and a consequence"},
		{"scenario heading", replace(sc, "debrief: A warm welcome", "debrief: |\n      ## Why\n      A warm welcome"), "no headings inside scenario text"},
		{"scenario block with text", replace("modules/1-demo/pages/02-stories.md", ":::scenario fx-s1\n:::", ":::scenario fx-s1\nText\n:::"), "the :::scenario block is generated; leave it empty"},
		{"self-assessment without end", replace("modules/1-demo/pages/06-summary.md", ":::self-assessment end\nWhat has changed for you?\n:::", ""), "needs a :::self-assessment end on a later page"},
		{"self-assessment end before start", replace("modules/1-demo/pages/06-summary.md", ":::self-assessment end", ":::self-assessment start"), ":::self-assessment start may appear once per module"},
		{"self-assessment bad phase", replace("modules/1-demo/pages/06-summary.md", ":::self-assessment end", ":::self-assessment middle"), `:::self-assessment middle: "middle" must be one of start, end`},
		{"self-assessment order", func(f fstest.MapFS) {
			replace(welcome, ":::self-assessment start", ":::self-assessment end")(f)
			replace("modules/1-demo/pages/06-summary.md", ":::self-assessment end", ":::self-assessment start")(f)
		}, ":::self-assessment end must be on a later page than :::self-assessment start"},
		{"self-assessment without question", replace("modules/1-demo/pages/06-summary.md", "What has changed for you?\n", ""), "the :::self-assessment block is empty"},
		{"figure without alt", replace(stories, "alt: Two boxes, Notice then Refer, joined by an arrow.\n", ""), `:::figure two-steps.svg: the first line must be "alt: "`},
		{"figure alt names the file", replace(stories, "alt: Two boxes, Notice then Refer, joined by an arrow.", "alt: two-steps.svg"), "should say what the picture shows"},
		{"figure without long description", replace(stories, "\nThe first box says Notice. An arrow leads down to the second box, which says Refer.\n", ""), "write a long description after the alt line"},
		{"figure file missing", replace(stories, ":::figure two-steps.svg", ":::figure three-steps.svg"), "cannot read modules/1-demo/images/three-steps.svg"},
		{"figure bad name", replace(stories, ":::figure two-steps.svg", ":::figure Two Steps.gif"), `:::figure "Two Steps.gif": name the image file`},
		{"image unused", add("modules/1-demo/images/spare.svg", "<svg viewBox=\"0 0 1 1\"/>"), "modules/1-demo/images/spare.svg: image is not used by any :::figure"},
		{"image too big", add(image, "<svg viewBox=\"0 0 1 1\">"+strings.Repeat("<g/>", 30000)+"</svg>"), image + ": image is 118 KB; the limit is 100 KB"},
		{"svg with script", add(image, "<svg viewBox=\"0 0 1 1\"><script>alert(1)</script></svg>"), "SVG may not contain <script>"},
		{"svg with event", add(image, "<svg viewBox=\"0 0 1 1\" onload=\"alert(1)\"/>"), "SVG may not contain event attributes such as onload"},
		{"svg with external link", add(image, "<svg viewBox=\"0 0 1 1\"><image href=\"https://example.org/x.png\"/></svg>"), "SVG may only link inside itself"},
		{"svg without viewBox", add(image, "<svg width=\"10\" height=\"10\"/>"), "needs a viewBox"},
		{"not an svg", add(image, "<html><body>hi</body></html>"), "not an SVG file: the root element is <html>"},
		{"png that is not", func(f fstest.MapFS) {
			replace(stories, ":::figure two-steps.svg", ":::figure two-steps.png")(f)
			f["modules/1-demo/images/two-steps.png"] = &fstest.MapFile{Data: []byte("GIF89a")}
			delete(f, image)
		}, "not a PNG file"},
		{"module missing", replace("course.yaml", "  - 2-plan", "  - 3-missing"), "modules/3-missing/module.yaml: cannot read"},
		{"course id not an IRI", replace("course.yaml", "id: https://reach.london/course/test-fixture", "id: test-fixture"), `course.yaml: id "test-fixture" must be an http(s) IRI`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := fixture(t)
			tc.change(f)
			c, err := Load(f)
			if err == nil {
				t.Fatalf("Load succeeded, want an error containing %q", tc.want)
			}
			if c != nil {
				t.Error("Load returned a course with an error")
			}
			if errs.KindOf(err) != errs.Invalid {
				t.Errorf("error kind %v, want Invalid", errs.KindOf(err))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestInteraction(t *testing.T) {
	c, err := Load(os.DirFS("testdata/good"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		kind    string
		pattern []string
	}{
		"fx-q1": {"choice", []string{"b"}},
		"fx-q2": {"choice", []string{"a[,]c"}},
		"fx-q3": {"true-false", []string{"true"}},
		"fx-q4": {"matching", []string{"s1[.]t1[,]s2[.]t2"}},
		"fx-q5": {"sequencing", []string{"a[,]b[,]c"}},
		"fx-q6": {"fill-in", []string{"{case_matters=false}5", "{case_matters=false}five"}},
		"fx-q7": {"true-false", []string{"true"}},
	}
	for _, q := range c.Modules[0].Questions {
		in := q.Interaction("Merton")
		w := want[q.ID]
		if in.InteractionType != w.kind || !slices.Equal(in.CorrectResponsesPattern, w.pattern) {
			t.Errorf("%s: %s %v, want %s %v", q.ID, in.InteractionType, in.CorrectResponsesPattern, w.kind, w.pattern)
		}
		if in.Type != "http://adlnet.gov/expapi/activities/cmi.interaction" {
			t.Errorf("%s: type %s", q.ID, in.Type)
		}
		switch q.Type {
		case Choice, MultipleChoice, Sequencing:
			if len(in.Choices) != len(q.Choices) {
				t.Errorf("%s: %d choices, want %d", q.ID, len(in.Choices), len(q.Choices))
			}
		case Matching:
			if len(in.Source) != 2 || len(in.Target) != 2 {
				t.Errorf("%s: source %v target %v", q.ID, in.Source, in.Target)
			}
		}
	}
}

func TestSlotsValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		slots Slots
		want  string // empty: valid
	}{
		{"empty", Slots{}, ""},
		{"full", fullSlots().Slots, ""},
		{"bad colour", Slots{Branding: Branding{PrimaryColour: "purple"}}, `primary colour "purple" must look like`},
		{"low contrast", Slots{Branding: Branding{PrimaryColour: "#ffdd00"}}, "needs at least 4.5:1"},
		{"logo over http", Slots{Branding: Branding{LogoURL: "http://example.org/logo.png"}}, "logo URL must use https"},
		{"logo twice", Slots{Branding: Branding{LogoURL: "https://example.org/l.png", Logo: []byte("x"), LogoType: "image/png"}}, "not both"},
		{"logo type", Slots{Branding: Branding{Logo: []byte("x"), LogoType: "image/gif"}}, `logo type "image/gif"`},
		{"logo too big", Slots{Branding: Branding{Logo: make([]byte, maxLogo+1), LogoType: "image/png"}}, "the limit is"},
		{"offer without name", Slots{Offers: []Offer{{Description: "x"}}}, "offer 1 needs a name"},
		{"offer bad URL", Slots{Offers: []Offer{{Name: "x", URL: "javascript:alert(1)"}}}, "must be an http(s) URL"},
		{"contact bad email", Slots{Contacts: []Contact{{Name: "x", Email: "not-an-email"}}}, "is not an email address"},
		{"contact nameless", Slots{Contacts: []Contact{{Phone: "1"}}}, "needs a name or an organisation"},
		{"case study empty", Slots{CaseStudies: []CaseStudy{{Title: "x"}}}, "case study 1 needs a title and a body"},
		{"long text", Slots{Offers: []Offer{{Name: "x", Description: strings.Repeat("a", maxSlotText+1)}}}, "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.slots.validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			case err != nil && errs.KindOf(err) != errs.Invalid:
				t.Errorf("kind %v, want Invalid", errs.KindOf(err))
			}
		})
	}
}

func TestContrast(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want float64
	}{
		{"#000000", "#ffffff", 21},
		{"#ffffff", "#ffffff", 1},
		{"#1d4f91", "#ffffff", 8.1},
	} {
		if got := contrast(tc.a, tc.b); math.Abs(got-tc.want) > 0.1 {
			t.Errorf("contrast(%s, %s) = %.2f, want %.1f", tc.a, tc.b, got, tc.want)
		}
	}
}

func build(t *testing.T, c *Course, opts BuildOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Build(&buf, c, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBuild(t *testing.T) {
	c, err := Load(os.DirFS("testdata/good"))
	if err != nil {
		t.Fatal(err)
	}
	plain := build(t, c, BuildOptions{})
	if again := build(t, c, BuildOptions{}); !bytes.Equal(plain, again) {
		t.Error("two builds of the same input differ")
	}
	files := unzip(t, plain)
	for _, name := range []string{"cmi5.xml", "runtime/au.js", "runtime/au.css", "theme.css", "demo/index.html", "demo/au.json", "plan/index.html", "plan/au.json"} {
		if _, ok := files[name]; !ok {
			t.Errorf("package has no %s", name)
		}
	}
	if !bytes.Equal(files["demo/images/two-steps.svg"], mustRead(t, "testdata/good/modules/1-demo/images/two-steps.svg")) {
		t.Error("the package lacks the figure's image at demo/images/two-steps.svg")
	}
	page := string(files["demo/index.html"])
	for _, want := range []string{
		`<div class="slot slot-default" role="note" aria-label="Local offers not added yet"><p class="slot-label">Local offers for London have not been added yet</p>`,
		`<img src="images/two-steps.svg" alt="Two boxes, Notice then Refer, joined by an arrow." aria-describedby="fig-two-steps-long">`,
		`<figcaption>Two steps.</figcaption>`, `<summary>Long description of this diagram</summary><div id="fig-two-steps-long"><p>The first box says Notice.`,
		`<html lang="en-GB">`, `Welcome to London`, `Ask your link worker about offers in London.`,
		`Fictional composite`, `(fictional composite)`, `data-role="gp"`, `id="page-for-gps"`, `data-roles="gp"`,
		`data-draft="offer"`, `data-hints-summary aria-live="polite"`, `Question 6 of 6.`, `class="skip-link"`,
		`target="_blank" rel="noopener"`, `class="table-wrap"`, `data-my-reflections`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("demo/index.html lacks %q", want)
		}
	}
	if strings.Contains(page, "{{borough}}") {
		t.Error("{{borough}} left unreplaced")
	}
	var d auData
	if err := json.Unmarshal(files["demo/au.json"], &d); err != nil {
		t.Fatal(err)
	}
	if d.AUIRI != "https://reach.london/course/test-fixture/demo" || len(d.Questions) != 7 || len(d.Pages) != 7 || *d.MasteryScore != 0.5 {
		t.Errorf("au.json: %+v", d)
	}
	if d.Pages[1].IRI != d.AUIRI+"/pages/stories" || d.Questions[1].IRI != d.AUIRI+"/questions/fx-q1" {
		t.Errorf("IRIs: %s, %s", d.Pages[1].IRI, d.Questions[1].IRI)
	}
	// The GP page's question counts only for GPs; the estimates by role
	// are in au.json and, for the whole course, in estimates.json.
	if !slices.Equal(d.Questions[0].Roles, []string{"gp"}) || len(d.Questions[1].Roles) != 0 {
		t.Errorf("question roles %v and %v, want [gp] and none", d.Questions[0].Roles, d.Questions[1].Roles)
	}
	if d.Meta.ByRole["gp"].QuestionMinutes != 7 || d.Meta.ByRole["artist"].QuestionMinutes != 6 {
		t.Errorf("au.json estimates by role %+v", d.Meta.ByRole)
	}
	var est EstimatesFile
	if err := json.Unmarshal(files["estimates.json"], &est); err != nil {
		t.Fatal(err)
	}
	if len(est.Modules) != 2 || est.Modules[0].AU != d.AUIRI || est.Modules[0].Minutes["gp"] != d.Meta.ByRole["gp"].Minutes ||
		est.Modules[0].Minutes["artist"] != d.Meta.ByRole["artist"].Minutes || est.Modules[0].Words["gp"] <= est.Modules[0].Words["artist"] {
		t.Errorf("estimates.json %+v", est)
	}
	if !slices.Equal(d.Reflections, []string{"fx-r1", "fx-r2"}) {
		t.Errorf("reflections %v", d.Reflections)
	}

	filled := build(t, c, fullSlots())
	if bytes.Equal(plain, filled) {
		t.Fatal("slots changed nothing")
	}
	ff := unzip(t, filled)
	page = string(ff["demo/index.html"])
	for _, want := range []string{"Welcome to Merton", "Tuesday Singers", "Local offers in Merton", "Sam Patel", `href="mailto:sam@example.org"`, "Case study: The library choir", `src="../brand/logo.svg"`, `alt="Merton logo"`} {
		if !strings.Contains(page, want) {
			t.Errorf("filled page lacks %q", want)
		}
	}
	if strings.Contains(page, "Ask your link worker about offers") {
		t.Error("the default text shows although the borough filled local offers")
	}
	if !strings.Contains(string(ff["theme.css"]), "--brand: #5a2d82") {
		t.Errorf("theme.css: %s", ff["theme.css"])
	}
	if !bytes.Equal(files["runtime/au.js"], ff["runtime/au.js"]) {
		t.Error("the runtime differs between boroughs, so it would not dedupe")
	}

	var out bytes.Buffer
	err = Build(&out, c, BuildOptions{Slots: Slots{Branding: Branding{PrimaryColour: "#ffff00"}}})
	if err == nil || out.Len() != 0 {
		t.Errorf("bad slots: err %v, %d bytes written; want an error and nothing written", err, out.Len())
	}
}

func TestBuildFile(t *testing.T) {
	if _, err := Load(Sources()); err != nil {
		t.Skipf("the embedded sources do not load yet (TestRealCourse reports why): %v", err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "course.zip")
	if err := BuildFile(out, BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	files := unzip(t, data)
	if _, ok := files["cmi5.xml"]; !ok {
		t.Error("no cmi5.xml")
	}
	err = BuildFile(out, BuildOptions{Slots: Slots{BoroughName: strings.Repeat("x", 101)}})
	if err == nil {
		t.Fatal("a bad borough name built")
	}
	if again, _ := os.ReadFile(out); !bytes.Equal(again, data) {
		t.Error("a failed build changed the existing file")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a failed build left files behind: %v", entries)
	}
}

// validateXSD runs xmllint on a cmi5.xml against the cmi5 schema.
func validateXSD(t *testing.T, xml []byte) error {
	t.Helper()
	lint := xmllintPath()
	requireTool(t, lint, "xmllint (Debian package libxml2-utils)")
	schema := "/work/shared/schemas/cmi5/CourseStructure.xsd"
	if s := os.Getenv("REACH_CMI5_XSD"); s != "" {
		schema = s
	}
	requireTool(t, schema, "the cmi5 CourseStructure.xsd")
	f := filepath.Join(t.TempDir(), "cmi5.xml")
	if err := os.WriteFile(f, xml, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(lint, "--noout", "--schema", schema, f).CombinedOutput()
	if err != nil {
		return &xsdError{string(out)}
	}
	return nil
}

type xsdError struct{ out string }

func (e *xsdError) Error() string { return e.out }

func TestCourseStructureValidates(t *testing.T) {
	c, err := Load(os.DirFS("testdata/good"))
	if err != nil {
		t.Fatal(err)
	}
	xml := courseStructure(c, "London")
	if err := validateXSD(t, xml); err != nil {
		t.Errorf("fixture cmi5.xml does not validate:\n%s\n%s", err, xml)
	}
	// The check can fail: an unknown moveOn is refused by the schema.
	broken := bytes.Replace(xml, []byte(`moveOn="Completed"`), []byte(`moveOn="Finished"`), 1)
	if err := validateXSD(t, broken); err == nil {
		t.Error("xmllint accepted moveOn=\"Finished\"")
	}
	for _, want := range []string{`masteryScore="0.5"`, `launchMethod="AnyWindow"`, `<url>demo/index.html</url>`, `id="https://reach.london/course/test-fixture/plan"`} {
		if !bytes.Contains(xml, []byte(want)) {
			t.Errorf("cmi5.xml lacks %s", want)
		}
	}
	if bytes.Contains(xml, []byte(`<au id="https://reach.london/course/test-fixture/plan" moveOn="Completed" masteryScore`)) {
		t.Error("an unassessed module has a masteryScore")
	}
}

// rolePathsPending lists the modules whose role pages are still to be
// written (issue 16); TestRealCourse holds every other module to them.
var rolePathsPending = map[string]bool{"landscape": true, "working-across-sectors": true}

// TestRealCourse checks the writers' sources: they load without problems,
// build a package whose cmi5.xml validates, and each module is about two
// hours of study with at least 7,000 words. Only a module folder with no
// pages yet is skipped.
func TestRealCourse(t *testing.T) {
	dirs := realModuleDirs(t)
	var started, empty []string
	for _, d := range dirs {
		if moduleStarted(d) {
			started = append(started, d)
		} else {
			empty = append(empty, d)
		}
	}
	if len(started) == 0 {
		t.Skip("no module has pages yet")
	}
	fsys := Sources()
	if len(empty) > 0 {
		fsys = subsetSources(t, fsys, started...)
	}
	c, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if err := validateXSD(t, courseStructure(c, "London")); err != nil {
		t.Errorf("cmi5.xml does not validate: %v", err)
	}
	build(t, c, BuildOptions{})
	for _, m := range c.Modules {
		e := m.Estimate()
		t.Logf("module %s: %d words, %.0f min reading + %d min activities + %d min questions = %d min; %d pages, %d questions",
			m.ID, e.Words, e.ReadingMinutes, e.ActivityMinutes, e.QuestionMinutes, e.Minutes, len(m.Pages), len(m.Questions))
		// Each role's path (shared pages and the role's own) is about two
		// hours and a substantial read.
		for _, role := range Roles {
			re := m.EstimateFor(role)
			t.Logf("  %s path: %d words, %d min", role, re.Words, re.Minutes)
			if re.Minutes < 100 || re.Minutes > 130 {
				t.Errorf("module %s: the %s path takes about %d minutes, want 100 to 130", m.ID, role, re.Minutes)
			}
			if re.Words < 6500 {
				t.Errorf("module %s: the %s path has %d words of learner-facing text, want at least 6500", m.ID, role, re.Words)
			}
		}
		// Role paths that are really different: at least two substantial
		// pages (400 words or more) for each professional group, each
		// with a question of its own. Modules not yet rewritten this way
		// are listed in rolePathsPending.
		for _, role := range []string{"artist", "linkworker", "gp"} {
			pages, questions := 0, 0
			for _, p := range m.Pages {
				if !p.ForAll() && slices.Contains(p.Roles, role) {
					t.Logf("  %s page %s: %d words", role, p.ID, p.Words)
				}
				if !p.ForAll() && slices.Contains(p.Roles, role) && p.Words >= 400 {
					pages++
					questions += len(p.QuestionIDs)
				}
			}
			if (pages < 2 || questions < 1) && !rolePathsPending[m.ID] {
				t.Errorf("module %s has %d substantial pages and %d questions of its own for %s, want at least 2 pages and a question", m.ID, pages, questions, role)
			}
		}
		if !m.hasSelfAssessment() {
			t.Errorf("module %s has no self-assessment at its start and end", m.ID)
		}
		if len(m.scenarios) == 0 {
			t.Errorf("module %s has no branching scenario", m.ID)
		}
		if len(m.Questions) < 8 {
			t.Errorf("module %s has %d questions, want at least 8", m.ID, len(m.Questions))
		}
		types := map[string]bool{}
		for _, q := range m.Questions {
			types[q.Type] = true
			// Checks that teach: every question links to the page that
			// teaches it, and every option of a choice says why it is
			// right or wrong.
			if q.Teaches == "" {
				t.Errorf("question %s does not name the page that teaches it (teaches:)", q.ID)
			}
			if q.Type == Choice || q.Type == MultipleChoice {
				for _, ch := range q.Choices {
					if strings.TrimSpace(ch.Feedback) == "" {
						t.Errorf("question %s: choice %s has no feedback of its own", q.ID, ch.ID)
					}
				}
			}
		}
		if len(types) < 3 {
			t.Errorf("module %s uses %d question types, want several (at least 3)", m.ID, len(types))
		}
	}
	if len(empty) > 0 {
		t.Skipf("modules %v have no pages yet", empty)
	}
}

// TestScenarioPathWords checks that a scenario adds the words of one play
// through its longest path to its page, not every branch: for the
// fixture, the title (5), intro (12), the door step with both choices
// (40), "welcome" (6), the tea step (20), "leave" (5) and the ending (15).
func TestScenarioPathWords(t *testing.T) {
	c, err := Load(fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Modules[0].scenarios["fx-s1"]
	if got := s.pathWords(); got != 103 {
		t.Errorf("path words %d, want 103", got)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// characters are the invented people of the course's case studies and
// scenarios. Each may appear in one module only, so that no name stands
// for two different people.
var characters = []string{"Maureen", "Dev", "Sam", "Amira", "Chloe", "Lorraine", "Dennis", "Kieran", "Nia", "Agnes", "Tom", "Rosa",
	"Kwame", "Hannah", "Joseph", "Nadia", "Colin", "Joyce", "Femi", "Rose", "Lucy", "Mo", "Hussain", "Ines", "Grace", "Omar", "Kofi",
	"Frank", "Yusuf", "Bernadette", "Priya", "Shah", "Bea"}

func TestNamesNotReused(t *testing.T) {
	c, err := Load(Sources())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range characters {
		re := regexp.MustCompile(`\b` + name + `\b`)
		var in []string
		for _, m := range c.Modules {
			text := ""
			for _, p := range m.Pages {
				if p.ID == "sources" {
					continue // the sources page names the invented people
				}
				for _, pt := range p.parts {
					text += pt.text + "\n"
				}
			}
			for _, s := range m.scenarios {
				data, _ := fs.ReadFile(Sources(), s.file)
				text += string(data)
			}
			if re.MatchString(text) {
				in = append(in, m.ID)
			}
		}
		if len(in) > 1 {
			t.Errorf("%s appears in modules %v; give each module its own people", name, in)
		}
	}
}

// abbreviations maps each abbreviation the course uses to the start of
// its expansion. At its first use in each module (pages in order, then
// the scenarios placed on them; not the sources page), the expansion must
// stand within 150 characters of it.
var abbreviations = map[string]string{
	"NHS": "National Health Service", "GP": "general practi", "PCN": "Primary Care Network", "ICS": "integrated care system",
	"VCSE": "voluntary, community", "NASP": "National Academy for Social Prescribing", "GLA": "Greater London Authority",
	"DBS": "Disclosure and Barring Service", "OHID": "Office for Health Improvement and Disparities",
	"ARRS": "Additional Roles Reimbursement Scheme", "CHWA": "Culture, Health", "NCCH": "National Centre for Creative Health",
	"APPG": "All-Party Parliamentary Group", "ONS": "Office for National Statistics", "WEMWBS": "Warwick-Edinburgh",
	"RCT": "randomised controlled trial", "UCL": "University College London", "PHE": "Public Health England",
	"ICO": "Information Commissioner", "GDPR": "General Data Protection Regulation", "COPD": "chronic obstructive pulmonary disease",
	"DHSC": "Department of Health and Social Care", "CPD": "continuing professional development",
}

func TestAbbreviationsExpanded(t *testing.T) {
	c, err := Load(Sources())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Modules {
		var b strings.Builder
		for _, p := range m.Pages {
			if p.ID == "sources" {
				continue
			}
			b.WriteString(p.Title + "\n")
			for _, pt := range p.parts {
				// Quoted examples (lines starting with >) may show jargon on
				// purpose, as "before" versions of a text.
				for _, ln := range strings.Split(pt.text, "\n") {
					if !strings.HasPrefix(strings.TrimSpace(ln), ">") {
						b.WriteString(ln + "\n")
					}
				}
				if pt.block != nil && pt.block.name == "scenario" && m.scenarios[pt.block.arg] != nil {
					data, _ := fs.ReadFile(Sources(), m.scenarios[pt.block.arg].file)
					b.Write(data)
				}
			}
		}
		// Pages are wrapped at any width, so compare with whitespace folded.
		text := strings.Join(strings.Fields(b.String()), " ")
		lower := strings.ToLower(text)
		for abbr, long := range abbreviations {
			loc := regexp.MustCompile(`\b` + abbr + `s?\b`).FindStringIndex(text)
			if loc == nil {
				continue
			}
			from, to := max(0, loc[0]-150), min(len(text), loc[1]+150)
			if !strings.Contains(lower[from:to], strings.ToLower(long)) {
				t.Errorf("module %s: %s is used before it is expanded (%q): near %q", m.ID, abbr, long, strings.ReplaceAll(text[max(0, loc[0]-60):min(len(text), loc[1]+60)], "\n", " "))
			}
		}
	}
}
