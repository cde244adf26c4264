package svgchart

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

// wellFormed parses the SVG as XML and counts elements by name.
func wellFormed(t *testing.T, svg string) map[string]int {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	counts := map[string]int{}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed SVG: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok {
			counts[se.Name.Local]++
			for _, a := range se.Attr {
				if a.Name.Local == "style" {
					t.Errorf("style attribute breaks the CSP: %v", se)
				}
			}
		}
	}
	return counts
}

func TestCharts(t *testing.T) {
	tests := []struct {
		name      string
		svg       string
		wantElem  string
		wantCount int
		wantText  []string
	}{
		{"bar", string(Bar{ID: "b", Title: "Starts <&> completions", Description: "d", Categories: []string{"Module 1", "Module 2"},
			Series: []Series{{Name: "Starts", Values: []float64{10, 4}}, {Name: "Completions", Values: []float64{7, 1}}}}.SVG()),
			"rect", 2*2 + 2, []string{"Starts &lt;&amp;&gt; completions", ">10<", "Module 2, Completions: 1"}},
		{"bar percent", string(Bar{ID: "p", Title: "Pass rate", Categories: []string{"M1"}, Percent: true,
			Series: []Series{{Name: "Pass rate", Values: []float64{0.75}}}}.SVG()), "rect", 1 + 1, []string{"75%", "100%"}},
		{"empty bar", string(Bar{ID: "e", Title: "Nothing"}.SVG()), "rect", 0, []string{"No data yet"}},
		{"line", string(Line{ID: "l", Title: "Weekly", X: []string{"2026-03-02", "2026-03-09", "2026-03-16"},
			Series: []Series{{Name: "Starts", Values: []float64{1, 5, 3}}}}.SVG()), "circle", 3, []string{"2026-03-09, Starts: 5"}},
		{"funnel", string(Funnel{ID: "f", Title: "Funnel", Steps: []Step{{"Started", 40}, {"Completed", 30}, {"Passed", 10}}}.SVG()),
			"rect", 3, []string{"30 (75%)", "10 (25%)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counts := wellFormed(t, tt.svg)
			if counts[tt.wantElem] != tt.wantCount {
				t.Errorf("got %d <%s>, want %d", counts[tt.wantElem], tt.wantElem, tt.wantCount)
			}
			if counts["title"] < 1 || counts["desc"] != 1 || !strings.Contains(tt.svg, `role="img"`) {
				t.Errorf("chart lacks role, title or description")
			}
			for _, want := range tt.wantText {
				if !strings.Contains(tt.svg, want) {
					t.Errorf("SVG lacks %q", want)
				}
			}
		})
	}
}
