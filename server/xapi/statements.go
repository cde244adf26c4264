package xapi

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs"
)

// readStatements reads a PUT or POST statements body, plain JSON or
// multipart/mixed with attachments, and parses it once, within the
// configured limits.
func (h *Handler) readStatements(c echo.Context, single bool) ([]*lrs.Statement, []lrs.Part, error) {
	r := c.Request()
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil && r.Header.Get("Content-Type") != "" {
		return nil, nil, errs.E(errs.Invalid, "Content-Type %q cannot be parsed", r.Header.Get("Content-Type"))
	}
	if p, _ := principal(c); p.Kind == auth.KindLaunch {
		// Content holding a learner's launch token sends plain xAPI; the
		// rules of its session apply to the statements alone.
		if viaAlternateSyntax(r.Context()) {
			return nil, nil, errs.E(errs.Invalid, "launch tokens must use the standard xAPI request syntax, not method=")
		}
		if ct != "application/json" {
			return nil, nil, errs.E(errs.UnsupportedMediaType, "statements sent with a launch token must be application/json")
		}
	}
	ver := VersionFrom(r.Context())
	var body []byte
	var parts []lrs.Part
	switch ct {
	case "application/json":
		if body, err = readBody(r, h.maxJSON, "the statements body"); err != nil {
			return nil, nil, err
		}
	case "multipart/mixed":
		if body, parts, err = lrs.ParseMultipartWithin(r.Body, params["boundary"], h.maxBytes, h.maxJSON); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, errs.E(errs.Invalid, "statements must be sent as application/json or multipart/mixed, not %q", r.Header.Get("Content-Type"))
	}
	if single && isArray(body) {
		return nil, nil, errs.E(errs.Invalid, "PUT takes one statement object, not an array")
	}
	stmts, err := lrs.ParseStatementsWithin(body, ver, h.limits)
	return stmts, parts, err
}

func isArray(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && b[0] == '['
}

// postStatements stores one statement or a batch, all or nothing, and
// answers with their ids.
func (h *Handler) postStatements(c echo.Context) error {
	p, err := principal(c)
	if err != nil {
		return err
	}
	if len(c.QueryParams()) > 0 {
		for k := range c.QueryParams() {
			return errs.E(errs.Invalid, "POST to the statements resource takes no parameter %q", k)
		}
	}
	stmts, parts, err := h.readStatements(c, false)
	if err != nil {
		return err
	}
	ids, err := h.svc.Store(c.Request().Context(), p, stmts, parts, VersionFrom(c.Request().Context()))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ids)
}

// putStatement stores one statement under the statementId parameter.
func (h *Handler) putStatement(c echo.Context) error {
	p, err := principal(c)
	if err != nil {
		return err
	}
	qp := c.QueryParams()
	for k := range qp {
		if k != "statementId" {
			return errs.E(errs.Invalid, "PUT to the statements resource takes only statementId, not %q", k)
		}
	}
	id := qp.Get("statementId")
	if id == "" {
		return errs.E(errs.Invalid, "PUT to the statements resource needs the statementId parameter")
	}
	stmts, parts, err := h.readStatements(c, true)
	if err != nil {
		return err
	}
	if len(stmts) != 1 {
		return errs.E(errs.Invalid, "PUT takes exactly one statement, got %d", len(stmts))
	}
	if err := h.svc.Put(c.Request().Context(), p, id, stmts[0], parts, VersionFrom(c.Request().Context())); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// getStatements answers GET and HEAD: one statement by id, or a page of a
// query with a more link.
func (h *Handler) getStatements(c echo.Context) error {
	// Every answer, errors included, says how current it is; writes are
	// committed before they are acknowledged, so "now" is accurate.
	c.Response().Header().Set(HeaderConsistentThrough, time.Now().UTC().Format(lrs.StoredFormat))
	p, err := principal(c)
	if err != nil {
		return err
	}
	params := c.QueryParams()
	var q lrs.Query
	if params.Has("more") {
		if len(params) > 1 {
			return errs.E(errs.Invalid, "a more link takes no other parameters")
		}
		q, err = lrs.ParseMore(params.Get("more"))
	} else {
		q, err = lrs.ParseQuery(params)
	}
	if err != nil {
		return err
	}
	// A 1.0.x reader gets statements stored under 2.0 in 1.0.3 form
	// (lrs.ForReader); the version is the request's, not the more link's.
	q.Version = VersionFrom(c.Request().Context())
	langs := lrs.ParseAcceptLanguage(c.Request().Header.Get("Accept-Language"))
	res, err := h.svc.Query(c.Request().Context(), p, q, langs)
	if err != nil {
		return err
	}
	var body []byte
	if res.Single {
		body = res.Statements[0]
	} else {
		more := ""
		if res.More != "" {
			more = c.Request().URL.Path + "?more=" + res.More
		}
		body, err = json.Marshal(struct {
			Statements []json.RawMessage `json:"statements"`
			More       string            `json:"more"`
		}{res.Statements, more})
		if err != nil {
			return errs.Wrap(errs.Internal, err, "encode statements")
		}
	}
	lm, ok := res.LastModified, !res.LastModified.IsZero()
	if res.Single {
		lm, ok = lastModified(res.Statements)
	}
	if ok {
		c.Response().Header().Set("Last-Modified", lm.Format(http.TimeFormat))
	}
	if q.Attachments {
		return h.writeWithAttachments(c, body, res.Attachments)
	}
	if c.Request().Method == http.MethodHead {
		c.Response().Header().Set("Content-Type", "application/json")
		c.Response().Header().Set("Content-Length", itoa(len(body)))
		return c.NoContent(http.StatusOK)
	}
	return c.Blob(http.StatusOK, "application/json", body)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// lastModified is the latest stored time among the statements returned.
func lastModified(stmts []json.RawMessage) (time.Time, bool) {
	var latest time.Time
	for _, s := range stmts {
		var v struct {
			Stored string `json:"stored"`
		}
		if json.Unmarshal(s, &v) != nil || v.Stored == "" {
			continue
		}
		if t, err := lrs.ParseTimestamp(v.Stored); err == nil && t.After(latest) {
			latest = t
		}
	}
	return latest, !latest.IsZero()
}

// writeWithAttachments answers with multipart/mixed: the statements first,
// then each attachment the LRS holds.
func (h *Handler) writeWithAttachments(c echo.Context, body []byte, hashes []string) error {
	ctx := c.Request().Context()
	p, err := principal(c)
	if err != nil {
		return err
	}
	parts := make([]lrs.Part, 0, len(hashes))
	for _, sha := range hashes {
		obj, err := h.svc.OpenAttachment(ctx, p, sha)
		if errs.Is(err, errs.NotFound) {
			continue // a fileUrl attachment whose bytes were never sent
		}
		if err != nil {
			return err
		}
		data, err := io.ReadAll(obj)
		info := obj.Info()
		obj.Close()
		if err != nil {
			return errs.Wrap(errs.Internal, err, "read attachment")
		}
		parts = append(parts, lrs.Part{SHA2: sha, ContentType: info.ContentType, Data: data})
	}
	var buf bytes.Buffer
	ct, err := lrs.WriteMultipart(&buf, body, parts)
	if err != nil {
		return errs.Wrap(errs.Internal, err, "write multipart")
	}
	if c.Request().Method == http.MethodHead {
		c.Response().Header().Set("Content-Type", ct)
		return c.NoContent(http.StatusOK)
	}
	return c.Blob(http.StatusOK, ct, buf.Bytes())
}

// getActivity answers the Activities resource: the activity with its
// definition as merged from the statements that defined it.
func (h *Handler) getActivity(c echo.Context) error {
	p, err := principal(c)
	if err != nil {
		return err
	}
	params := c.QueryParams()
	for k := range params {
		if k != "activityId" {
			return errs.E(errs.Invalid, "the activities resource takes only activityId, not %q", k)
		}
	}
	id := params.Get("activityId")
	if id == "" {
		return errs.E(errs.Invalid, "the activities resource needs the activityId parameter")
	}
	act, err := h.svc.Activity(c.Request().Context(), p, id)
	if err != nil {
		return err
	}
	return h.writeJSON(c, act)
}

// getAgent answers the Agents resource with a Person object.
func (h *Handler) getAgent(c echo.Context) error {
	p, err := principal(c)
	if err != nil {
		return err
	}
	params := c.QueryParams()
	for k := range params {
		if k != "agent" {
			return errs.E(errs.Invalid, "the agents resource takes only agent, not %q", k)
		}
	}
	if !params.Has("agent") {
		return errs.E(errs.Invalid, "the agents resource needs the agent parameter")
	}
	a, err := lrs.ParseActor([]byte(params.Get("agent")))
	if err != nil {
		return errs.E(errs.Invalid, "agent parameter: %s", strings.TrimPrefix(errs.MessageOf(err), "actor: "))
	}
	person, err := h.svc.Person(c.Request().Context(), p, a)
	if err != nil {
		return err
	}
	return h.writeJSON(c, person)
}

func (h *Handler) writeJSON(c echo.Context, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return errs.Wrap(errs.Internal, err, "encode response")
	}
	if c.Request().Method == http.MethodHead {
		c.Response().Header().Set("Content-Type", "application/json")
		c.Response().Header().Set("Content-Length", itoa(len(body)))
		return c.NoContent(http.StatusOK)
	}
	return c.Blob(http.StatusOK, "application/json", body)
}
