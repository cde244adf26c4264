package course

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

// block is one ":::name argument" ... ":::" block of a page.
type block struct {
	name, arg string
	line      int // line of the opening :::
	body      string
	bodyHTML  string
	level     int // heading level for the block's own heading
	figure    *figure
}

// part is a run of Markdown or one block, in page order.
type part struct {
	text  string // Markdown source (a block's body for blocks)
	html  string // rendered Markdown (empty for blocks)
	block *block
}

// blockRule says what argument a block takes.
type blockRule struct {
	arg    string   // "", "required" or "none"
	values []string // allowed arguments, when fixed
	noBody bool     // the block's content is generated, so writers leave it empty
}

var blockRules = map[string]blockRule{
	"role":          {arg: "required", values: Roles},
	"casestudy":     {arg: "required"},
	"testimonial":   {arg: "required"},
	"reflection":    {arg: "required"},
	"slot":          {arg: "required", values: []string{"local-offers", "local-contacts", "local-case-studies"}},
	"note":          {arg: "none"},
	"tip":           {arg: "none"},
	"important":     {arg: "none"},
	"offer-builder": {arg: "none"},
	"action-plan":   {arg: "none"},
	"check":         {arg: "none", noBody: true},
	"reflections":   {arg: "none", noBody: true},
	"scenario":      {arg: "required", noBody: true},
	// The body opens with "alt:" (and optionally "caption:") lines, then
	// the long description.
	"figure": {arg: "required"},
	// The body is the free-text question asked with the confidence ratings.
	"self-assessment": {arg: "required", values: []string{"start", "end"}},
}

var blockOpen = regexp.MustCompile(`^:::([A-Za-z][A-Za-z0-9-]*)(?:\s+(.*?))?\s*$`)

// parseBody splits a page body into Markdown and blocks, checks the blocks
// and renders the Markdown.
func parseBody(body, file string, firstLine int, pr *problems) []part {
	lines := strings.Split(body, "\n")
	var parts []part
	var md []string
	var open *block
	var inner []string
	var fence string
	flushMD := func() {
		if len(md) > 0 {
			parts = append(parts, part{text: strings.Join(md, "\n")})
			md = nil
		}
	}
	for i, ln := range lines {
		lineNo := firstLine + i
		trimmed := strings.TrimSpace(ln)
		// Fenced code may show block syntax literally.
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
		} else if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
		}
		if fence == "" && strings.HasPrefix(trimmed, ":::") {
			if trimmed == ":::" {
				if open == nil {
					pr.add(file, lineNo, "closing ::: without an open block")
					continue
				}
				open.body = strings.Join(inner, "\n")
				parts = append(parts, part{text: open.body, block: open})
				open, inner = nil, nil
				continue
			}
			m := blockOpen.FindStringSubmatch(trimmed)
			if open != nil {
				pr.add(file, lineNo, "blocks do not nest: %q opens inside the :::%s block from line %d (close it with a line :::)", trimmed, open.name, open.line)
				continue
			}
			if m == nil {
				pr.add(file, lineNo, "malformed block line %q", trimmed)
				continue
			}
			flushMD()
			b := &block{name: m[1], arg: strings.TrimSpace(m[2]), line: lineNo}
			checkBlock(b, file, pr)
			open = b
			continue
		}
		if open != nil {
			inner = append(inner, ln)
		} else {
			md = append(md, ln)
		}
	}
	if open != nil {
		pr.add(file, open.line, "the :::%s block is never closed (end it with a line :::)", open.name)
		open.body = strings.Join(inner, "\n")
		parts = append(parts, part{text: open.body, block: open})
	}
	flushMD()

	// Render Markdown and check headings across the whole page: the title is
	// h1, so body headings start at ## and may not skip a level.
	level := 1
	lineOf := lineIndex(body, firstLine)
	for i := range parts {
		pt := &parts[i]
		if pt.block != nil {
			b := pt.block
			b.level = min(level+1, 6)
			if rule := blockRules[b.name]; rule.noBody && strings.TrimSpace(b.body) != "" {
				pr.add(file, b.line, "the :::%s block is generated; leave it empty", b.name)
			}
			if strings.TrimSpace(b.body) == "" && !blockRules[b.name].noBody && b.name != "offer-builder" && b.name != "action-plan" && b.name != "slot" {
				pr.add(file, b.line, "the :::%s block is empty", b.name)
			}
			inner := b.level
			line := lineOf(b.body, b.line+1)
			if b.name == "figure" {
				parseFigureHead(b, file, pr)
			}
			b.bodyHTML = renderMarkdown(b.body, file, line, &inner, pr)
			continue
		}
		pt.html = renderMarkdown(pt.text, file, lineOf(pt.text, 0), &level, pr)
	}
	return parts
}

// lineIndex returns a function that finds the line where a chunk of body
// starts; chunks are taken in order, so a running offset keeps it exact.
func lineIndex(body string, firstLine int) func(chunk string, hint int) int {
	offset := 0
	return func(chunk string, hint int) int {
		if chunk == "" {
			return hint
		}
		idx := strings.Index(body[offset:], chunk)
		if idx < 0 {
			return hint
		}
		start := offset + idx
		offset = start + len(chunk)
		return firstLine + strings.Count(body[:start], "\n")
	}
}

func checkBlock(b *block, file string, pr *problems) {
	rule, ok := blockRules[b.name]
	if !ok {
		names := make([]string, 0, len(blockRules))
		for n := range blockRules {
			names = append(names, n)
		}
		slices.Sort(names)
		pr.add(file, b.line, "unknown block :::%s (known blocks: %s)", b.name, strings.Join(names, ", "))
		return
	}
	switch {
	case rule.arg == "none" && b.arg != "":
		pr.add(file, b.line, ":::%s takes no argument, got %q", b.name, b.arg)
	case rule.arg == "required" && b.arg == "":
		pr.add(file, b.line, ":::%s needs an argument", b.name)
	case len(rule.values) > 0 && !slices.Contains(rule.values, b.arg):
		pr.add(file, b.line, ":::%s %s: %q must be one of %s", b.name, b.arg, b.arg, strings.Join(rule.values, ", "))
	case b.name == "reflection" && !idPattern.MatchString(b.arg):
		pr.add(file, b.line, ":::reflection id %q must be a lowercase slug such as \"m1-r1\"", b.arg)
	case b.name == "scenario" && !idPattern.MatchString(b.arg):
		pr.add(file, b.line, ":::scenario id %q must be a lowercase slug such as \"m1-s1\"", b.arg)
	}
}

var markdown = goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify))

// renderMarkdown renders src, checking its headings continue from *level
// and rejecting what the runtime cannot show safely (raw HTML, images).
func renderMarkdown(src, file string, firstLine int, level *int, pr *problems) string {
	if strings.TrimSpace(src) == "" {
		return ""
	}
	source := []byte(src)
	doc := markdown.Parser().Parse(text.NewReader(source))
	lineAt := func(n ast.Node) int {
		for c := n; c != nil; c = c.Parent() {
			if c.Type() == ast.TypeBlock && c.Lines().Len() > 0 {
				return firstLine + bytes.Count(source[:c.Lines().At(0).Start], []byte("\n"))
			}
		}
		return firstLine
	}
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Heading:
			switch {
			case n.Level == 1:
				pr.add(file, lineAt(n), "use ## for headings; # is the page title")
			case n.Level > *level+1:
				pr.add(file, lineAt(n), "heading level %d skips a level (the previous heading is level %d)", n.Level, *level)
			}
			*level = n.Level
		case *ast.HTMLBlock, *ast.RawHTML:
			pr.add(file, lineAt(n), "raw HTML is not allowed in pages; use Markdown")
		case *ast.Image:
			pr.add(file, lineAt(n), "use a :::figure block for images, with alt text and a long description")
		case *ast.Link:
			// External links open in a new tab so the learner does not leave
			// the AU (which would end its session).
			if d := string(n.Destination); strings.HasPrefix(d, "http://") || strings.HasPrefix(d, "https://") {
				n.SetAttributeString("target", []byte("_blank"))
				n.SetAttributeString("rel", []byte("noopener"))
			}
		}
		return ast.WalkContinue, nil
	})
	var buf bytes.Buffer
	if err := markdown.Renderer().Render(&buf, source, doc); err != nil {
		pr.add(file, firstLine, "cannot render Markdown: %v", err)
	}
	// Wide tables scroll inside a focusable region rather than widening the
	// page on a phone.
	out := strings.ReplaceAll(buf.String(), "<table>", `<div class="table-wrap" tabindex="0" role="group" aria-label="Table (scrolls sideways)"><table>`)
	return strings.ReplaceAll(out, "</table>", "</table></div>")
}

var linkTarget = regexp.MustCompile(`\]\([^)]*\)`)

// countWords counts learner-facing words in Markdown: runs of text with at
// least one letter or digit, ignoring link targets and markup.
func countWords(md string) int {
	md = linkTarget.ReplaceAllString(md, "]")
	n := 0
	for _, f := range strings.Fields(md) {
		if strings.IndexFunc(f, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0 {
			n++
		}
	}
	return n
}
