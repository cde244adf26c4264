package server

import (
	"html/template"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/svgchart"
	"github.com/reach-london/reach/reports"
	"github.com/reach-london/reach/server/web"
)

// reportView is what admin_reports.html shows: the charts and the tables
// with the same figures beside them.
type reportView struct {
	Nav        adminNav
	Scope      string
	Report     reports.Report
	Query      string // the filter as a query string, for CSV links
	BasePath   string // the page's path, for the filter form
	CSVBase    string
	Tables     []string
	Roles      []roleOption
	ByRole     []roleRow
	Funnel     template.HTML
	Starts     template.HTML
	PassRates  template.HTML
	Weekly     template.HTML
	RoleStarts template.HTML
	Questions  []questionView
}

type roleOption struct {
	Value, Label string
	Selected     bool
}

type roleRow struct {
	Label string
	reports.RoleRow
}

type answerRow struct {
	Response string
	Mark     string
	Count    int
}

type questionView struct {
	Module   string
	Title    string
	Total    int
	Correct  int
	Percent  string
	Answers  []answerRow
	Question string
}

// roleLabels names the professional roles for people.
var roleLabels = map[string]string{
	"artist": "Artist or arts organisation", "linkworker": "Link worker", "gp": "GP or primary care",
	"other": "Other", "unknown": "Not known",
}

func roleLabel(r string) string {
	if l := roleLabels[r]; l != "" {
		return l
	}
	return r
}

// adminReportsPage is a borough's reports page.
func (s *adminUI) adminReportsPage(c echo.Context, v adminView) error {
	if s.deps.Reports == nil {
		return errs.E(errs.NotFound, "reports are not available")
	}
	r, name, err := s.boroughReport(c)
	if err != nil {
		return err
	}
	b := r.Filter.Borough
	return s.renderReport(c, r, name, "/admin/"+b+"/reports", "/api/v1/boroughs/"+b+"/reports/", s.adminPage(c, v, "Reports", "reports", nil))
}

// adminLondonReportsPage is the platform admins' London-wide reports page.
func (s *adminUI) adminLondonReportsPage(c echo.Context, v adminView) error {
	if s.deps.Reports == nil {
		return errs.E(errs.NotFound, "reports are not available")
	}
	r, name, err := s.londonReport(c)
	if err != nil {
		return err
	}
	return s.renderReport(c, r, name, "/admin/reports", "/api/v1/reports/", s.adminPage(c, v, "London reports", "london-reports", nil))
}

func (s *Server) renderReport(c echo.Context, r reports.Report, scope, base, csvBase string, page web.Page) error {
	q := url.Values{}
	for _, k := range []string{"from", "to", "role", "borough"} {
		if v := c.QueryParam(k); v != "" {
			q.Set(k, v)
		}
	}
	nav, _ := page.Data.(map[string]any)["Nav"].(adminNav)
	v := reportView{Nav: nav, Scope: scope, Report: r, Query: q.Encode(), BasePath: base, CSVBase: csvBase, Tables: ReportTables}
	for _, role := range append(append([]string{}, reports.Roles...), "unknown") {
		v.Roles = append(v.Roles, roleOption{Value: role, Label: roleLabel(role), Selected: role == r.Filter.Role})
	}
	for _, rr := range r.ByRole {
		v.ByRole = append(v.ByRole, roleRow{Label: roleLabel(rr.Role), RoleRow: rr})
	}
	var cats []string
	var starts, completions, passRates []float64
	for _, m := range r.Modules {
		cats = append(cats, m.Title)
		starts = append(starts, float64(m.Starts))
		completions = append(completions, float64(m.Completions))
		passRates = append(passRates, m.PassRate)
	}
	tot := r.Totals()
	v.Funnel = svgchart.Funnel{ID: "funnel", Title: "From starting a module to satisfying it",
		Description: "Module starts, completions, passes and satisfied modules, all modules together. The same figures are in the table below.",
		Steps: []svgchart.Step{{Label: "Started", Value: float64(tot.Starts)}, {Label: "Completed", Value: float64(tot.Completions)},
			{Label: "Passed", Value: float64(tot.Passes)}, {Label: "Satisfied", Value: float64(tot.Satisfied)}}}.SVG()
	v.Starts = svgchart.Bar{ID: "starts", Title: "Starts and completions by module",
		Description: "For each module, the number of learners who started and who completed it. The same figures are in the modules table.",
		Categories:  cats, Series: []svgchart.Series{{Name: "Starts", Values: starts}, {Name: "Completions", Values: completions}}}.SVG()
	v.PassRates = svgchart.Bar{ID: "passrates", Title: "Pass rate by module", Percent: true,
		Description: "The share of learners who passed among those who passed or failed each module.",
		Categories:  cats, Series: []svgchart.Series{{Name: "Pass rate", Values: passRates}}}.SVG()

	var x []string
	var wStarts, wComp []float64
	for _, w := range r.WeekTotals() {
		x = append(x, w.Week)
		wStarts, wComp = append(wStarts, float64(w.Starts)), append(wComp, float64(w.Completions))
	}
	v.Weekly = svgchart.Line{ID: "weekly", Title: "Starts and completions week by week",
		Description: "All modules together, by the week (beginning Monday) in which a learner started or completed a module.",
		X:           x, Series: []svgchart.Series{{Name: "Starts", Values: wStarts}, {Name: "Completions", Values: wComp}}}.SVG()

	var rs, rc []float64
	var roleNames []string
	for _, rt := range r.RoleTotals() {
		rs, rc = append(rs, float64(rt.Starts)), append(rc, float64(rt.Completions))
		roleNames = append(roleNames, roleLabel(rt.Role))
	}
	v.RoleStarts = svgchart.Bar{ID: "roles", Title: "Starts and completions by professional role",
		Description: "All modules together, by the role learners chose. The same figures are in the roles table.",
		Categories:  roleNames, Series: []svgchart.Series{{Name: "Starts", Values: rs}, {Name: "Completions", Values: rc}}}.SVG()

	byQ := map[string]*questionView{}
	var order []string
	for _, a := range r.Answers {
		qv := byQ[a.Question]
		if qv == nil {
			qv = &questionView{Module: a.AU, Title: a.Title, Question: a.Question}
			byQ[a.Question] = qv
			order = append(order, a.Question)
		}
		qv.Total += a.Count
		mark := "Not marked"
		if a.Correct != nil {
			mark = "Wrong"
			if *a.Correct {
				mark = "Right"
				qv.Correct += a.Count
			}
		}
		resp := a.Response
		if resp == "" {
			resp = "(no response)"
		}
		qv.Answers = append(qv.Answers, answerRow{Response: resp, Mark: mark, Count: a.Count})
	}
	for _, id := range order {
		qv := byQ[id]
		if qv.Total > 0 {
			qv.Percent = pct(float64(qv.Correct) / float64(qv.Total))
		}
		v.Questions = append(v.Questions, *qv)
	}
	page.Title, page.Data = "Reports: "+scope, v
	return s.render(c, http.StatusOK, "admin_reports", page)
}
