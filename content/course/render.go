package course

import (
	"fmt"
	"hash/fnv"
	"html"
	"slices"
	"strings"
)

// draftField is one field of the offer-builder or the action plan.
type draftField struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	Hint  string `json:"-"`
}

// offerFields are the parts of a plain-language description of an offer.
var offerFields = []draftField{
	{"who", "Who it is for", "Who the offer suits, in words a participant would use about themselves."},
	{"what", "What happens", "What a session is like, step by step, from arriving to leaving."},
	{"where-when", "Where and when", "The address, how to get there, the day and time, and how long it runs."},
	{"cost", "Cost", "What it costs, or that it is free, and anything people need to bring."},
	{"access", "Access needs met", "Step-free access, toilets, hearing loops, quiet space, languages, support to take part."},
	{"refer", "How to refer", "How a link worker refers someone, and whether people can come on their own."},
	{"contact", "Contact", "Who to speak to, with a phone number or email address."},
}

// planFields are the parts of the personal action plan.
var planFields = []draftField{
	{"goals", "My goals", "What you want to change or achieve in your work, in a sentence or two each."},
	{"first-steps", "First steps", "The first two or three things you will do."},
	{"who", "Who I will involve", "Colleagues, partners or participants you will bring in."},
	{"by-when", "By when", "Dates for your first steps and your goals."},
	{"how-know", "How I will know it has worked", "What you will see, hear or count when it is working."},
}

// roleNoteFor completes "Note for ..." for each role.
var roleNoteFor = map[string]string{
	"artist":     "artists and arts organisations",
	"linkworker": "social prescribing link workers",
	"gp":         "GPs and primary-care staff",
	"other":      "everyone else",
}

// renderer turns a module's parsed pages into HTML for one borough.
type renderer struct {
	c       *Course
	m       *Module
	slots   Slots
	borough string
	qnum    int // running question number across the module's checks
}

func esc(s string) string { return html.EscapeString(s) }

// text renders a plain-text field as paragraphs, with {{borough}} filled.
func (r *renderer) paras(s string) string {
	var b strings.Builder
	for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			b.WriteString("<p>" + esc(subst(p, r.borough)) + "</p>")
		}
	}
	return b.String()
}

func heading(level int, id, class, content string) string {
	attrs := ""
	if id != "" {
		attrs += ` id="` + id + `"`
	}
	if class != "" {
		attrs += ` class="` + class + `"`
	}
	return fmt.Sprintf("<h%d%s>%s</h%d>", level, attrs, content, level)
}

// page renders a page's body: Markdown runs and blocks in order.
func (r *renderer) page(p *Page) string {
	var b strings.Builder
	for _, pt := range p.parts {
		if pt.block == nil {
			b.WriteString(pt.html)
			continue
		}
		b.WriteString(r.block(p, pt.block))
	}
	return b.String()
}

func (r *renderer) block(p *Page, bl *block) string {
	h := bl.level
	switch bl.name {
	case "role":
		return fmt.Sprintf(`<details class="role-note" data-role="%s"><summary><span class="role-tag">Note for %s</span></summary><div class="role-body">%s</div></details>`,
			bl.arg, esc(roleNoteFor[bl.arg]), bl.bodyHTML)
	case "casestudy":
		return fmt.Sprintf(`<div class="casestudy">%s<p class="composite-label">Fictional composite: the people and organisations are invented.</p>%s</div>`,
			heading(h, "", "", "Case study: "+esc(bl.arg)), bl.bodyHTML)
	case "testimonial":
		return fmt.Sprintf(`<figure class="testimonial"><blockquote>%s</blockquote><figcaption>%s <span class="composite-label">(fictional composite)</span></figcaption></figure>`,
			bl.bodyHTML, esc(bl.arg))
	case "note", "tip", "important":
		label := map[string]string{"note": "Note", "tip": "Tip", "important": "Important"}[bl.name]
		return fmt.Sprintf(`<div class="callout callout-%s" role="note" aria-label="%s"><p class="callout-label">%s</p>%s</div>`, bl.name, label, label, bl.bodyHTML)
	case "reflection":
		id := "refl-" + bl.arg
		return fmt.Sprintf(`<div class="reflection" data-reflection="%[1]s"><p class="reflection-label">Reflection</p><div class="reflection-prompt" id="%[2]s-prompt">%[3]s</div>`+
			`<label for="%[2]s">Your answer</label><p class="hint" id="%[2]s-hint">Saved as you type. Only you can see it; it is shown again on the module summary.</p>`+
			`<textarea id="%[2]s" rows="5" aria-describedby="%[2]s-prompt %[2]s-hint" data-reflection-input="%[1]s"></textarea>`+
			`<p class="save-status" data-save-status aria-live="polite"></p></div>`, bl.arg, id, bl.bodyHTML)
	case "slot":
		return r.slot(bl)
	case "offer-builder":
		return r.draft(bl, "offer", "Your offer", offerFields, true)
	case "action-plan":
		return r.draft(bl, "plan", "Your action plan", planFields, false)
	case "check":
		return r.check(p, h)
	case "reflections":
		return r.reflections(h)
	case "scenario":
		return r.scenario(bl)
	case "self-assessment":
		return r.selfAssessment(bl)
	case "figure":
		return r.figure(bl)
	}
	return ""
}

func (r *renderer) reflections(h int) string {
	return heading(h, "", "", "Your reflections") +
		`<div class="my-reflections" data-my-reflections><p>Your answers to this module's reflective prompts appear here as you write them.</p></div>`
}

func (r *renderer) slot(bl *block) string {
	s := r.slots
	var b strings.Builder
	h := bl.level
	switch bl.arg {
	case "local-offers":
		if len(s.Offers) == 0 {
			break
		}
		b.WriteString(`<div class="slot slot-offers"><p class="slot-label">Local offers in ` + esc(r.borough) + `</p><ul class="cards">`)
		for _, o := range s.Offers {
			b.WriteString(`<li class="card">` + heading(h, "", "", esc(o.Name)))
			if o.Organisation != "" {
				b.WriteString(`<p class="card-org">` + esc(o.Organisation) + `</p>`)
			}
			b.WriteString(r.paras(o.Description))
			b.WriteString(dl([][2]string{{"Who it is for", o.WhoFor}, {"Where and when", o.WhereWhen}, {"Cost", o.Cost}, {"Access", o.Access}, {"How to refer", o.HowToRefer}, {"Contact", o.Contact}}))
			if o.URL != "" {
				b.WriteString(`<p><a href="` + esc(o.URL) + `" target="_blank" rel="noopener">More about ` + esc(o.Name) + `</a></p>`)
			}
			b.WriteString(`</li>`)
		}
		b.WriteString(`</ul></div>`)
	case "local-contacts":
		if len(s.Contacts) == 0 {
			break
		}
		b.WriteString(`<div class="slot slot-contacts"><p class="slot-label">Local contacts in ` + esc(r.borough) + `</p><ul class="cards">`)
		for _, c := range s.Contacts {
			name := c.Name
			if name == "" {
				name = c.Organisation
			}
			b.WriteString(`<li class="card">` + heading(h, "", "", esc(name)))
			rows := [][2]string{{"Role", c.Role}, {"Phone", c.Phone}}
			if c.Name != "" {
				rows = append([][2]string{{"Organisation", c.Organisation}}, rows...)
			}
			b.WriteString(dl(rows))
			if c.Email != "" {
				b.WriteString(`<p>Email: <a href="mailto:` + esc(c.Email) + `">` + esc(c.Email) + `</a></p>`)
			}
			b.WriteString(r.paras(c.Notes))
			if c.URL != "" {
				b.WriteString(`<p><a href="` + esc(c.URL) + `" target="_blank" rel="noopener">Website of ` + esc(name) + `</a></p>`)
			}
			b.WriteString(`</li>`)
		}
		b.WriteString(`</ul></div>`)
	case "local-case-studies":
		if len(s.CaseStudies) == 0 {
			break
		}
		b.WriteString(`<div class="slot slot-case-studies"><p class="slot-label">Case studies from ` + esc(r.borough) + `</p>`)
		for _, cs := range s.CaseStudies {
			b.WriteString(`<div class="casestudy">` + heading(h, "", "", "Case study: "+esc(cs.Title)) + r.paras(cs.Body) + `</div>`)
		}
		b.WriteString(`</div>`)
	}
	if b.Len() > 0 {
		return b.String()
	}
	// Nothing filled: the writers' London-wide default, shown as a
	// placeholder so that it does not read as course text.
	what := map[string]string{"local-offers": "Local offers", "local-contacts": "Local contacts", "local-case-studies": "Local case studies"}[bl.arg]
	return `<div class="slot slot-default" role="note" aria-label="` + what + ` not added yet"><p class="slot-label">` + what + ` for ` + esc(r.borough) +
		` have not been added yet</p><p class="slot-hint">Your borough can add them. Until then:</p>` + bl.bodyHTML + `</div>`
}

func dl(rows [][2]string) string {
	var b strings.Builder
	for _, r := range rows {
		if strings.TrimSpace(r[1]) != "" {
			b.WriteString("<dt>" + esc(r[0]) + "</dt><dd>" + esc(r[1]) + "</dd>")
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "<dl>" + b.String() + "</dl>"
}

func (r *renderer) draft(bl *block, name, title string, fields []draftField, hints bool) string {
	var b strings.Builder
	b.WriteString(bl.bodyHTML)
	fmt.Fprintf(&b, `<form class="draft" data-draft="%s" aria-labelledby="draft-%s-title" novalidate>`, name, name)
	b.WriteString(heading(bl.level, "draft-"+name+"-title", "", esc(title)))
	b.WriteString(`<p class="hint">Saved as you type. You can come back to it later, download it or print it.</p>`)
	for _, f := range fields {
		id := "draft-" + name + "-" + f.ID
		fmt.Fprintf(&b, `<div class="field"><label for="%[1]s">%[2]s</label><p class="hint" id="%[1]s-hint">%[3]s</p><textarea id="%[1]s" rows="4" data-field="%[4]s" aria-describedby="%[1]s-hint"></textarea></div>`,
			id, esc(f.Label), esc(f.Hint), f.ID)
	}
	if hints {
		// The list updates as the learner types; a one-line summary is what
		// screen readers hear, politely and only after a pause in typing.
		fmt.Fprintf(&b, `<div class="plain-hints" id="draft-%s-hints"><p class="plain-hints-title">Plain-language hints</p><div data-hints><p>Start writing and hints about sentence length, jargon and reading age appear here.</p></div><p class="visually-hidden" data-hints-summary aria-live="polite"></p></div>`, name)
	}
	b.WriteString(`<p class="save-status" data-save-status aria-live="polite"></p>`)
	b.WriteString(`<div class="actions"><button type="button" data-draft-download>Download as a text file</button> <button type="button" data-draft-print>Print</button></div></form>`)
	return b.String()
}

// check renders the page's knowledge-check questions as forms.
func (r *renderer) check(p *Page, h int) string {
	var b strings.Builder
	// Numbered within the page: a role's page has questions of its own.
	total := len(p.QuestionIDs)
	r.qnum = 0
	b.WriteString(`<div class="knowledge-check">`)
	for _, id := range p.QuestionIDs {
		q := r.question(id)
		if q == nil {
			continue
		}
		r.qnum++
		qid := "q-" + q.ID
		fmt.Fprintf(&b, `<form class="question" id="%s" data-question="%s" novalidate><fieldset aria-describedby="%s-error">`, qid, q.ID, qid)
		fmt.Fprintf(&b, `<legend><span class="q-number">Question %d of %d.</span> %s</legend>`, r.qnum, total, esc(subst(q.Prompt, r.borough)))
		fmt.Fprintf(&b, `<p class="field-error" id="%s-error" data-error hidden></p>`, qid)
		switch q.Type {
		case Choice, MultipleChoice:
			kind := "radio"
			if q.Type == MultipleChoice {
				kind = "checkbox"
			}
			for _, c := range q.Choices {
				fmt.Fprintf(&b, `<div class="option"><input type="%s" name="%s" id="%s-%s" value="%s"><label for="%s-%s">%s</label></div>`,
					kind, qid, qid, c.ID, esc(c.ID), qid, c.ID, esc(subst(c.Text, r.borough)))
			}
		case TrueFalse:
			for _, v := range []string{"true", "false"} {
				fmt.Fprintf(&b, `<div class="option"><input type="radio" name="%s" id="%s-%s" value="%s"><label for="%s-%s">%s</label></div>`,
					qid, qid, v, v, qid, v, strings.ToUpper(v[:1])+v[1:])
			}
		case FillIn:
			fmt.Fprintf(&b, `<div class="field"><label for="%s-input">Your answer</label><input type="text" id="%s-input" autocomplete="off" spellcheck="false"></div>`, qid, qid)
		case Matching:
			for _, s := range q.Pairs.Source {
				fmt.Fprintf(&b, `<div class="field match"><label for="%s-%s">%s</label><select id="%s-%s" data-source="%s"><option value="">Choose a match</option>`,
					qid, s.ID, esc(subst(s.Text, r.borough)), qid, s.ID, s.ID)
				for _, t := range q.Pairs.Target {
					fmt.Fprintf(&b, `<option value="%s">%s</option>`, esc(t.ID), esc(subst(t.Text, r.borough)))
				}
				b.WriteString(`</select></div>`)
			}
		case Sequencing:
			b.WriteString(`<p class="hint">Give each item its position, from 1 (first) to ` + fmt.Sprint(len(q.Choices)) + ` (last).</p>`)
			for _, c := range shuffled(q) {
				fmt.Fprintf(&b, `<div class="field match"><label for="%s-%s">%s</label><select id="%s-%s" data-item="%s"><option value="">Position</option>`,
					qid, c.ID, esc(subst(c.Text, r.borough)), qid, c.ID, c.ID)
				for i := range q.Choices {
					fmt.Fprintf(&b, `<option value="%d">%d</option>`, i+1, i+1)
				}
				b.WriteString(`</select></div>`)
			}
		}
		// Feedback is a live region so it is read out after Check answer;
		// the retry button appears after an attempt that was not right.
		fmt.Fprintf(&b, `</fieldset><button type="submit">Check answer</button><div class="feedback" id="%s-feedback" role="status"></div>`+
			`<button type="button" class="secondary" data-question-retry hidden>Try this question again</button></form>`, qid)
	}
	b.WriteString(`<div class="check-result" data-check-result role="status"></div>`)
	b.WriteString(`<button type="button" class="secondary" data-check-retry hidden>Try the knowledge check again</button></div>`)
	return b.String()
}

func (r *renderer) question(id string) *Question {
	for _, q := range r.m.Questions {
		if q.ID == id {
			return q
		}
	}
	return nil
}

// shuffled returns a sequencing question's items in a stable order that is
// not the right answer, so the same sources always build the same page.
func shuffled(q *Question) []Item {
	items := slices.Clone(q.Choices)
	key := func(it Item) uint64 {
		h := fnv.New64a()
		h.Write([]byte(q.ID + "/" + it.ID))
		return h.Sum64()
	}
	slices.SortFunc(items, func(a, b Item) int {
		ka, kb := key(a), key(b)
		switch {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return 0
	})
	if slices.Equal(itemIDs(items), q.Correct) && len(items) > 1 {
		items = append(items[1:], items[0])
	}
	return items
}
