package course

import (
	"fmt"
	"strconv"
	"strings"
)

// The self-assessment profile: at the start and the end of a module the
// learner rates their confidence against each learning outcome on a
// 5-point scale (runtime/README.md documents the statements).
const (
	selfAssessmentProfile = "https://reach.london/xapi/profiles/self-assessment"
	extPhase              = "https://reach.london/xapi/extensions/self-assessment-phase"
	extOutcome            = "https://reach.london/xapi/extensions/outcome"
)

// confidenceScale is the 5-point scale, from 1 to 5.
var confidenceScale = []string{"Not at all confident", "Slightly confident", "Fairly confident", "Quite confident", "Very confident"}

// selfAssessmentData is what the runtime needs to record ratings.
type selfAssessmentData struct {
	Profile    string            `json:"profile"`
	Extensions map[string]string `json:"extensions"`
	Outcomes   []outcomeData     `json:"outcomes"`
}

type outcomeData struct {
	IRI        string      `json:"iri"`
	Text       string      `json:"text"`
	Definition Interaction `json:"definition"`
}

func (m *Module) hasSelfAssessment() bool {
	for _, p := range m.Pages {
		for _, pt := range p.parts {
			if pt.block != nil && pt.block.name == "self-assessment" {
				return true
			}
		}
	}
	return false
}

func selfAssessment(au string, m *Module, borough string) *selfAssessmentData {
	if !m.hasSelfAssessment() {
		return nil
	}
	d := &selfAssessmentData{Profile: selfAssessmentProfile, Extensions: map[string]string{"phase": extPhase, "outcome": extOutcome}}
	var scale []InteractionChoice
	for i, label := range confidenceScale {
		scale = append(scale, InteractionChoice{ID: strconv.Itoa(i + 1), Description: lang(label)})
	}
	for i, o := range m.Outcomes {
		text := subst(o, borough)
		d.Outcomes = append(d.Outcomes, outcomeData{
			IRI:  fmt.Sprintf("%s/outcomes/%d", au, i+1),
			Text: text,
			Definition: Interaction{
				Type:            "http://adlnet.gov/expapi/activities/cmi.interaction",
				Name:            lang(fmt.Sprintf("Learning outcome %d", i+1)),
				Description:     lang("How confident are you that you can " + text + "?"),
				InteractionType: "likert",
				Scale:           scale,
			},
		})
	}
	return d
}

// selfAssessment renders the confidence form: one 5-point scale per
// learning outcome and the writers' free-text question. At the end of the
// module it also holds the learner's change, filled in by the runtime.
func (r *renderer) selfAssessment(bl *block) string {
	phase := bl.arg
	pre := "sa-" + phase
	h := bl.level
	var b strings.Builder
	fmt.Fprintf(&b, `<form class="self-assessment" data-self-assessment="%s" aria-labelledby="%s-title" novalidate>`, phase, pre)
	title := "Before you start: how confident are you?"
	intro := "Rate how confident you are now about each thing this module aims to help you do. There are no right answers: this is for you to see your own change at the end of the module."
	if phase == "end" {
		title = "Now: how confident are you?"
		intro = "Rate your confidence again, the same way as at the start. When you save, you will see how your answers have changed."
	}
	b.WriteString(heading(h, pre+"-title", "", title))
	b.WriteString(`<p>` + intro + `</p><p class="hint">Your ratings are recorded with your progress in this course. Your written answer stays private: only you can see it.</p>`)
	fmt.Fprintf(&b, `<p class="field-error" id="%s-error" data-error hidden></p>`, pre)
	for i, o := range r.m.Outcomes {
		id := fmt.Sprintf("%s-o%d", pre, i+1)
		fmt.Fprintf(&b, `<fieldset class="likert" data-outcome="%d" aria-describedby="%s-error"><legend>I can %s</legend><div class="likert-options">`, i+1, pre, esc(subst(o, r.borough)))
		for v, label := range confidenceScale {
			fmt.Fprintf(&b, `<div class="option"><input type="radio" name="%[1]s" id="%[1]s-%[2]d" value="%[2]d"><label for="%[1]s-%[2]d">%[2]d: %[3]s</label></div>`, id, v+1, esc(label))
		}
		b.WriteString(`</div></fieldset>`)
	}
	fmt.Fprintf(&b, `<div class="field"><div class="sa-question" id="%[1]s-q">%[2]s</div><label for="%[1]s-text">Your answer (optional)</label><textarea id="%[1]s-text" rows="4" aria-describedby="%[1]s-q" data-sa-text></textarea></div>`,
		pre, strings.ReplaceAll(bl.bodyHTML, "{{borough}}", esc(r.borough)))
	b.WriteString(`<button type="submit">Save my answers</button><p class="save-status" data-save-status aria-live="polite"></p>`)
	if phase == "end" {
		fmt.Fprintf(&b, `<div class="sa-change" data-sa-change tabindex="-1" hidden>%s<div data-sa-change-body></div></div>`, heading(min(h+1, 6), pre+"-change-title", "", "Your change in this module"))
	}
	b.WriteString(`</form>`)
	return b.String()
}
