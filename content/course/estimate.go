package course

import "math"

// ReadingWPM is the reading speed of the study-time estimate: careful
// study reading of unfamiliar professional material, slower than the
// 200-250 words a minute of casual reading.
const ReadingWPM = 150

// Estimate is how long a module takes and why.
type Estimate struct {
	Words           int // learner-facing words on all pages
	ReadingMinutes  float64
	ActivityMinutes int // sum of the pages' activityMinutes
	QuestionMinutes int // one per knowledge-check question
	Minutes         int // the total, rounded to the nearest minute
}

// Estimate returns the module's study-time estimate: words ÷ ReadingWPM,
// plus every page's activityMinutes, plus one minute per question.
func (m *Module) Estimate() Estimate {
	var e Estimate
	for _, p := range m.Pages {
		e.Words += p.Words
		e.ActivityMinutes += p.ActivityMinutes
	}
	e.ReadingMinutes = float64(e.Words) / ReadingWPM
	e.QuestionMinutes = len(m.Questions)
	e.Minutes = int(math.Round(e.ReadingMinutes)) + e.ActivityMinutes + e.QuestionMinutes
	return e
}
