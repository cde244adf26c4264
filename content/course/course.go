// Package course loads the course sources (course.yaml, modules with
// Markdown pages and questions.yaml, as described in SOURCES-FORMAT.md),
// validates them, estimates study time, and builds the cmi5 package whose
// AUs run the project's own runtime script in the learner's browser.
package course

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/reach-london/reach/internal/errs"
)

// Roles a learner can choose, in the order the role question lists them.
var Roles = []string{"artist", "linkworker", "gp", "other"}

// roleLabels name each group for learners.
var roleLabels = map[string]string{
	"artist":     "Artists and arts organisations",
	"linkworker": "Social prescribing link workers",
	"gp":         "GPs and primary-care staff",
	"other":      "Everyone else",
}

// moveOnValues are the cmi5 moveOn criteria a module may use.
var moveOnValues = []string{"NotApplicable", "Passed", "Completed", "CompletedAndPassed", "CompletedOrPassed"}

var (
	idPattern  = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	iriPattern = regexp.MustCompile(`^https?://[^\s/]+(/[^\s]*)?$`)
)

// Course is the whole course as loaded from its sources.
type Course struct {
	ID          string
	Title       string
	Description string
	Modules     []*Module
}

// Module is one module, which becomes one cmi5 AU.
type Module struct {
	Dir          string   // folder name under modules/, e.g. "1-landscape"
	ID           string   // stable slug from module.yaml
	Title        string   // shown in the menu and the AU's header
	Description  string   // one or two sentences for the menu
	MasteryScore *float64 // share of questions to answer right to pass; nil when not assessed
	MoveOn       string   // cmi5 moveOn
	Outcomes     []string // learning outcomes
	Pages        []*Page
	Questions    []*Question // in the order the pages list them

	scenarios map[string]*Scenario // by id, from the scenarios folder
}

// Page is one page of a module.
type Page struct {
	File            string   // path inside the sources, for messages
	ID              string   // stable slug, unique in the module
	Title           string   // the page's h1
	Roles           []string // nil for everyone; otherwise the role path it belongs to
	ActivityMinutes int
	QuestionIDs     []string
	Words           int // learner-facing words (title and body text)

	parts    []part // the body split into Markdown and blocks
	hasCheck bool
}

// ForAll reports whether the page is on every learner's path.
func (p *Page) ForAll() bool { return len(p.Roles) == 0 }

// courseFile is course.yaml.
type courseFile struct {
	ID          string   `yaml:"id"`
	Title       string   `yaml:"title"`
	Description string   `yaml:"description"`
	Modules     []string `yaml:"modules"`
}

// moduleFile is module.yaml.
type moduleFile struct {
	ID           string   `yaml:"id"`
	Title        string   `yaml:"title"`
	Description  string   `yaml:"description"`
	MasteryScore *float64 `yaml:"masteryScore"`
	MoveOn       string   `yaml:"moveOn"`
	Outcomes     []string `yaml:"outcomes"`
}

// frontMatter is a page's YAML header.
type frontMatter struct {
	ID              string   `yaml:"id"`
	Title           string   `yaml:"title"`
	Roles           []string `yaml:"roles"`
	ActivityMinutes int      `yaml:"activityMinutes"`
	Questions       []string `yaml:"questions"`
}

// problems collects every validation problem so a writer sees them all at
// once rather than one per build.
type problems struct{ list []string }

func (p *problems) add(file string, line int, format string, args ...any) {
	where := file
	if line > 0 {
		where = fmt.Sprintf("%s:%d", file, line)
	}
	p.list = append(p.list, where+": "+fmt.Sprintf(format, args...))
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return errs.E(errs.Invalid, "course sources have %d problem(s):\n%s", len(p.list), strings.Join(p.list, "\n"))
}

// Load reads and validates the course sources in fsys (course.yaml at the
// root, modules/ beside it). All problems are reported together, each
// naming its file and line.
func Load(fsys fs.FS) (*Course, error) {
	var pr problems
	var cf courseFile
	if !decodeFile(fsys, "course.yaml", &cf, &pr) {
		return nil, pr.err()
	}
	c := &Course{ID: strings.TrimRight(cf.ID, "/"), Title: strings.TrimSpace(cf.Title), Description: strings.TrimSpace(cf.Description)}
	if !iriPattern.MatchString(c.ID) {
		pr.add("course.yaml", 0, "id %q must be an http(s) IRI", cf.ID)
	}
	if c.Title == "" {
		pr.add("course.yaml", 0, "title is required")
	}
	if c.Description == "" {
		pr.add("course.yaml", 0, "description is required")
	}
	if len(cf.Modules) == 0 {
		pr.add("course.yaml", 0, "modules must list at least one module folder")
	}
	moduleIDs := map[string]string{}
	questionIDs := map[string]string{}
	reflectionIDs := map[string]string{}
	for _, dir := range cf.Modules {
		if dir == "" || strings.ContainsAny(dir, `/\`) || dir == "." || dir == ".." {
			pr.add("course.yaml", 0, "module folder %q must be a plain folder name", dir)
			continue
		}
		m := loadModule(fsys, dir, &pr, questionIDs, reflectionIDs)
		if m == nil {
			continue
		}
		if prev, dup := moduleIDs[m.ID]; dup && m.ID != "" {
			pr.add(path.Join("modules", dir, "module.yaml"), 0, "module id %q is already used by modules/%s", m.ID, prev)
		}
		moduleIDs[m.ID] = dir
		c.Modules = append(c.Modules, m)
	}
	if err := pr.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// decodeFile strictly decodes a YAML file, reporting unknown fields with
// their line.
func decodeFile(fsys fs.FS, name string, v any, pr *problems) bool {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		pr.add(name, 0, "cannot read: %v", err)
		return false
	}
	return decodeYAML(data, name, 0, v, pr)
}

func decodeYAML(data []byte, name string, lineOffset int, v any, pr *problems) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		msg := yamlError(err, lineOffset)
		line := 0
		// Put a single-line error's line number where editors look for it.
		if m := leadingLine.FindStringSubmatch(msg); m != nil {
			fmt.Sscanf(m[1], "%d", &line)
			msg = msg[len(m[0]):]
		}
		pr.add(name, line, "%s", msg)
		return false
	}
	return true
}

var (
	yamlLine    = regexp.MustCompile(`line (\d+)`)
	leadingLine = regexp.MustCompile(`^line (\d+): `)
)

// yamlError shifts the line numbers in a YAML error by lineOffset so that
// errors in front matter point at the right line of the page file.
func yamlError(err error, lineOffset int) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	// A single unmarshal error reads better on one line.
	if rest, ok := strings.CutPrefix(msg, "unmarshal errors:\n  "); ok && !strings.Contains(rest, "\n") {
		msg = rest
	}
	if strings.Contains(msg, "did not find expected ',' or '}'") {
		msg += " (a colon inside {id: ..., text: ...} ends the text: put the text in double quotes)"
	}
	if lineOffset == 0 {
		return msg
	}
	return yamlLine.ReplaceAllStringFunc(msg, func(s string) string {
		var n int
		fmt.Sscanf(s, "line %d", &n)
		return fmt.Sprintf("line %d", n+lineOffset)
	})
}

func loadModule(fsys fs.FS, dir string, pr *problems, questionIDs, reflectionIDs map[string]string) *Module {
	base := path.Join("modules", dir)
	mfName := path.Join(base, "module.yaml")
	var mf moduleFile
	if !decodeFile(fsys, mfName, &mf, pr) {
		return nil
	}
	m := &Module{Dir: dir, ID: mf.ID, Title: strings.TrimSpace(mf.Title), Description: strings.TrimSpace(mf.Description),
		MasteryScore: mf.MasteryScore, MoveOn: mf.MoveOn, Outcomes: mf.Outcomes}
	if !idPattern.MatchString(m.ID) {
		pr.add(mfName, 0, "id %q must be a lowercase slug such as \"landscape\"", m.ID)
	}
	if m.Title == "" {
		pr.add(mfName, 0, "title is required")
	}
	if m.Description == "" {
		pr.add(mfName, 0, "description is required")
	}
	if m.MoveOn == "" {
		m.MoveOn = "NotApplicable"
	}
	if !slices.Contains(moveOnValues, m.MoveOn) {
		pr.add(mfName, 0, "moveOn %q must be one of %s", m.MoveOn, strings.Join(moveOnValues, ", "))
	}
	if m.MasteryScore != nil && (*m.MasteryScore < 0 || *m.MasteryScore > 1) {
		pr.add(mfName, 0, "masteryScore %v must be between 0 and 1", *m.MasteryScore)
	}
	if len(m.Outcomes) == 0 {
		pr.add(mfName, 0, "outcomes must list the module's learning outcomes")
	}

	entries, err := fs.ReadDir(fsys, path.Join(base, "pages"))
	if err != nil {
		pr.add(path.Join(base, "pages"), 0, "cannot read the pages folder: %v", err)
		return m
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".md") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		pr.add(path.Join(base, "pages"), 0, "no pages (*.md files)")
		return m
	}
	pageIDs := map[string]string{}
	for _, n := range names {
		p := loadPage(fsys, path.Join(base, "pages", n), pr)
		if p == nil {
			continue
		}
		if prev, dup := pageIDs[p.ID]; dup {
			pr.add(p.File, 2, "page id %q is already used by %s", p.ID, prev)
		}
		pageIDs[p.ID] = p.File
		m.Pages = append(m.Pages, p)
	}
	checkModuleBlocks(m, pr, reflectionIDs)
	m.scenarios = loadScenarios(fsys, dir, pr)
	loadFigures(fsys, m, pr)
	placeScenarios(m, pr)

	// The last page cites the module's sources; a module without one cannot
	// show where its facts come from.
	if len(m.Pages) > 0 {
		last := m.Pages[len(m.Pages)-1]
		if last.ID != "sources" && !strings.HasPrefix(strings.ToLower(last.Title), "sources") {
			pr.add(last.File, 0, "the last page of a module must be its sources page (id \"sources\"), got %q", last.ID)
		}
	}
	if !loadQuestions(fsys, m, pr, questionIDs) {
		return m // the masteryScore checks below would only repeat the problem
	}
	for _, q := range m.Questions {
		if q.Teaches != "" && !hasPage(m, q.Teaches) {
			pr.add(q.file, q.line, "question %s: teaches %q is not a page id of this module", q.ID, q.Teaches)
		}
	}
	if m.MasteryScore != nil && len(m.Questions) == 0 {
		pr.add(mfName, 0, "masteryScore is set but the module has no knowledge-check questions")
	}
	if len(m.Questions) > 0 && m.MasteryScore == nil {
		pr.add(mfName, 0, "the module has questions, so it needs a masteryScore")
	}
	if (m.MoveOn == "Passed" || m.MoveOn == "CompletedAndPassed") && m.MasteryScore == nil {
		pr.add(mfName, 0, "moveOn %s needs a masteryScore and questions", m.MoveOn)
	}
	return m
}

// splitFrontMatter separates a page's YAML header from its body and
// returns the body's first line number.
func splitFrontMatter(data []byte) (front, body []byte, bodyLine int, ok bool) {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	if !strings.HasPrefix(s, "---\n") {
		return nil, nil, 0, false
	}
	rest := s[4:]
	end := strings.Index(rest, "\n---\n")
	if end < 0 {
		if strings.HasSuffix(rest, "\n---") {
			return []byte(rest[:len(rest)-4]), nil, strings.Count(rest, "\n") + 2, true
		}
		return nil, nil, 0, false
	}
	front = []byte(rest[:end+1])
	body = []byte(rest[end+5:])
	bodyLine = strings.Count(rest[:end+5], "\n") + 2
	return front, body, bodyLine, true
}

func loadPage(fsys fs.FS, name string, pr *problems) *Page {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		pr.add(name, 0, "cannot read: %v", err)
		return nil
	}
	front, body, bodyLine, ok := splitFrontMatter(data)
	if !ok {
		pr.add(name, 1, "a page must start with YAML front matter between two lines of ---")
		return nil
	}
	var fm frontMatter
	if !decodeYAML(front, name, 1, &fm, pr) {
		return nil
	}
	p := &Page{File: name, ID: fm.ID, Title: strings.TrimSpace(fm.Title), ActivityMinutes: fm.ActivityMinutes, QuestionIDs: fm.Questions}
	if !idPattern.MatchString(p.ID) {
		pr.add(name, 2, "page id %q must be a lowercase slug such as \"what-is-social-prescribing\"", p.ID)
	}
	if p.Title == "" {
		pr.add(name, 0, "title is required")
	}
	if p.ActivityMinutes < 0 || p.ActivityMinutes > 120 {
		pr.add(name, 0, "activityMinutes %d must be between 0 and 120", p.ActivityMinutes)
	}
	for _, r := range fm.Roles {
		switch {
		case r == "all":
			if len(fm.Roles) > 1 {
				pr.add(name, 0, "roles: \"all\" cannot be combined with other roles")
			}
		case slices.Contains(Roles, r):
			p.Roles = append(p.Roles, r)
		default:
			pr.add(name, 0, "roles: unknown role %q (use all, %s)", r, strings.Join(Roles, ", "))
		}
	}
	p.parts = parseBody(string(body), name, bodyLine, pr)
	p.Words = countWords(p.Title)
	for _, pt := range p.parts {
		// A figure's long description restates the picture for those who
		// cannot see it: a learner takes in one or the other, so only the
		// caption is counted.
		if pt.block != nil && pt.block.figure != nil {
			p.Words += countWords(pt.block.figure.caption)
			continue
		}
		p.Words += countWords(pt.text)
		if pt.block != nil && pt.block.name == "check" {
			p.hasCheck = true
		}
	}
	if p.hasCheck && len(p.QuestionIDs) == 0 {
		pr.add(name, 0, "the page has a :::check block but its front matter lists no questions")
	}
	if !p.hasCheck && len(p.QuestionIDs) > 0 {
		pr.add(name, 0, "the front matter lists questions but the page has no :::check block to show them")
	}
	return p
}

// checkModuleBlocks applies the rules that span a module's pages.
func checkModuleBlocks(m *Module, pr *problems, reflectionIDs map[string]string) {
	seen := map[string]string{}
	phasePage := map[string]int{}
	for i, p := range m.Pages {
		for _, pt := range p.parts {
			b := pt.block
			if b == nil {
				continue
			}
			switch b.name {
			case "reflection":
				where := fmt.Sprintf("%s:%d", p.File, b.line)
				if prev, dup := reflectionIDs[b.arg]; dup {
					pr.add(p.File, b.line, "reflection id %q is already used at %s", b.arg, prev)
				}
				reflectionIDs[b.arg] = where
			case "self-assessment":
				key := "self-assessment " + b.arg
				if prev, dup := seen[key]; dup {
					pr.add(p.File, b.line, ":::self-assessment %s may appear once per module; it is already at %s", b.arg, prev)
				}
				seen[key] = fmt.Sprintf("%s:%d", p.File, b.line)
				phasePage[b.arg] = i
			case "offer-builder", "action-plan", "reflections":
				if prev, dup := seen[b.name]; dup {
					pr.add(p.File, b.line, ":::%s may appear once per module; it is already at %s", b.name, prev)
				}
				seen[b.name] = fmt.Sprintf("%s:%d", p.File, b.line)
			}
		}
	}
	// The change a learner sees needs both ends, in order.
	start, hasStart := phasePage["start"]
	end, hasEnd := phasePage["end"]
	switch {
	case hasStart && !hasEnd:
		pr.add(seen["self-assessment start"], 0, "a module with :::self-assessment start needs a :::self-assessment end on a later page")
	case hasEnd && !hasStart:
		pr.add(seen["self-assessment end"], 0, "a module with :::self-assessment end needs a :::self-assessment start on an earlier page")
	case hasStart && end <= start:
		pr.add(seen["self-assessment end"], 0, ":::self-assessment end must be on a later page than :::self-assessment start (%s)", seen["self-assessment start"])
	}
}

// fieldLine returns the line of key in a YAML mapping node, or the node's
// own line.
func fieldLine(n *yaml.Node, key string) int {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i].Line
			}
		}
	}
	return n.Line
}

// placeScenarios checks that each :::scenario block names a scenario of
// the module, that each scenario is placed exactly once, and adds the
// scenario's words to its page.
func placeScenarios(m *Module, pr *problems) {
	placed := map[string]string{}
	for _, p := range m.Pages {
		for _, pt := range p.parts {
			if pt.block == nil || pt.block.name != "scenario" {
				continue
			}
			id := pt.block.arg
			s := m.scenarios[id]
			if s == nil {
				pr.add(p.File, pt.block.line, ":::scenario %s: no such scenario in modules/%s/scenarios/", id, m.Dir)
				continue
			}
			if prev, dup := placed[id]; dup {
				pr.add(p.File, pt.block.line, ":::scenario %s is already placed at %s", id, prev)
				continue
			}
			placed[id] = fmt.Sprintf("%s:%d", p.File, pt.block.line)
			s.render(pr)
			p.Words += s.pathWords()
		}
	}
	for id, s := range m.scenarios {
		if placed[id] == "" {
			pr.add(s.file, 0, "scenario %s is not placed on any page (add a :::scenario %s block)", id, id)
		}
	}
}
