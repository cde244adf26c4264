package course

import (
	"math"
	"slices"
)

// ReadingWPM is the reading speed of the study-time estimate: careful
// study reading of unfamiliar professional material, slower than the
// 200-250 words a minute of casual reading.
const ReadingWPM = 150

// Estimate is how long a module takes and why.
type Estimate struct {
	Words           int // learner-facing words on the pages counted
	ReadingMinutes  float64
	ActivityMinutes int // sum of the pages' activityMinutes
	QuestionMinutes int // one per knowledge-check question on those pages
	Minutes         int // the total, rounded to the nearest minute
}

// Estimate returns the study-time estimate of every page of the module:
// words ÷ ReadingWPM, plus every page's activityMinutes, plus one minute
// per question.
func (m *Module) Estimate() Estimate {
	return m.estimate(func(*Page) bool { return true })
}

// EstimateFor returns the estimate of one role's path: the shared pages
// and the pages of that role, with the questions on them.
func (m *Module) EstimateFor(role string) Estimate {
	return m.estimate(func(p *Page) bool { return p.OnPath(role) })
}

// OnPath reports whether the page is on the path of a learner in role.
func (p *Page) OnPath(role string) bool { return p.ForAll() || slices.Contains(p.Roles, role) }

func (m *Module) estimate(include func(*Page) bool) Estimate {
	var e Estimate
	for _, p := range m.Pages {
		if !include(p) {
			continue
		}
		e.Words += p.Words
		e.ActivityMinutes += p.ActivityMinutes
		e.QuestionMinutes += len(p.QuestionIDs)
	}
	e.ReadingMinutes = float64(e.Words) / ReadingWPM
	e.Minutes = int(math.Round(e.ReadingMinutes)) + e.ActivityMinutes + e.QuestionMinutes
	return e
}

// Estimates returns the estimate for every role, keyed by role id.
func (m *Module) Estimates() map[string]Estimate {
	out := map[string]Estimate{}
	for _, r := range Roles {
		out[r] = m.EstimateFor(r)
	}
	return out
}
