package course

import (
	"archive/zip"
	"bytes"
	"embed"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/reach-london/reach/internal/errs"
)

//go:embed runtime
var runtimeFS embed.FS

// zipTime is every entry's modification time, fixed so that the same
// sources and options always give the same bytes.
var zipTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

var pageTemplate = template.Must(template.New("au.html").ParseFS(runtimeFS, "runtime/au.html"))

// AUIRI is the stable activity IRI of a module's AU.
func (c *Course) AUIRI(m *Module) string { return c.ID + "/" + m.ID }

// AUPath is the path of the module's launch page inside the package.
func AUPath(m *Module) string { return m.ID + "/index.html" }

// Build writes the cmi5 package (a zip) for c, with the borough's slots
// from opts, to w. The output depends only on c and opts.
func Build(w io.Writer, c *Course, opts BuildOptions) error {
	if err := opts.Slots.validate(); err != nil {
		return err
	}
	files := map[string][]byte{}
	for _, name := range []string{"au.js", "au.css"} {
		data, err := runtimeFS.ReadFile("runtime/" + name)
		if err != nil {
			return errs.Wrap(errs.Internal, err, "reading the runtime")
		}
		files["runtime/"+name] = data
	}
	b := opts.Slots.Branding
	theme := "/* The borough's colours. */\n"
	if b.PrimaryColour != "" {
		theme += ":root { --brand: " + strings.ToLower(b.PrimaryColour) + "; }\n"
	}
	files["theme.css"] = []byte(theme)
	logo := b.LogoURL
	if len(b.Logo) > 0 {
		logo = "brand/logo." + logoTypes[b.LogoType]
		files[logo] = b.Logo
		logo = "../" + logo
	}
	for i, m := range c.Modules {
		page, data, err := buildAU(c, m, i, opts.Slots, logo)
		if err != nil {
			return err
		}
		files[AUPath(m)] = page
		files[m.ID+"/au.json"] = data
		for _, p := range m.Pages {
			for _, pt := range p.parts {
				if pt.block != nil && pt.block.figure != nil {
					files[m.ID+"/images/"+pt.block.figure.file] = pt.block.figure.data
				}
			}
		}
	}
	files["cmi5.xml"] = courseStructure(c, opts.Slots.borough())
	est, err := estimatesJSON(c)
	if err != nil {
		return err
	}
	files["estimates.json"] = est
	return writeZip(w, files)
}

// BuildFile builds the package from the embedded sources into the file at
// path. It writes to a temporary file first, so a failed build leaves any
// existing file untouched.
func BuildFile(path string, opts BuildOptions) error {
	c, err := Embedded()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".course-*.zip")
	if err != nil {
		return errs.Wrap(errs.Invalid, err, "cannot write beside %s", path)
	}
	defer os.Remove(tmp.Name())
	if err := Build(tmp, c, opts); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return errs.Wrap(errs.Internal, err, "writing %s", path)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return errs.Wrap(errs.Internal, err, "writing %s", path)
	}
	return nil
}

func writeZip(w io.Writer, files map[string][]byte) error {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	zw := zip.NewWriter(w)
	for _, n := range names {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate, Modified: zipTime})
		if err != nil {
			return errs.Wrap(errs.Internal, err, "writing the package")
		}
		if _, err := fw.Write(files[n]); err != nil {
			return errs.Wrap(errs.Internal, err, "writing the package")
		}
	}
	if err := zw.Close(); err != nil {
		return errs.Wrap(errs.Internal, err, "writing the package")
	}
	return nil
}

// pageView is what the page template needs of one page.
type pageView struct {
	ID, Title, IRI string
	Roles          string // space-separated; empty for everyone
	RoleLabel      string
	First          bool
	Body           template.HTML
}

type auView struct {
	Lang, CourseTitle, ModuleTitle, Borough string
	ModuleNumber, ModuleCount               int
	Logo, LogoAlt                           string
	Pages                                   []pageView
	Roles                                   []roleView
}

type roleView struct{ ID, Label string }

// auData is the AU's JSON data file: what the runtime needs to track the
// learner (IRIs, the learner's path, questions as xAPI interactions).
type auData struct {
	CourseID     string         `json:"courseId"`
	ModuleID     string         `json:"moduleId"`
	AUIRI        string         `json:"auIri"`
	Title        string         `json:"title"`
	MasteryScore *float64       `json:"masteryScore"`
	MoveOn       string         `json:"moveOn"`
	Pages        []pageData     `json:"pages"`
	Questions    []questionData `json:"questions"`
	Reflections  []string       `json:"reflections"`
	Scenarios    []scenarioData `json:"scenarios"`
	// SelfAssessment is set when the module asks for confidence ratings.
	SelfAssessment *selfAssessmentData `json:"selfAssessment,omitempty"`
	Drafts         map[string]any      `json:"drafts"`
	Roles          map[string]string   `json:"roles"`
	Outcomes       []string            `json:"outcomes"`
	Borough        string              `json:"borough"`
	Verbs          map[string]string   `json:"verbs"`
	Extensions     map[string]string   `json:"extensions"`
	Meta           auMeta              `json:"meta"`
}

// auMeta is the module's study-time estimate: of every page, and of each
// role's path (what a learner of that role is asked to read and do).
type auMeta struct {
	Estimate Estimate            `json:"estimate"`
	ByRole   map[string]Estimate `json:"byRole"`
}

type pageData struct {
	ID    string   `json:"id"`
	Title string   `json:"title"`
	IRI   string   `json:"iri"`
	Roles []string `json:"roles"`
}

type questionData struct {
	ID         string      `json:"id"`
	IRI        string      `json:"iri"`
	Type       string      `json:"type"`
	Correct    []string    `json:"correct"`
	Pairs      [][]string  `json:"pairs,omitempty"`
	Feedback   Feedback    `json:"feedback"`
	Definition Interaction `json:"definition"`
	// Options is the feedback for each choice id, when the writers gave it.
	Options map[string]string `json:"options,omitempty"`
	Answer  string            `json:"answer"` // the right answer in words
	Why     string            `json:"why"`    // why it is right
	Teaches *pageRef          `json:"teaches,omitempty"`
	// Roles are the roles of the page that shows the question: empty when
	// it is on every path; otherwise only those roles' scores count it.
	Roles []string `json:"roles"`
}

// pageRef names a page of the module for a link.
type pageRef struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

func buildAU(c *Course, m *Module, index int, slots Slots, logo string) (page, data []byte, err error) {
	borough := slots.borough()
	r := &renderer{c: c, m: m, slots: slots, borough: borough}
	au := c.AUIRI(m)
	v := auView{Lang: "en-GB", CourseTitle: c.Title, ModuleTitle: subst(m.Title, borough), Borough: borough,
		ModuleNumber: index + 1, ModuleCount: len(c.Modules), Logo: logo}
	if logo != "" {
		v.LogoAlt = slots.Branding.LogoAlt
		if v.LogoAlt == "" {
			v.LogoAlt = borough + " logo"
		}
	}
	for _, id := range Roles {
		v.Roles = append(v.Roles, roleView{id, roleLabels[id]})
	}
	d := auData{CourseID: c.ID, ModuleID: m.ID, AUIRI: au, Title: subst(m.Title, borough), MasteryScore: m.MasteryScore,
		MoveOn: m.MoveOn, Roles: roleLabels, Outcomes: m.Outcomes, Borough: borough, Drafts: map[string]any{},
		Verbs: verbs, Extensions: map[string]string{"sessionId": "https://w3id.org/xapi/cmi5/context/extensions/sessionid", "masteryScore": "https://w3id.org/xapi/cmi5/context/extensions/masteryscore"},
		Meta: auMeta{Estimate: m.Estimate(), ByRole: m.Estimates()}}
	hasReflections := false
	for _, p := range m.Pages {
		for _, pt := range p.parts {
			if pt.block == nil {
				continue
			}
			switch pt.block.name {
			case "reflection":
				d.Reflections = append(d.Reflections, pt.block.arg)
			case "reflections":
				hasReflections = true
			case "offer-builder":
				d.Drafts["offer"] = map[string]any{"iri": au + "/offer-builder", "title": "Your offer", "fields": offerFields}
			case "action-plan":
				d.Drafts["plan"] = map[string]any{"iri": au + "/action-plan", "title": "Your action plan", "fields": planFields}
			}
		}
	}
	for i, p := range m.Pages {
		title := subst(p.Title, borough)
		body := r.page(p)
		// Reflections are shown back on the summary page (or the last page)
		// unless the writers placed a :::reflections block themselves.
		if !hasReflections && len(d.Reflections) > 0 && (p.ID == "summary" || (i == len(m.Pages)-1 && !hasPage(m, "summary"))) {
			body += r.reflections(2)
		}
		pv := pageView{ID: p.ID, Title: title, IRI: au + "/pages/" + p.ID, Roles: strings.Join(p.Roles, " "), First: i == 0,
			Body: template.HTML(strings.ReplaceAll(body, "{{borough}}", esc(borough)))}
		var labels []string
		for _, role := range p.Roles {
			labels = append(labels, roleNoteFor[role])
		}
		pv.RoleLabel = strings.Join(labels, " and ")
		v.Pages = append(v.Pages, pv)
		d.Pages = append(d.Pages, pageData{ID: p.ID, Title: title, IRI: pv.IRI, Roles: p.Roles})
	}
	if d.Reflections == nil {
		d.Reflections = []string{}
	}
	d.SelfAssessment = selfAssessment(au, m, borough)
	d.Scenarios = []scenarioData{}
	for _, p := range m.Pages {
		for _, pt := range p.parts {
			if pt.block != nil && pt.block.name == "scenario" && m.scenarios[pt.block.arg] != nil {
				d.Scenarios = append(d.Scenarios, m.scenarios[pt.block.arg].data(au, borough))
			}
		}
	}
	for _, q := range m.Questions {
		qd := questionData{ID: q.ID, IRI: au + "/questions/" + q.ID, Type: q.Type, Correct: q.Correct,
			Feedback:   Feedback{Correct: subst(q.Feedback.Correct, borough), Incorrect: subst(q.Feedback.Incorrect, borough)},
			Definition: q.Interaction(borough), Answer: q.AnswerText(borough), Why: q.Why(borough)}
		for _, c := range q.Choices {
			if c.Feedback != "" {
				if qd.Options == nil {
					qd.Options = map[string]string{}
				}
				qd.Options[c.ID] = subst(c.Feedback, borough)
			}
		}
		qd.Roles = []string{}
		for _, p := range m.Pages {
			if slices.Contains(p.QuestionIDs, q.ID) && len(p.Roles) > 0 {
				qd.Roles = p.Roles
			}
		}
		for _, p := range m.Pages {
			if p.ID == q.Teaches {
				qd.Teaches = &pageRef{ID: p.ID, Title: subst(p.Title, borough)}
			}
		}
		if q.Pairs != nil {
			qd.Pairs = q.Pairs.Correct
		}
		d.Questions = append(d.Questions, qd)
	}
	if d.Questions == nil {
		d.Questions = []questionData{}
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, v); err != nil {
		return nil, nil, errs.Wrap(errs.Internal, err, "rendering module %s", m.ID)
	}
	data, err = json.MarshalIndent(d, "", " ")
	if err != nil {
		return nil, nil, errs.Wrap(errs.Internal, err, "encoding module %s data", m.ID)
	}
	return buf.Bytes(), data, nil
}

func hasPage(m *Module, id string) bool {
	for _, p := range m.Pages {
		if p.ID == id {
			return true
		}
	}
	return false
}

// verbs are the xAPI verbs the runtime sends.
var verbs = map[string]string{
	"initialized": "http://adlnet.gov/expapi/verbs/initialized",
	"terminated":  "http://adlnet.gov/expapi/verbs/terminated",
	"completed":   "http://adlnet.gov/expapi/verbs/completed",
	"passed":      "http://adlnet.gov/expapi/verbs/passed",
	"failed":      "http://adlnet.gov/expapi/verbs/failed",
	"experienced": "http://adlnet.gov/expapi/verbs/experienced",
	"answered":    "http://adlnet.gov/expapi/verbs/answered",
	"responded":   "http://adlnet.gov/expapi/verbs/responded",
	"updated":     "http://id.tincanapi.com/verb/updated",
}

// courseStructure writes cmi5.xml: one AU per module, straight under the
// course (a block would add nothing for four modules taken in any order).
func courseStructure(c *Course, borough string) []byte {
	var b strings.Builder
	x := func(s string) string {
		var buf bytes.Buffer
		xml.EscapeText(&buf, []byte(s))
		return buf.String()
	}
	text := func(indent, el, s string) {
		fmt.Fprintf(&b, "%s<%s><langstring lang=\"en-GB\">%s</langstring></%s>\n", indent, el, x(s), el)
	}
	b.WriteString(xml.Header)
	b.WriteString("<courseStructure xmlns=\"https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd\">\n")
	fmt.Fprintf(&b, "  <course id=\"%s\">\n", x(c.ID))
	text("    ", "title", subst(c.Title, borough))
	text("    ", "description", subst(c.Description, borough))
	b.WriteString("  </course>\n")
	for _, m := range c.Modules {
		fmt.Fprintf(&b, "  <au id=\"%s\" moveOn=\"%s\"", x(c.AUIRI(m)), m.MoveOn)
		if m.MasteryScore != nil {
			fmt.Fprintf(&b, " masteryScore=\"%s\"", strconv.FormatFloat(*m.MasteryScore, 'f', -1, 64))
		}
		b.WriteString(" launchMethod=\"AnyWindow\">\n")
		text("    ", "title", subst(m.Title, borough))
		text("    ", "description", subst(m.Description, borough))
		fmt.Fprintf(&b, "    <url>%s</url>\n", x(AUPath(m)))
		b.WriteString("  </au>\n")
	}
	b.WriteString("</courseStructure>\n")
	return []byte(b.String())
}

// EstimatesFile is estimates.json at the package root: each AU's study
// time for each role's path, for the server to show on the dashboard.
type EstimatesFile struct {
	Course  string           `json:"course"`
	Modules []ModuleEstimate `json:"modules"`
}

// ModuleEstimate is one AU's estimates in estimates.json.
type ModuleEstimate struct {
	AU      string         `json:"au"` // the AU's publisher id in cmi5.xml
	Module  string         `json:"module"`
	Minutes map[string]int `json:"minutes"` // by role id: artist, linkworker, gp, other
	Words   map[string]int `json:"words"`
}

func estimatesJSON(c *Course) ([]byte, error) {
	f := EstimatesFile{Course: c.ID}
	for _, m := range c.Modules {
		me := ModuleEstimate{AU: c.AUIRI(m), Module: m.ID, Minutes: map[string]int{}, Words: map[string]int{}}
		for r, e := range m.Estimates() {
			me.Minutes[r], me.Words[r] = e.Minutes, e.Words
		}
		f.Modules = append(f.Modules, me)
	}
	data, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "encoding estimates.json")
	}
	return data, nil
}
