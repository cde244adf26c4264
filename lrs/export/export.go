// Package export writes a borough's statements as JSON lines or CSV for
// the admin download and `reach export statements`. It pages through the
// LRS's own query (the same filters as the xAPI statements resource, in
// stored order), so memory stays constant however many statements match.
package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs"
)

// Format is an export file format.
type Format string

// The formats.
const (
	JSONL Format = "jsonl"
	CSV   Format = "csv"
)

// ContentType is the media type of a format's file.
func (f Format) ContentType() string {
	if f == CSV {
		return "text/csv; charset=utf-8"
	}
	return "application/x-ndjson"
}

// pageSize is how many statements one query page holds.
const pageSize = 500

// Request is a validated export request.
type Request struct {
	Format Format
	query  url.Values
}

// filterParams are the xAPI query parameters an export accepts; limit,
// statementId, voidedStatementId, attachments and the xAPI format make no
// sense for a file of every matching statement.
var filterParams = map[string]bool{"agent": true, "verb": true, "activity": true, "registration": true,
	"related_activities": true, "related_agents": true, "since": true, "until": true, "ascending": true}

// ParseRequest validates an export's parameters: format (jsonl, the
// default, or csv) and the xAPI statement filters. Statements come oldest
// first unless ascending=false.
func ParseRequest(params url.Values) (Request, error) {
	r := Request{Format: JSONL, query: url.Values{}}
	for k, vs := range params {
		if k == "format" {
			continue
		}
		if !filterParams[k] {
			return Request{}, errs.E(errs.Invalid, "unknown export parameter %q; use format, agent, verb, activity, registration, related_activities, related_agents, since, until or ascending", k)
		}
		r.query[k] = vs
	}
	if vs, ok := params["format"]; ok {
		if len(vs) != 1 {
			return Request{}, errs.E(errs.Invalid, "format is given more than once")
		}
		switch Format(vs[0]) {
		case JSONL, CSV:
			r.Format = Format(vs[0])
		default:
			return Request{}, errs.E(errs.Invalid, `format must be "jsonl" or "csv", got %q`, vs[0])
		}
	}
	if _, ok := r.query["ascending"]; !ok {
		r.query.Set("ascending", "true")
	}
	r.query.Set("limit", strconv.Itoa(pageSize))
	q, err := lrs.ParseQuery(r.query)
	if err != nil {
		return Request{}, err
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return Request{}, errs.E(errs.Invalid, "since must be before until")
	}
	return r, nil
}

// Querier runs an xAPI statements query; lrs.Service implements it.
type Querier interface {
	Query(ctx context.Context, p auth.Principal, q lrs.Query, langs []string) (lrs.Result, error)
}

// Write streams the borough's statements matching r. open is called once
// the first page has been read, so a failing query reports its error
// before anything is written; it returns where to write. Write returns how
// many statements it wrote.
func Write(ctx context.Context, svc Querier, boroughID string, r Request, open func() (io.Writer, error)) (int, error) {
	// The export reads as a borough-wide reader would.
	p := auth.Principal{Kind: auth.KindCredential, BoroughID: boroughID, Subject: "export", Scopes: []auth.Scope{auth.ScopeAllRead}}
	q, err := lrs.ParseQuery(r.query)
	if err != nil {
		return 0, err
	}
	res, err := svc.Query(ctx, p, q, nil)
	if err != nil {
		return 0, err
	}
	w, err := open()
	if err != nil {
		return 0, err
	}
	var cw *csv.Writer
	if r.Format == CSV {
		cw = csv.NewWriter(w)
		if err := cw.Write(Columns); err != nil {
			return 0, err
		}
	}
	n := 0
	var line bytes.Buffer
	for {
		for _, raw := range res.Statements {
			if cw != nil {
				if err := cw.Write(Row(raw)); err != nil {
					return n, err
				}
			} else {
				line.Reset()
				if err := json.Compact(&line, raw); err != nil {
					return n, errs.Wrap(errs.Internal, err, "stored statement is not JSON")
				}
				line.WriteByte('\n')
				if _, err := w.Write(line.Bytes()); err != nil {
					return n, err
				}
			}
			n++
		}
		if cw != nil {
			cw.Flush()
			if err := cw.Error(); err != nil {
				return n, err
			}
		}
		if f, ok := w.(interface{ Flush() }); ok {
			f.Flush()
		}
		if res.More == "" {
			return n, nil
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
		q, err = lrs.ParseMore(res.More)
		if err != nil {
			return n, err
		}
		if res, err = svc.Query(ctx, p, q, nil); err != nil {
			return n, err
		}
	}
}

// Columns is the CSV header.
var Columns = []string{"id", "timestamp", "stored", "actor_name", "actor_mbox", "actor_account_homepage",
	"actor_account_name", "verb_id", "verb_display", "object_id", "object_type", "object_name",
	"result_success", "result_completion", "result_score_scaled", "result_duration", "registration"}

type csvStatement struct {
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
	Stored    string `json:"stored"`
	Actor     struct {
		Name    string `json:"name"`
		Mbox    string `json:"mbox"`
		Account *struct {
			HomePage string `json:"homePage"`
			Name     string `json:"name"`
		} `json:"account"`
	} `json:"actor"`
	Verb struct {
		ID      string            `json:"id"`
		Display map[string]string `json:"display"`
	} `json:"verb"`
	Object struct {
		ID         string `json:"id"`
		ObjectType string `json:"objectType"`
		Name       string `json:"name"` // an Agent or Group object
		Definition struct {
			Name map[string]string `json:"name"`
		} `json:"definition"`
	} `json:"object"`
	Result struct {
		Success    *bool                        `json:"success"`
		Completion *bool                        `json:"completion"`
		Score      struct{ Scaled json.Number } `json:"score"`
		Duration   string                       `json:"duration"`
	} `json:"result"`
	Context struct {
		Registration string `json:"registration"`
	} `json:"context"`
}

// Row is one statement's CSV row, in Columns order. Properties a
// statement lacks (or has in an unexpected shape) are empty cells.
func Row(raw []byte) []string {
	var s csvStatement
	_ = json.Unmarshal(raw, &s)
	objType := s.Object.ObjectType
	if objType == "" {
		objType = "Activity"
	}
	objName := s.Object.Name
	if objName == "" {
		objName = display(s.Object.Definition.Name)
	}
	home, acct := "", ""
	if s.Actor.Account != nil {
		home, acct = s.Actor.Account.HomePage, s.Actor.Account.Name
	}
	row := []string{s.ID, s.Timestamp, s.Stored, s.Actor.Name, s.Actor.Mbox, home, acct,
		s.Verb.ID, display(s.Verb.Display), s.Object.ID, objType, objName,
		boolCell(s.Result.Success), boolCell(s.Result.Completion), s.Result.Score.Scaled.String(), s.Result.Duration,
		s.Context.Registration}
	for i, v := range row {
		row[i] = spreadsheetSafe(v)
	}
	return row
}

// spreadsheetSafe stops formula injection when the file is opened in a
// spreadsheet: learners choose their names and content authors the
// display texts, so a cell starting with =, +, -, @, tab or carriage
// return gets a leading quote, unless it is a number such as a negative
// score.
func spreadsheetSafe(v string) string {
	if v == "" || !strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return v
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return v
	}
	return "'" + v
}

func boolCell(b *bool) string {
	if b == nil {
		return ""
	}
	return strconv.FormatBool(*b)
}

// display picks one text from a language map: British English, then any
// English, then the first language in alphabetical order.
func display(m map[string]string) string {
	for _, tag := range []string{"en-GB", "en", "en-US"} {
		if v, ok := m[tag]; ok {
			return v
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return ""
	}
	return m[keys[0]]
}
