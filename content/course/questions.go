package course

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Question types a module's questions.yaml may use.
const (
	Choice         = "choice"
	MultipleChoice = "multiple-choice"
	TrueFalse      = "true-false"
	Matching       = "matching"
	Sequencing     = "sequencing"
	FillIn         = "fill-in"
)

var questionTypes = []string{Choice, MultipleChoice, TrueFalse, Matching, Sequencing, FillIn}

// Question is one knowledge-check question.
type Question struct {
	ID       string   `yaml:"id" json:"id"`
	Type     string   `yaml:"type" json:"type"`
	Prompt   string   `yaml:"prompt" json:"prompt"`
	Choices  []Item   `yaml:"choices" json:"choices,omitempty"`
	Correct  []string `yaml:"correct" json:"correct,omitempty"`
	Pairs    *Pairs   `yaml:"pairs" json:"pairs,omitempty"`
	Feedback Feedback `yaml:"feedback" json:"feedback"`
	// Teaches is the id of the module page that teaches the answer; the
	// feedback links to it.
	Teaches string `yaml:"teaches" json:"teaches,omitempty"`

	file string
	line int
}

// Item is a choice, or one side of a matching pair.
type Item struct {
	ID   string `yaml:"id" json:"id"`
	Text string `yaml:"text" json:"text"`
	// Feedback is said to a learner who chose this option (choice and
	// multiple-choice questions only).
	Feedback string `yaml:"feedback" json:"feedback,omitempty"`
}

// Pairs describes a matching question.
type Pairs struct {
	Source  []Item     `yaml:"source" json:"source"`
	Target  []Item     `yaml:"target" json:"target"`
	Correct [][]string `yaml:"correct" json:"correct"`
}

// Feedback is shown after the learner answers.
type Feedback struct {
	Correct   string `yaml:"correct" json:"correct"`
	Incorrect string `yaml:"incorrect" json:"incorrect"`
}

// loadQuestions reads questions.yaml and puts the questions in the order
// the module's pages list them; every question must be on exactly one page.
func loadQuestions(fsys fs.FS, m *Module, pr *problems, courseIDs map[string]string) (ok bool) {
	before := len(pr.list)
	defer func() { ok = len(pr.list) == before }()
	name := path.Join("modules", m.Dir, "questions.yaml")
	var listed []string
	for _, p := range m.Pages {
		listed = append(listed, p.QuestionIDs...)
	}
	data, err := fs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		if len(listed) > 0 {
			pr.add(name, 0, "missing, but pages list questions %s", strings.Join(listed, ", "))
		}
		return false
	}
	if err != nil {
		pr.add(name, 0, "cannot read: %v", err)
		return false
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			pr.add(name, 0, "empty; list the module's questions")
			return false
		}
		msg := yamlError(err, 0)
		line := 0
		if m := leadingLine.FindStringSubmatch(msg); m != nil {
			fmt.Sscanf(m[1], "%d", &line)
			msg = msg[len(m[0]):]
		}
		pr.add(name, line, "%s", msg)
		return false
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.SequenceNode {
		pr.add(name, 1, "must be a list of questions")
		return false
	}
	byID := map[string]*Question{}
	broken := map[string]bool{} // questions already reported as unreadable
	for _, item := range doc.Content[0].Content {
		q := &Question{file: name, line: item.Line}
		if !decodeNode(item, q, name, pr) {
			broken[mapValue(item, "id")] = true
			continue
		}
		validateQuestion(q, item, pr)
		if prev, dup := courseIDs[q.ID]; dup {
			pr.add(name, fieldLine(item, "id"), "question id %q is already used at %s", q.ID, prev)
			continue
		}
		courseIDs[q.ID] = fmt.Sprintf("%s:%d", name, item.Line)
		byID[q.ID] = q
	}
	onPage := map[string]string{}
	for _, p := range m.Pages {
		for _, id := range p.QuestionIDs {
			q, ok := byID[id]
			if !ok && broken[id] {
				continue
			}
			if !ok {
				pr.add(p.File, 0, "questions: %q is not defined in %s", id, name)
				continue
			}
			if prev, dup := onPage[id]; dup {
				pr.add(p.File, 0, "questions: %q is already shown on %s", id, prev)
				continue
			}
			onPage[id] = p.File
			m.Questions = append(m.Questions, q)
		}
	}
	for _, item := range doc.Content[0].Content {
		id := mapValue(item, "id")
		if _, ok := byID[id]; ok && onPage[id] == "" {
			pr.add(name, item.Line, "question %q is not listed in any page's questions", id)
		}
	}
	return true
}

func mapValue(n *yaml.Node, key string) string {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1].Value
			}
		}
	}
	return ""
}

func decodeNode(n *yaml.Node, v any, name string, pr *problems) bool {
	// Node.Decode has no KnownFields switch, so re-encode and decode
	// strictly; the line numbers then shift by the node's start line.
	out, err := yaml.Marshal(n)
	if err != nil {
		pr.add(name, n.Line, "%v", err)
		return false
	}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		msg := yamlError(err, n.Line-1)
		if strings.Contains(msg, "not found in type course.Item") && !strings.Contains(msg, "double quotes") {
			msg += " (a colon inside {id: ..., text: ...} ends the text: put the text in double quotes)"
		}
		pr.add(name, n.Line, "question %s: %s", mapValue(n, "id"), msg)
		return false
	}
	return true
}

func validateQuestion(q *Question, n *yaml.Node, pr *problems) {
	bad := func(field, format string, args ...any) {
		pr.add(q.file, fieldLine(n, field), "question %s: %s", q.ID, fmt.Sprintf(format, args...))
	}
	if !idPattern.MatchString(q.ID) {
		bad("id", "id %q must be a lowercase slug such as \"m1-q1\"", q.ID)
	}
	if !slices.Contains(questionTypes, q.Type) {
		bad("type", "type %q must be one of %s", q.Type, strings.Join(questionTypes, ", "))
		return
	}
	if strings.TrimSpace(q.Prompt) == "" {
		bad("prompt", "prompt is required")
	}
	if strings.TrimSpace(q.Feedback.Correct) == "" || strings.TrimSpace(q.Feedback.Incorrect) == "" {
		bad("feedback", "feedback needs both correct and incorrect text")
	}
	choiceIDs := itemIDs(q.Choices)
	checkItems := func(field string, items []Item) {
		if len(items) < 2 {
			bad(field, "%s needs at least two items", field)
		}
		seen := map[string]bool{}
		for _, it := range items {
			if it.ID == "" || strings.TrimSpace(it.Text) == "" {
				bad(field, "every item in %s needs an id and text", field)
			}
			if seen[it.ID] {
				bad(field, "item id %q appears twice in %s", it.ID, field)
			}
			seen[it.ID] = true
		}
	}
	if q.Type == Choice || q.Type == MultipleChoice {
		with := 0
		for _, c := range q.Choices {
			if strings.TrimSpace(c.Feedback) != "" {
				with++
			}
		}
		if with > 0 && with < len(q.Choices) {
			bad("choices", "%d of %d choices have feedback: give every choice its feedback, or none", with, len(q.Choices))
		}
	} else {
		for _, c := range q.Choices {
			if c.Feedback != "" {
				bad("choices", "feedback on a choice is only for choice and multiple-choice questions")
				break
			}
		}
	}
	if q.Pairs != nil {
		for _, it := range append(slices.Clone(q.Pairs.Source), q.Pairs.Target...) {
			if it.Feedback != "" {
				bad("pairs", "matching items take no feedback")
				break
			}
		}
	}
	if q.Type != Matching && q.Pairs != nil {
		bad("pairs", "pairs are only for matching questions")
	}
	switch q.Type {
	case Choice, MultipleChoice, Sequencing:
		checkItems("choices", q.Choices)
		for _, c := range q.Correct {
			if !slices.Contains(choiceIDs, c) {
				bad("correct", "correct answer %q is not one of the choices", c)
			}
		}
		switch {
		case q.Type == Choice && len(q.Correct) != 1:
			bad("correct", "a choice question has exactly one correct answer, got %d", len(q.Correct))
		case q.Type == MultipleChoice && len(q.Correct) == 0:
			bad("correct", "a multiple-choice question needs at least one correct answer")
		case q.Type == Sequencing:
			sorted := slices.Clone(q.Correct)
			slices.Sort(sorted)
			want := slices.Clone(choiceIDs)
			slices.Sort(want)
			if !slices.Equal(sorted, want) {
				bad("correct", "a sequencing question lists every choice id once, in the right order")
			}
		}
	case TrueFalse:
		if len(q.Choices) > 0 {
			bad("choices", "a true-false question has no choices")
		}
		if len(q.Correct) != 1 || (q.Correct[0] != "true" && q.Correct[0] != "false") {
			bad("correct", "a true-false question has correct: [true] or [false]")
		}
	case FillIn:
		if len(q.Choices) > 0 {
			bad("choices", "a fill-in question has no choices")
		}
		if len(q.Correct) == 0 {
			bad("correct", "a fill-in question lists its accepted answers")
		}
		for _, c := range q.Correct {
			if strings.TrimSpace(c) == "" || strings.Contains(c, "[,]") {
				bad("correct", "accepted answer %q is empty or contains [,]", c)
			}
		}
	case Matching:
		if len(q.Choices) > 0 || len(q.Correct) > 0 {
			bad("choices", "a matching question uses pairs (source, target, correct), not choices or correct")
		}
		if q.Pairs == nil {
			bad("pairs", "a matching question needs pairs")
			return
		}
		checkItems("source", q.Pairs.Source)
		checkItems("target", q.Pairs.Target)
		src, tgt := itemIDs(q.Pairs.Source), itemIDs(q.Pairs.Target)
		matched := map[string]bool{}
		for _, pair := range q.Pairs.Correct {
			if len(pair) != 2 || !slices.Contains(src, pair[0]) || !slices.Contains(tgt, pair[1]) {
				bad("pairs", "correct pair %v must be [source id, target id]", pair)
				continue
			}
			if matched[pair[0]] {
				bad("pairs", "source %q is matched twice", pair[0])
			}
			matched[pair[0]] = true
		}
		for _, s := range src {
			if !matched[s] {
				bad("pairs", "source %q has no correct target", s)
			}
		}
	}
}

func itemIDs(items []Item) []string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	return ids
}

// Interaction is an xAPI interaction activity definition for a question,
// as the runtime sends it in "answered" statements.
type Interaction struct {
	Type                    string              `json:"type"`
	Name                    map[string]string   `json:"name"`
	Description             map[string]string   `json:"description"`
	InteractionType         string              `json:"interactionType"`
	CorrectResponsesPattern []string            `json:"correctResponsesPattern,omitempty"`
	Choices                 []InteractionChoice `json:"choices,omitempty"`
	Source                  []InteractionChoice `json:"source,omitempty"`
	Target                  []InteractionChoice `json:"target,omitempty"`
	Scale                   []InteractionChoice `json:"scale,omitempty"`
}

// InteractionChoice is one interaction component.
type InteractionChoice struct {
	ID          string            `json:"id"`
	Description map[string]string `json:"description"`
}

func components(items []Item, borough string) []InteractionChoice {
	out := make([]InteractionChoice, len(items))
	for i, it := range items {
		out[i] = InteractionChoice{ID: it.ID, Description: lang(subst(it.Text, borough))}
	}
	return out
}

func lang(s string) map[string]string { return map[string]string{"en-GB": s} }

// Interaction returns the question's xAPI activity definition.
func (q *Question) Interaction(borough string) Interaction {
	in := Interaction{
		Type:        "http://adlnet.gov/expapi/activities/cmi.interaction",
		Name:        lang(q.ID),
		Description: lang(subst(q.Prompt, borough)),
	}
	switch q.Type {
	case Choice, MultipleChoice:
		in.InteractionType = "choice"
		in.CorrectResponsesPattern = []string{strings.Join(q.Correct, "[,]")}
		in.Choices = components(q.Choices, borough)
	case Sequencing:
		in.InteractionType = "sequencing"
		in.CorrectResponsesPattern = []string{strings.Join(q.Correct, "[,]")}
		in.Choices = components(q.Choices, borough)
	case TrueFalse:
		in.InteractionType = "true-false"
		in.CorrectResponsesPattern = []string{q.Correct[0]}
	case FillIn:
		in.InteractionType = "fill-in"
		// Each accepted answer is an alternative pattern; the learner's
		// answer is compared without regard to case.
		for _, c := range q.Correct {
			in.CorrectResponsesPattern = append(in.CorrectResponsesPattern, "{case_matters=false}"+c)
		}
	case Matching:
		in.InteractionType = "matching"
		var pairs []string
		for _, p := range q.Pairs.Correct {
			pairs = append(pairs, p[0]+"[.]"+p[1])
		}
		in.CorrectResponsesPattern = []string{strings.Join(pairs, "[,]")}
		in.Source = components(q.Pairs.Source, borough)
		in.Target = components(q.Pairs.Target, borough)
	}
	return in
}

// AnswerText is the right answer in words, shown to the learner after an
// attempt.
func (q *Question) AnswerText(borough string) string {
	text := func(items []Item, id string) string {
		for _, it := range items {
			if it.ID == id {
				return subst(it.Text, borough)
			}
		}
		return id
	}
	var parts []string
	switch q.Type {
	case Choice, MultipleChoice:
		for _, id := range q.Correct {
			parts = append(parts, text(q.Choices, id))
		}
		return strings.Join(parts, "; ")
	case Sequencing:
		for i, id := range q.Correct {
			parts = append(parts, fmt.Sprintf("%d. %s", i+1, text(q.Choices, id)))
		}
		return strings.Join(parts, "; ")
	case TrueFalse:
		if q.Correct[0] == "true" {
			return "True"
		}
		return "False"
	case FillIn:
		return q.Correct[0]
	case Matching:
		for _, p := range q.Pairs.Correct {
			parts = append(parts, text(q.Pairs.Source, p[0])+": "+text(q.Pairs.Target, p[1]))
		}
		return strings.Join(parts, "; ")
	}
	return ""
}

// Why is the explanation of the right answer: the correct-answer feedback
// without a short opening verdict ("Right.", "Well done.") that would read
// wrongly after a wrong answer.
func (q *Question) Why(borough string) string {
	s := strings.TrimSpace(subst(q.Feedback.Correct, borough))
	if i := strings.IndexAny(s, ".!"); i > 0 && i+1 < len(s) && len(strings.Fields(s[:i])) <= 2 {
		s = strings.TrimSpace(s[i+1:])
	}
	return s
}
