package server

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/reports"
)

func (s *Server) routesReports(api *echo.Group) {
	if s.deps.Reports == nil {
		return
	}
	api.GET("/boroughs/:borough/reports", s.boroughReportJSON)
	api.GET("/boroughs/:borough/reports/:table", s.boroughReportCSV)
	api.GET("/reports", s.londonReportJSON)
	api.GET("/reports/:table", s.londonReportCSV)
}

// reportFilter reads from, to and role from the query string.
func reportFilter(c echo.Context) (reports.Filter, error) {
	var f reports.Filter
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if v := c.QueryParam(name); v != "" {
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				return f, errs.E(errs.Invalid, "%s must be a date as YYYY-MM-DD, got %q", name, v)
			}
			*dst = t
		}
	}
	f.Role = c.QueryParam("role")
	return f, nil
}

// londonScope checks a platform admin and applies an optional borough=slug.
func (s *Server) londonScope(c echo.Context, f *reports.Filter) (string, error) {
	if _, err := requireRole(c, auth.RolePlatformAdmin); err != nil {
		return "", err
	}
	if slug := c.QueryParam("borough"); slug != "" {
		b, err := s.deps.Auth.BoroughBySlug(c.Request().Context(), slug)
		if err != nil {
			return "", err
		}
		f.Borough = b.ID
		return b.Name, nil
	}
	return "London (all boroughs)", nil
}

func (s *Server) boroughReport(c echo.Context) (reports.Report, string, error) {
	b, _, err := s.adminOf(c)
	if err != nil {
		return reports.Report{}, "", err
	}
	f, err := reportFilter(c)
	if err != nil {
		return reports.Report{}, "", err
	}
	f.Borough = b.ID
	r, err := s.deps.Reports.Report(c.Request().Context(), f)
	r.Filter.Borough = b.Slug
	return r, b.Name, err
}

func (s *Server) londonReport(c echo.Context) (reports.Report, string, error) {
	f, err := reportFilter(c)
	if err != nil {
		return reports.Report{}, "", err
	}
	name, err := s.londonScope(c, &f)
	if err != nil {
		return reports.Report{}, "", err
	}
	r, err := s.deps.Reports.Report(c.Request().Context(), f)
	r.Filter.Borough = c.QueryParam("borough")
	return r, name, err
}

func (s *Server) boroughReportJSON(c echo.Context) error {
	r, _, err := s.boroughReport(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (s *Server) londonReportJSON(c echo.Context) error {
	r, _, err := s.londonReport(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (s *Server) boroughReportCSV(c echo.Context) error {
	r, _, err := s.boroughReport(c)
	if err != nil {
		return err
	}
	return writeReportCSV(c, r, "reach-"+r.Filter.Borough)
}

func (s *Server) londonReportCSV(c echo.Context) error {
	r, _, err := s.londonReport(c)
	if err != nil {
		return err
	}
	return writeReportCSV(c, r, "reach-london-all")
}

// ReportTables names the CSV exports, one per report table.
var ReportTables = []string{"modules.csv", "roles.csv", "weekly.csv", "dropoff.csv", "answers.csv"}

func pct(v float64) string  { return strconv.FormatFloat(v*100, 'f', 1, 64) }
func mins(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
func itoa(n int) string     { return strconv.Itoa(n) }

// reportRows returns the header and rows of one report table.
func reportRows(r reports.Report, table string) ([]string, [][]string, bool) {
	switch table {
	case "modules.csv":
		rows := [][]string{}
		for _, m := range r.Modules {
			rows = append(rows, []string{m.Title, m.AU, itoa(m.Starts), itoa(m.Completions), itoa(m.Passes), itoa(m.Fails), pct(m.PassRate), itoa(m.Satisfied), mins(m.MedianMinutes)})
		}
		return []string{"module", "activity_id", "starts", "completions", "passes", "fails", "pass_rate_percent", "satisfied", "median_minutes"}, rows, true
	case "roles.csv":
		rows := [][]string{}
		for _, m := range r.ByRole {
			rows = append(rows, []string{m.Role, m.Title, itoa(m.Starts), itoa(m.Completions), itoa(m.Passes), itoa(m.Fails), pct(m.PassRate), mins(m.MedianMinutes)})
		}
		return []string{"role", "module", "starts", "completions", "passes", "fails", "pass_rate_percent", "median_minutes"}, rows, true
	case "weekly.csv":
		rows := [][]string{}
		for _, w := range r.Weekly {
			rows = append(rows, []string{w.Week, w.Title, itoa(w.Starts), itoa(w.Completions)})
		}
		return []string{"week_beginning", "module", "starts", "completions"}, rows, true
	case "dropoff.csv":
		rows := [][]string{}
		for _, d := range r.DropOff {
			rows = append(rows, []string{d.Module, d.Title, d.Page, itoa(d.Learners)})
		}
		return []string{"module", "last_page", "page_id", "learners"}, rows, true
	case "answers.csv":
		rows := [][]string{}
		for _, a := range r.Answers {
			correct := ""
			if a.Correct != nil {
				correct = strconv.FormatBool(*a.Correct)
			}
			rows = append(rows, []string{a.AU, a.Question, a.Title, a.Response, correct, itoa(a.Count)})
		}
		return []string{"module", "question_id", "question", "response", "correct", "count"}, rows, true
	}
	return nil, nil, false
}

func writeReportCSV(c echo.Context, r reports.Report, prefix string) error {
	table := c.Param("table")
	header, rows, ok := reportRows(r, table)
	if !ok {
		return errs.E(errs.NotFound, "no report table %q; choose one of modules.csv, roles.csv, weekly.csv, dropoff.csv, answers.csv", table)
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s"`, prefix, table))
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	_ = w.Write(header)
	for _, row := range rows {
		_ = w.Write(csvSafe(row))
	}
	w.Flush()
	return w.Error()
}

// csvSafe stops spreadsheet formula injection: a cell a learner could
// influence that starts with =, +, - or @ is prefixed with a quote.
func csvSafe(row []string) []string {
	out := make([]string, len(row))
	for i, v := range row {
		if v != "" && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r') {
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				v = "'" + v
			}
		}
		out[i] = v
	}
	return out
}
