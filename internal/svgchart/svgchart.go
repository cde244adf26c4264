// Package svgchart draws the reports' charts as inline SVG on the server:
// bar, line and funnel charts that need no script, obey a strict CSP (only
// presentation attributes, no style attributes) and carry a title and a
// description for screen readers. Every chart is shown beside a data table
// with the same figures, and series differ by pattern and label as well as
// colour, so nothing depends on colour alone.
package svgchart

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Palette colours have at least 3:1 contrast against white, as WCAG 2.2
// asks of graphical objects.
var palette = []string{"#1d5b8f", "#b3541e", "#2e7d32", "#6a3d9a", "#8a6d00", "#a1235b"}

// dashes tell series apart without colour.
var dashes = []string{"", "6 3", "2 3", "10 3 2 3"}

// Series is one named row of values.
type Series struct {
	Name   string
	Values []float64
}

// Bar is a grouped bar chart: one group per category, one bar per series.
type Bar struct {
	ID          string // unique on the page; used for aria ids
	Title       string
	Description string
	Categories  []string
	Series      []Series
	// Percent formats values as percentages of 1.
	Percent bool
}

// Line is a line chart over ordered X labels (e.g. weeks).
type Line struct {
	ID          string
	Title       string
	Description string
	X           []string
	Series      []Series
}

// Step is one stage of a funnel.
type Step struct {
	Label string
	Value float64
}

// Funnel shows how many reach each stage.
type Funnel struct {
	ID          string
	Title       string
	Description string
	Steps       []Step
}

const (
	width  = 720
	left   = 56
	right  = 16
	top    = 40
	bottom = 64
)

func esc(s string) string { return html.EscapeString(s) }

func num(v float64, percent bool) string {
	if percent {
		return strconv.FormatFloat(v*100, 'f', 0, 64) + "%"
	}
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// niceMax rounds the axis maximum up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func open(b *strings.Builder, id, title, desc string, height int) {
	fmt.Fprintf(b, `<svg class="chart" viewBox="0 0 %d %d" width="100%%" role="img" aria-labelledby="%s-t %s-d" xmlns="http://www.w3.org/2000/svg">`,
		width, height, esc(id), esc(id))
	fmt.Fprintf(b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, esc(id), esc(title), esc(id), esc(desc))
}

func axis(b *strings.Builder, max float64, height int, percent bool) {
	plotH := float64(height - top - bottom)
	for i := 0; i <= 4; i++ {
		v := max * float64(i) / 4
		y := float64(height-bottom) - plotH*float64(i)/4
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#d0d0d0" stroke-width="1"/>`, left, width-right, y, y)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" font-size="12" text-anchor="end" fill="#333">%s</text>`, left-6, y+4, num(v, percent))
	}
}

func legend(b *strings.Builder, series []Series, line bool) {
	x := left
	for i, s := range series {
		c := palette[i%len(palette)]
		if line {
			fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="16" y2="16" stroke="%s" stroke-width="3" stroke-dasharray="%s"/>`, x, x+24, c, dashes[i%len(dashes)])
		} else {
			fmt.Fprintf(b, `<rect x="%d" y="8" width="16" height="16" fill="%s"/>`, x, c)
			fmt.Fprintf(b, `<text x="%d" y="21" font-size="11" font-weight="bold" fill="#fff" text-anchor="middle">%d</text>`, x+8, i+1)
		}
		fmt.Fprintf(b, `<text x="%d" y="21" font-size="13" fill="#222">%s</text>`, x+30, esc(s.Name))
		x += 40 + 8*len(s.Name)
	}
}

// SVG renders the bar chart.
func (c Bar) SVG() template.HTML {
	height := 320
	var b strings.Builder
	open(&b, c.ID, c.Title, c.Description, height)
	max := 0.0
	for _, s := range c.Series {
		for _, v := range s.Values {
			max = math.Max(max, v)
		}
	}
	if c.Percent {
		max = 1
	} else {
		max = niceMax(max)
	}
	axis(&b, max, height, c.Percent)
	legend(&b, c.Series, false)
	plotW := float64(width - left - right)
	plotH := float64(height - top - bottom)
	groups := len(c.Categories)
	if groups == 0 || len(c.Series) == 0 {
		b.WriteString(`<text x="360" y="160" text-anchor="middle" font-size="14" fill="#333">No data yet</text></svg>`)
		return template.HTML(b.String())
	}
	groupW := plotW / float64(groups)
	barW := math.Min(48, groupW*0.8/float64(len(c.Series)))
	for g, cat := range c.Categories {
		x0 := float64(left) + groupW*float64(g) + (groupW-barW*float64(len(c.Series)))/2
		for si, s := range c.Series {
			v := 0.0
			if g < len(s.Values) {
				v = s.Values[g]
			}
			h := plotH * v / max
			x := x0 + barW*float64(si)
			y := float64(height-bottom) - h
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s, %s: %s</title></rect>`,
				x, y, barW-2, h, palette[si%len(palette)], esc(cat), esc(s.Name), num(v, c.Percent))
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle" fill="#222">%s</text>`, x+barW/2-1, y-4, num(v, c.Percent))
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="12" text-anchor="middle" fill="#222">%s</text>`,
			float64(left)+groupW*(float64(g)+0.5), height-bottom+18, esc(shorten(cat, int(groupW/7))))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// SVG renders the line chart.
func (c Line) SVG() template.HTML {
	height := 300
	var b strings.Builder
	open(&b, c.ID, c.Title, c.Description, height)
	max := 0.0
	for _, s := range c.Series {
		for _, v := range s.Values {
			max = math.Max(max, v)
		}
	}
	max = niceMax(max)
	axis(&b, max, height, false)
	legend(&b, c.Series, true)
	if len(c.X) == 0 {
		b.WriteString(`<text x="360" y="150" text-anchor="middle" font-size="14" fill="#333">No data yet</text></svg>`)
		return template.HTML(b.String())
	}
	plotW := float64(width - left - right)
	plotH := float64(height - top - bottom)
	step := plotW
	if len(c.X) > 1 {
		step = plotW / float64(len(c.X)-1)
	}
	xAt := func(i int) float64 {
		if len(c.X) == 1 {
			return float64(left) + plotW/2
		}
		return float64(left) + step*float64(i)
	}
	every := int(math.Ceil(float64(len(c.X)) / 8))
	for i, x := range c.X {
		if i%every == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="#222">%s</text>`, xAt(i), height-bottom+18, esc(x))
		}
	}
	for si, s := range c.Series {
		var pts []string
		for i, v := range s.Values {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xAt(i), float64(height-bottom)-plotH*v/max))
		}
		col := palette[si%len(palette)]
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="3" stroke-dasharray="%s"/>`, strings.Join(pts, " "), col, dashes[si%len(dashes)])
		for i, v := range s.Values {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"><title>%s, %s: %s</title></circle>`,
				xAt(i), float64(height-bottom)-plotH*v/max, col, esc(c.X[i]), esc(s.Name), num(v, false))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// SVG renders the funnel: one bar per step, each labelled with its count
// and its share of the first step.
func (c Funnel) SVG() template.HTML {
	rowH := 44
	height := top + rowH*len(c.Steps) + 8
	var b strings.Builder
	open(&b, c.ID, c.Title, c.Description, height)
	first := 0.0
	if len(c.Steps) > 0 {
		first = c.Steps[0].Value
	}
	labelW := 180.0
	plotW := float64(width-right) - labelW - 120
	for i, s := range c.Steps {
		y := float64(top + rowH*i)
		w := 0.0
		if first > 0 {
			w = plotW * s.Value / first
		}
		share := ""
		if first > 0 {
			share = fmt.Sprintf(" (%s)", num(s.Value/first, true))
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="13" text-anchor="end" fill="#222">%s</text>`, labelW-8, y+float64(rowH)/2+4, esc(s.Label))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s"><title>%s: %s%s</title></rect>`,
			labelW, y+6, math.Max(w, 1), rowH-12, palette[0], esc(s.Label), num(s.Value, false), share)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="13" fill="#222">%s%s</text>`, labelW+math.Max(w, 1)+8, y+float64(rowH)/2+4, num(s.Value, false), share)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func shorten(s string, n int) string {
	if n < 4 {
		n = 4
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
