package course

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// Scenario is a branching scenario: the learner meets a situation, picks
// what to do, sees what happens, and the choice decides the next step,
// until one of the endings debriefs them.
type Scenario struct {
	ID    string         `yaml:"id"`
	Title string         `yaml:"title"`
	Intro string         `yaml:"intro"` // Markdown: who you are and what is going on
	Steps []ScenarioStep `yaml:"steps"` // the first step is where the scenario starts
	Ends  []ScenarioEnd  `yaml:"endings"`

	file string
	html map[string]string // rendered Markdown by key: intro, <step>, <step>.<choice>, end.<id>
}

// ScenarioStep is one decision point.
type ScenarioStep struct {
	ID        string           `yaml:"id"`
	Title     string           `yaml:"title"`     // a short name for the moment, e.g. "The first minute"
	Situation string           `yaml:"situation"` // Markdown: what the learner sees and hears
	Question  string           `yaml:"question"`  // the prompt, e.g. "What do you say?"
	Choices   []ScenarioChoice `yaml:"choices"`
}

// ScenarioChoice is one option at a step and where it leads.
type ScenarioChoice struct {
	ID          string `yaml:"id"`
	Text        string `yaml:"text"`
	Consequence string `yaml:"consequence"` // Markdown: what happens because of this choice
	Next        string `yaml:"next"`        // a step id or an ending id
}

// ScenarioEnd is an end state with its debrief.
type ScenarioEnd struct {
	ID      string `yaml:"id"`
	Title   string `yaml:"title"`
	Debrief string `yaml:"debrief"` // Markdown: what went well or not, and why
}

// loadScenarios reads every file in the module's scenarios folder.
func loadScenarios(fsys fs.FS, dir string, pr *problems) map[string]*Scenario {
	folder := path.Join("modules", dir, "scenarios")
	entries, err := fs.ReadDir(fsys, folder)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		pr.add(folder, 0, "cannot read: %v", err)
		return nil
	}
	out := map[string]*Scenario{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		name := path.Join(folder, e.Name())
		s := &Scenario{file: name}
		if !decodeFile(fsys, name, s, pr) {
			continue
		}
		if want := strings.TrimSuffix(e.Name(), ".yaml"); s.ID != want {
			pr.add(name, 0, "id %q must match the file name (%q)", s.ID, want)
			continue
		}
		if validateScenario(s, pr) {
			out[s.ID] = s
		}
	}
	return out
}

// validateScenario checks the scenario's graph: every choice leads to a
// step or an ending, every step and ending can be reached from the start,
// and every step can still reach an ending, so no learner is stuck.
func validateScenario(s *Scenario, pr *problems) bool {
	before := len(pr.list)
	bad := func(format string, args ...any) {
		pr.add(s.file, 0, "scenario %s: %s", s.ID, fmt.Sprintf(format, args...))
	}
	if !idPattern.MatchString(s.ID) {
		bad("id must be a lowercase slug such as \"m1-s1\"")
	}
	if strings.TrimSpace(s.Title) == "" || strings.TrimSpace(s.Intro) == "" {
		bad("title and intro are required")
	}
	if len(s.Steps) == 0 || len(s.Ends) == 0 {
		bad("needs at least one step and one ending")
		return false
	}
	ids := map[string]string{}
	claim := func(id, what string) {
		if !idPattern.MatchString(id) {
			bad("%s id %q must be a lowercase slug", what, id)
		}
		if prev, dup := ids[id]; dup {
			bad("id %q is used by a %s and a %s", id, prev, what)
		}
		ids[id] = what
	}
	for _, st := range s.Steps {
		claim(st.ID, "step")
		if strings.TrimSpace(st.Title) == "" || strings.TrimSpace(st.Situation) == "" || strings.TrimSpace(st.Question) == "" {
			bad("step %s needs a title, a situation and a question", st.ID)
		}
		if len(st.Choices) < 2 {
			bad("step %s needs at least two choices", st.ID)
		}
		seen := map[string]bool{}
		for _, c := range st.Choices {
			if !idPattern.MatchString(c.ID) || seen[c.ID] {
				bad("step %s: choice id %q is missing, not a slug, or used twice", st.ID, c.ID)
			}
			seen[c.ID] = true
			if strings.TrimSpace(c.Text) == "" || strings.TrimSpace(c.Consequence) == "" {
				bad("step %s: choice %s needs text and a consequence", st.ID, c.ID)
			}
		}
	}
	for _, e := range s.Ends {
		claim(e.ID, "ending")
		if strings.TrimSpace(e.Title) == "" || strings.TrimSpace(e.Debrief) == "" {
			bad("ending %s needs a title and a debrief", e.ID)
		}
	}
	for _, st := range s.Steps {
		for _, c := range st.Choices {
			if _, ok := ids[c.Next]; !ok {
				bad("step %s: choice %s leads to %q, which is neither a step nor an ending", st.ID, c.ID, c.Next)
			}
		}
	}
	if len(pr.list) > before {
		return false
	}
	// Reachable from the start.
	reach := map[string]bool{}
	var walk func(id string)
	walk = func(id string) {
		if reach[id] {
			return
		}
		reach[id] = true
		if st := s.step(id); st != nil {
			for _, c := range st.Choices {
				walk(c.Next)
			}
		}
	}
	walk(s.Steps[0].ID)
	for id, what := range ids {
		if !reach[id] {
			bad("%s %s cannot be reached from the first step", what, id)
		}
	}
	// Every step can still reach an ending (no loop without a way out).
	ends := map[string]bool{}
	for _, e := range s.Ends {
		ends[e.ID] = true
	}
	for changed := true; changed; {
		changed = false
		for _, st := range s.Steps {
			if ends[st.ID] {
				continue
			}
			if slices.ContainsFunc(st.Choices, func(c ScenarioChoice) bool { return ends[c.Next] }) {
				ends[st.ID], changed = true, true
			}
		}
	}
	for _, st := range s.Steps {
		if !ends[st.ID] {
			bad("step %s can never reach an ending", st.ID)
		}
	}
	return len(pr.list) == before
}

func (s *Scenario) step(id string) *ScenarioStep {
	for i := range s.Steps {
		if s.Steps[i].ID == id {
			return &s.Steps[i]
		}
	}
	return nil
}

// pathWords is the number of words a learner reads in one play through
// the longest path: the intro, then at each step its title, situation,
// question, every choice and the chosen consequence, then the ending's
// debrief. Replaying other paths is the page's activityMinutes.
func (s *Scenario) pathWords() int {
	var best func(id string, seen map[string]bool) int
	best = func(id string, seen map[string]bool) int {
		for _, e := range s.Ends {
			if e.ID == id {
				return countWords(e.Title) + countWords(e.Debrief)
			}
		}
		st := s.step(id)
		if st == nil || seen[id] {
			return 0
		}
		seen[id] = true
		defer delete(seen, id)
		base := countWords(st.Title) + countWords(st.Situation) + countWords(st.Question)
		most := 0
		for _, c := range st.Choices {
			base += countWords(c.Text)
			most = max(most, countWords(c.Consequence)+best(c.Next, seen))
		}
		return base + most
	}
	return countWords(s.Title) + countWords(s.Intro) + best(s.Steps[0].ID, map[string]bool{})
}

// render renders the scenario's Markdown, which may not contain headings
// (the runtime gives steps and endings their own).
func (s *Scenario) render(pr *problems) {
	s.html = map[string]string{}
	md := func(key, src string) {
		level := 6 // any heading in a scenario text is refused below
		before := len(pr.list)
		out := renderMarkdown(src, s.file, 0, &level, pr)
		if strings.Contains(out, "<h") && strings.Contains(out, "</h") {
			pr.add(s.file, 0, "scenario %s: %s: no headings inside scenario text", s.ID, key)
		}
		if len(pr.list) == before {
			s.html[key] = out
		}
	}
	md("intro", s.Intro)
	for _, st := range s.Steps {
		md(st.ID, st.Situation)
		for _, c := range st.Choices {
			md(st.ID+"."+c.ID, c.Consequence)
		}
	}
	for _, e := range s.Ends {
		md("end."+e.ID, e.Debrief)
	}
}

// scenarioData is what the runtime needs of a scenario.
type scenarioData struct {
	ID    string                     `json:"id"`
	IRI   string                     `json:"iri"`
	Title string                     `json:"title"`
	Start string                     `json:"start"`
	Steps map[string]scenarioStepDat `json:"steps"`
	Ends  map[string]string          `json:"endings"` // id → title
}

type scenarioStepDat struct {
	Title      string            `json:"title"`
	Next       map[string]string `json:"next"` // choice id → step or ending id
	Definition Interaction       `json:"definition"`
}

func (s *Scenario) data(au, borough string) scenarioData {
	d := scenarioData{ID: s.ID, IRI: au + "/scenarios/" + s.ID, Title: subst(s.Title, borough), Start: s.Steps[0].ID,
		Steps: map[string]scenarioStepDat{}, Ends: map[string]string{}}
	for _, st := range s.Steps {
		sd := scenarioStepDat{Title: subst(st.Title, borough), Next: map[string]string{},
			Definition: Interaction{
				Type:            "http://adlnet.gov/expapi/activities/cmi.interaction",
				Name:            lang(subst(s.Title, borough) + ": " + subst(st.Title, borough)),
				Description:     lang(subst(st.Question, borough)),
				InteractionType: "choice",
				// A branching step has better and worse choices but no
				// single right one, so there is no correct response pattern.
				CorrectResponsesPattern: nil,
			}}
		for _, c := range st.Choices {
			sd.Next[c.ID] = c.Next
			sd.Definition.Choices = append(sd.Definition.Choices, InteractionChoice{ID: c.ID, Description: lang(subst(c.Text, borough))})
		}
		d.Steps[st.ID] = sd
	}
	for _, e := range s.Ends {
		d.Ends[e.ID] = subst(e.Title, borough)
	}
	return d
}

// renderScenario writes the scenario's HTML: the runtime shows one step
// at a time, the consequence of each choice, and the ending's debrief.
func (r *renderer) scenario(bl *block) string {
	s := r.m.scenarios[bl.arg]
	if s == nil {
		return ""
	}
	h := bl.level
	pre := "scn-" + s.ID
	var b strings.Builder
	fmt.Fprintf(&b, `<div class="scenario" data-scenario="%s" id="%s">`, s.ID, pre)
	b.WriteString(heading(h, pre+"-title", "", "Scenario: "+esc(subst(s.Title, r.borough))))
	b.WriteString(`<p class="composite-label">Fictional composite: the people and places are invented. Choose what you would do; each choice leads somewhere different.</p>`)
	b.WriteString(`<div class="scenario-intro">` + s.html["intro"] + `</div>`)
	fmt.Fprintf(&b, `<div class="scenario-path" data-scenario-path hidden>%s<ol data-scenario-log></ol></div>`, heading(min(h+1, 6), "", "", "Your path so far"))
	for _, st := range s.Steps {
		id := pre + "-" + st.ID
		fmt.Fprintf(&b, `<form class="scenario-step" data-step="%s" id="%s" hidden novalidate aria-labelledby="%s-title">`, st.ID, id, id)
		b.WriteString(heading(min(h+1, 6), id+"-title", "", esc(subst(st.Title, r.borough))))
		fmt.Fprintf(&b, `<div tabindex="-1" data-step-focus>%s</div>`, strings.ReplaceAll(s.html[st.ID], "{{borough}}", esc(r.borough)))
		fmt.Fprintf(&b, `<fieldset aria-describedby="%s-error"><legend>%s</legend><p class="field-error" id="%s-error" data-error hidden></p>`, id, esc(subst(st.Question, r.borough)), id)
		for _, c := range st.Choices {
			fmt.Fprintf(&b, `<div class="option"><input type="radio" name="%[1]s" id="%[1]s-%[2]s" value="%[2]s"><label for="%[1]s-%[2]s">%[3]s</label></div>`, id, c.ID, esc(subst(c.Text, r.borough)))
		}
		b.WriteString(`</fieldset><button type="submit">Choose</button></form>`)
		for _, c := range st.Choices {
			fmt.Fprintf(&b, `<template data-consequence="%s.%s">%s</template>`, st.ID, c.ID, strings.ReplaceAll(s.html[st.ID+"."+c.ID], "{{borough}}", esc(r.borough)))
		}
	}
	fmt.Fprintf(&b, `<div class="scenario-outcome" data-scenario-outcome tabindex="-1" hidden><p class="scenario-outcome-label">What happens</p><div data-outcome-text></div><button type="button" data-scenario-continue>Continue</button></div>`)
	for _, e := range s.Ends {
		fmt.Fprintf(&b, `<div class="scenario-ending" data-ending="%s" hidden>%s<div tabindex="-1" data-step-focus>%s</div><button type="button" class="secondary" data-scenario-restart>Play the scenario again</button></div>`,
			e.ID, heading(min(h+1, 6), pre+"-end-"+e.ID, "", "Ending: "+esc(subst(e.Title, r.borough))), strings.ReplaceAll(s.html["end."+e.ID], "{{borough}}", esc(r.borough)))
	}
	b.WriteString(`<p class="visually-hidden" data-scenario-live aria-live="polite"></p></div>`)
	return b.String()
}
