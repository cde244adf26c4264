package manifest

import (
	"strings"
	"testing"
)

func f(v float64) *float64 { return &v }

func TestParseGood(t *testing.T) {
	type want struct {
		typ             Type
		courseID, title string
		aus             []AU // compared on ID, Kind, LaunchURL, MoveOn, MasteryScore and the fields set
		blocks          int
	}
	tests := []struct {
		name, file, data string
		want             want
	}{
		{"storyline scorm 1.2", SCORMFile, storyline12, want{TypeSCORM12, "Storyline_6a1b2c3d", "Safe Referrals",
			[]AU{{ID: "Storyline_SCO", Kind: KindSCO, LaunchURL: "index_lms.html", MoveOn: MoveOnCompletedOrPassed, MasteryScore: f(0.8)}}, 0}},
		{"storyline scorm 2004 4th", SCORMFile, storyline2004v4, want{TypeSCORM2004v4, "Storyline_4th", "Boundaries at Work",
			[]AU{{ID: "SCO1", Kind: KindSCO, LaunchURL: "index_lms.html", MoveOn: MoveOnCompletedOrPassed, MasteryScore: f(0.75), CompletionThreshold: f(0.9)}}, 0}},
		{"rise scorm 1.2", SCORMFile, rise12, want{TypeSCORM12, "rise-course-ab12", "Plain Language Offers",
			[]AU{{ID: "item_1", Kind: KindSCO, LaunchURL: "scormdriver/indexAPI.html", MoveOn: MoveOnCompletedOrPassed}}, 0}},
		{"captivate scorm 2004 3rd", SCORMFile, captivate2004v3, want{TypeSCORM2004v3, "Course_ID1_ORG", "Link Worker Basics",
			[]AU{{ID: "SCO_ID1", Kind: KindSCO, LaunchURL: "index_scorm.html?lang=en", MoveOn: MoveOnCompletedOrPassed,
				CompletionThreshold: f(0.8), LaunchParameters: "mode=review"}}, 0}},
		{"ispring multi-sco 2004 2nd", SCORMFile, ispring2004v2, want{TypeSCORM2004v2, "ispring_3f9a", "Working Across Sectors",
			[]AU{
				{ID: "sco1", Kind: KindSCO, LaunchURL: "content/one/index.html?page=1", MoveOn: MoveOnCompletedOrPassed},
				{ID: "sco2", Kind: KindSCO, LaunchURL: "content/two/My%20Slides.html", MoveOn: MoveOnCompletedOrPassed},
				{ID: "sco3", Kind: KindAsset, LaunchURL: "content/glossary.pdf", MoveOn: MoveOnNotApplicable, Hidden: true},
			}, 1}},
		{"adapt scorm 1.2 without metadata", SCORMFile, adapt12, want{TypeSCORM12, "adapt_manifest", "Co-design Basics",
			[]AU{{ID: "adapt_item", Kind: KindSCO, LaunchURL: "index.html", MoveOn: MoveOnCompletedOrPassed, MasteryScore: f(0.755),
				LaunchParameters: "lang=en", Prerequisites: "intro", MaxTimeAllowed: "02:00:00", TimeLimitAction: "continue,no message"}}, 0}},
		{"elucidat scorm 2004 3rd with parameters", SCORMFile, elucidat2004v3, want{TypeSCORM2004v3, "elucidat_5e1", "Evaluation",
			[]AU{{ID: "i1", Kind: KindSCO, LaunchURL: "launch.html?release=3&mode=normal#start", MoveOn: MoveOnCompletedOrPassed}}, 0}},
		{"storyline cmi5", CMI5File, storylineCMI5, want{TypeCMI5, "https://example.org/courses/safe-referrals", "Safe Referrals",
			[]AU{{ID: "https://example.org/courses/safe-referrals/au", Kind: KindAU, LaunchURL: "index_lms.html", MoveOn: MoveOnCompletedOrPassed,
				MasteryScore: f(0.8), LaunchParameters: `{"resume":true}`, Title: "Safe Referrals (UK)"}}, 0}},
		{"cmi5 blocks in order", CMI5File, blocksCMI5, want{TypeCMI5, "https://example.org/c", "Course",
			[]AU{
				{ID: "https://example.org/c/intro", Kind: KindAU, LaunchURL: "intro/index.html", MoveOn: MoveOnNotApplicable},
				{ID: "https://example.org/c/b1/a", Kind: KindAU, LaunchURL: "b1/a.html?x=1", MoveOn: MoveOnPassed, LaunchMethod: LaunchMethodOwnWindow},
				{ID: "https://example.org/c/b1/inner/b", Kind: KindAU, LaunchURL: "https://cdn.example.org/b.html", MoveOn: MoveOnNotApplicable, External: true},
				{ID: "https://example.org/c/outro", Kind: KindAU, LaunchURL: "outro.html", MoveOn: MoveOnNotApplicable},
			}, 1}},
		{"storyline tincan", TinCanFile, storylineTinCan, want{TypeXAPI, "http://example.org/xapi/6Xk2", "Communicating Offers",
			[]AU{{ID: "http://example.org/xapi/6Xk2", Kind: KindActivity, LaunchURL: "story.html", MoveOn: MoveOnCompleted}}, 0}},
		{"rise tincan latin-1", TinCanFile, riseTinCan, want{TypeXAPI, "urn:uuid:1a2b", "Café Conversations",
			[]AU{{ID: "urn:uuid:1a2b", Kind: KindActivity, LaunchURL: "index.html", MoveOn: MoveOnCompleted}}, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(tt.file, []byte(tt.data))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if m.Type != tt.want.typ || m.Course.ID != tt.want.courseID || m.Course.Title != tt.want.title {
				t.Errorf("got type %q id %q title %q; want %q %q %q", m.Type, m.Course.ID, m.Course.Title, tt.want.typ, tt.want.courseID, tt.want.title)
			}
			if len(m.Course.Blocks) != tt.want.blocks {
				t.Errorf("got %d top-level blocks, want %d", len(m.Course.Blocks), tt.want.blocks)
			}
			aus := m.Course.AllAUs()
			if len(aus) != len(tt.want.aus) {
				t.Fatalf("got %d AUs %+v, want %d", len(aus), aus, len(tt.want.aus))
			}
			for i, w := range tt.want.aus {
				g := aus[i]
				if g.ID != w.ID || g.Kind != w.Kind || g.LaunchURL != w.LaunchURL || g.MoveOn != w.MoveOn || g.External != w.External || g.Hidden != w.Hidden {
					t.Errorf("AU %d: got %+v\nwant %+v", i, g, w)
				}
				if !eqf(g.MasteryScore, w.MasteryScore) || !eqf(g.CompletionThreshold, w.CompletionThreshold) {
					t.Errorf("AU %d: mastery %v threshold %v, want %v %v", i, deref(g.MasteryScore), deref(g.CompletionThreshold), deref(w.MasteryScore), deref(w.CompletionThreshold))
				}
				if w.LaunchParameters != "" && g.LaunchParameters != w.LaunchParameters {
					t.Errorf("AU %d: launch parameters %q, want %q", i, g.LaunchParameters, w.LaunchParameters)
				}
				if w.Title != "" && g.Title != w.Title {
					t.Errorf("AU %d: title %q, want %q", i, g.Title, w.Title)
				}
				if w.LaunchMethod != "" && g.LaunchMethod != w.LaunchMethod {
					t.Errorf("AU %d: launch method %q, want %q", i, g.LaunchMethod, w.LaunchMethod)
				}
				for _, fld := range []struct{ g, w string }{{g.Prerequisites, w.Prerequisites}, {g.MaxTimeAllowed, w.MaxTimeAllowed}, {g.TimeLimitAction, w.TimeLimitAction}} {
					if fld.g != fld.w {
						t.Errorf("AU %d: adlcp field %q, want %q", i, fld.g, fld.w)
					}
				}
				if lp, err := LaunchPath(g); err != nil || (!g.External && lp == "") {
					t.Errorf("AU %d: LaunchPath = %q, %v", i, lp, err)
				}
			}
		})
	}
}

func TestSequencing(t *testing.T) {
	m, err := ParseSCORM([]byte(storyline2004v4))
	if err != nil {
		t.Fatal(err)
	}
	s := m.Course.AUs[0].Sequencing
	if s == nil || s.AttemptLimit != 3 || s.AttemptDuration != "PT2H" || s.TrackedCompletion == nil || !*s.TrackedCompletion {
		t.Fatalf("sequencing = %+v", s)
	}
	if got, _ := LaunchPath(AU{LaunchURL: "content/two/My%20Slides.html"}); got != "content/two/My Slides.html" {
		t.Errorf("LaunchPath decodes escapes: got %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	scorm := func(item, res string) string {
		return `<manifest identifier="m" xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2"><metadata><schemaversion>1.2</schemaversion></metadata>
<organizations><organization identifier="o"><title>T</title>` + item + `</organization></organizations><resources>` + res + `</resources></manifest>`
	}
	goodRes := `<resource identifier="r" type="webcontent" adlcp:scormtype="sco" href="index.html"/>`
	tests := []struct{ name, file, data, want string }{
		{"not xml", CMI5File, "PK\x03\x04 binary", "cmi5.xml: not well-formed XML"},
		{"empty", SCORMFile, "", "imsmanifest.xml: no root element"},
		{"wrong root", CMI5File, "<manifest/>", "root element is <manifest>"},
		{"scorm bad version", SCORMFile, strings.Replace(scorm(`<item identifier="i" identifierref="r"/>`, goodRes), ">1.2<", ">2.0<", 1), `<schemaversion>: "2.0" is not a SCORM version`},
		{"scorm no version", SCORMFile, `<manifest identifier="m"><organizations/><resources/></manifest>`, "no <metadata><schemaversion>"},
		{"scorm no organization", SCORMFile, strings.Replace(scorm("", goodRes), `<organization identifier="o"><title>T</title></organization>`, "", 1), "has no <organization>"},
		{"scorm bad default", SCORMFile, strings.Replace(scorm(`<item identifier="i" identifierref="r"/>`, goodRes), "<organizations>", `<organizations default="x">`, 1), `<organizations default="x">: names no <organization>`},
		{"scorm dangling ref", SCORMFile, scorm(`<item identifier="i" identifierref="nope"/>`, goodRes), `<item identifier="i">: attribute identifierref "nope" names no <resource>`},
		{"scorm no href", SCORMFile, scorm(`<item identifier="i" identifierref="r"/>`, `<resource identifier="r" adlcp:scormtype="sco"/>`), `<resource identifier="r">: has no href`},
		{"scorm bad scormtype", SCORMFile, scorm(`<item identifier="i" identifierref="r"/>`, `<resource identifier="r" adlcp:scormtype="page" href="a.html"/>`), `adlcp:scormType "page" is not sco or asset`},
		{"scorm mastery 150", SCORMFile, scorm(`<item identifier="i" identifierref="r"><adlcp:masteryscore>150</adlcp:masteryscore></item>`, goodRes), `"150" must be a number from 0 to 100`},
		{"scorm duplicate item", SCORMFile, scorm(`<item identifier="i" identifierref="r"/><item identifier="i" identifierref="r"/>`, goodRes), `<item identifier="i">: identifier is used by another <item>`},
		{"scorm traversal href", SCORMFile, scorm(`<item identifier="i" identifierref="r"/>`, `<resource identifier="r" adlcp:scormtype="sco" href="../x.html"/>`), "points outside the package"},
		{"scorm url href", SCORMFile, scorm(`<item identifier="i" identifierref="r"/>`, `<resource identifier="r" adlcp:scormtype="sco" href="javascript:alert(1)"/>`), `scheme "javascript"`},
		{"scorm nothing to launch", SCORMFile, scorm(`<item identifier="i"/>`, goodRes), "has no <item> that references a resource"},
		{"scorm bad isvisible", SCORMFile, scorm(`<item identifier="i" identifierref="r" isvisible="maybe"/>`, goodRes), `isvisible "maybe"`},
		{"tincan no launch", TinCanFile, `<tincan><activities><activity id="http://e.org/a"><name>A</name></activity></activities></tincan>`, "nothing to launch"},
		{"tincan launch javascript", TinCanFile, `<tincan><activities><activity id="http://e.org/a"><launch>javascript:alert(1)</launch></activity></activities></tincan>`, `scheme "javascript"`},
		{"tincan no activities", TinCanFile, `<tincan/>`, "has no <activities><activity>"},
		{"tincan bad id", TinCanFile, `<tincan><activities><activity id="a b"><launch>x.html</launch></activity></activities></tincan>`, "is not an IRI"},
		{"unsupported encoding", TinCanFile, `<?xml version="1.0" encoding="EBCDIC"?><tincan/>`, "not well-formed XML"},
		{"too deep", CMI5File, strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100), "nested deeper than 64"},
		{"unknown manifest", "course.json", "{}", "not a manifest Reach knows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.file, []byte(tt.data))
			if err == nil {
				t.Fatalf("want error containing %q, got none", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		files []string
		want  string
	}{
		{[]string{"imsmanifest.xml", "cmi5.xml"}, CMI5File},
		{[]string{"tincan.xml", "imsmanifest.xml"}, SCORMFile},
		{[]string{"tincan.xml"}, TinCanFile},
		{[]string{"course/imsmanifest.xml"}, ""},
	}
	for _, tt := range tests {
		has := func(n string) bool {
			for _, f := range tt.files {
				if f == n {
					return true
				}
			}
			return false
		}
		if got := Detect(has); got != tt.want {
			t.Errorf("Detect(%v) = %q, want %q", tt.files, got, tt.want)
		}
	}
}

func TestAppendParameters(t *testing.T) {
	tests := []struct{ launch, params, want string }{
		{"a.html", "?x=1", "a.html?x=1"},
		{"a.html?y=2", "&x=1", "a.html?y=2&x=1"},
		{"a.html#f", "x=1", "a.html?x=1#f"},
		{"a.html", "#frag", "a.html#frag"},
		{"a.html#f", "#frag", "a.html#f"},
	}
	for _, tt := range tests {
		if got := appendParameters(tt.launch, tt.params); got != tt.want {
			t.Errorf("appendParameters(%q, %q) = %q, want %q", tt.launch, tt.params, got, tt.want)
		}
	}
}

func eqf(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	d := *a - *b
	return d < 1e-9 && d > -1e-9
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{storyline12, storyline2004v4, rise12, captivate2004v3, ispring2004v2, adapt12, elucidat2004v3} {
		f.Add(uint8(1), []byte(s))
	}
	f.Add(uint8(0), []byte(storylineCMI5))
	f.Add(uint8(0), []byte(blocksCMI5))
	f.Add(uint8(2), []byte(storylineTinCan))
	f.Add(uint8(2), []byte(riseTinCan))
	names := []string{CMI5File, SCORMFile, TinCanFile}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		m, err := Parse(names[int(which)%3], data)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not *manifest.Error: %v", err, err)
			}
			return
		}
		// Whatever parses must be launchable inside the package.
		aus := m.Course.AllAUs()
		if len(aus) == 0 || m.Course.ID == "" || !m.Type.Valid() {
			t.Fatalf("parsed a course without AUs, id or type: %+v", m)
		}
		for _, au := range aus {
			p, err := LaunchPath(au)
			if err != nil {
				t.Fatalf("AU %q launch URL %q: %v", au.ID, au.LaunchURL, err)
			}
			if !au.External && (p == "" || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "..") || strings.Contains(p, `\`)) {
				t.Fatalf("AU %q launch path %q escapes the package", au.ID, p)
			}
		}
	})
}

func TestTinCanExternalLaunch(t *testing.T) {
	m, err := ParseTinCan([]byte(`<tincan><activities><activity id="http://e.org/a"><name>A</name><launch>https://cdn.example.org/a/index.html</launch></activity></activities></tincan>`))
	if err != nil {
		t.Fatal(err)
	}
	if au := m.Course.AUs[0]; !au.External || au.LaunchURL != "https://cdn.example.org/a/index.html" {
		t.Fatalf("external launch: %+v", au)
	}
}

func TestSCORMLenientDefaults(t *testing.T) {
	m, err := ParseSCORM([]byte(`<manifest xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2"><metadata><schemaversion>1.2</schemaversion></metadata>
<organizations><organization identifier="org1"><title>T</title><item identifier="i" identifierref="r"/></organization></organizations>
<resources><resource identifier="r" href="index.html"/></resources></manifest>`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Course.ID != "org1" || m.Course.AUs[0].Kind != KindSCO {
		t.Fatalf("defaults: id %q kind %q", m.Course.ID, m.Course.AUs[0].Kind)
	}
}
