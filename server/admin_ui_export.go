package server

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs/export"
	"github.com/reach-london/reach/server/web"
)

// The export page: a form over the statement download of the JSON API
// (GET /api/v1/boroughs/{b}/statements/export), with dates a person types
// rather than xAPI timestamps.

var exportFormats = []web.Option{{Value: string(export.JSONL), Label: "JSON lines", Hint: "One xAPI statement per line, for other LRSs and scripts."},
	{Value: string(export.CSV), Label: "CSV", Hint: "A spreadsheet: one row per statement."}}

func (s *adminUI) mountAdminExport(g *echo.Group) {
	g.GET("/:borough/export", s.admin(boroughAdmin, s.adminExportPage))
	g.GET("/:borough/export/statements", s.admin(boroughAdmin, s.adminExportStatements))
}

func exportForm(c echo.Context) map[string]string {
	f := map[string]string{"format": string(export.JSONL)}
	for _, k := range []string{"format", "from", "to", "verb", "activity"} {
		if v := strings.TrimSpace(c.QueryParam(k)); v != "" {
			f[k] = v
		}
	}
	return f
}

func (s *adminUI) adminExportPage(c echo.Context, v adminView) error {
	return s.render(c, http.StatusOK, "admin_export", s.adminPage(c, v, "Export", "export",
		map[string]any{"Formats": exportFormats, "Form": exportForm(c)}))
}

// adminExportStatements checks the form and sends the browser to the
// download with the equivalent xAPI filters: from the start of the first
// day (UTC) to the end of the last.
func (s *adminUI) adminExportStatements(c echo.Context, v adminView) error {
	f := exportForm(c)
	q := url.Values{"format": {f["format"]}}
	var fe web.FormErrors
	var from, to time.Time
	for _, d := range []struct {
		key string
		dst *time.Time
	}{{"from", &from}, {"to", &to}} {
		if f[d.key] == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, f[d.key])
		if err != nil {
			fe.Add(d.key, "Enter the date as YYYY-MM-DD, such as 2026-01-31")
			continue
		}
		*d.dst = t
	}
	if !from.IsZero() {
		q.Set("since", from.Format(time.RFC3339))
	}
	if !to.IsZero() {
		q.Set("until", to.AddDate(0, 0, 1).Format(time.RFC3339))
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		fe.Add("to", "The last day must not be before the first")
	}
	for _, k := range []string{"verb", "activity"} {
		if f[k] != "" {
			q.Set(k, f[k])
		}
	}
	if len(fe) == 0 {
		_, err := export.ParseRequest(q)
		if err == nil {
			return c.Redirect(http.StatusSeeOther, "/api/v1/boroughs/"+v.B.Slug+"/statements/export?"+q.Encode())
		}
		if errs.KindOf(err) != errs.Invalid {
			return err
		}
		field := "format"
		for _, k := range []string{"verb", "activity", "since", "until"} {
			if strings.Contains(errs.MessageOf(err), k) {
				field = map[string]string{"verb": "verb", "activity": "activity", "since": "from", "until": "to"}[k]
				break
			}
		}
		fe.Add(field, errs.MessageOf(err))
	}
	pg := s.adminPage(c, v, "Export", "export", map[string]any{"Formats": exportFormats, "Form": f})
	pg.Errors = fe
	return s.render(c, http.StatusBadRequest, "admin_export", pg)
}
