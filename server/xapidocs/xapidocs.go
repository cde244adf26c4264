// Package xapidocs serves the LRS's document resources (State, Activity
// Profile, Agent Profile) and the About resource under /xapi. It binds
// requests to lrs.DocumentService calls and writes the answers; the rules
// live in package lrs, and errors go to the server's one error handler.
package xapidocs

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs"
	"github.com/reach-london/reach/server/xapi"
)

// The document resources, by path under the xAPI base.
var resources = []struct {
	path  string
	kind  lrs.DocumentKind
	scope auth.Scope
}{
	{"/activities/state", lrs.StateDocument, auth.ScopeState},
	{"/activities/profile", lrs.ActivityProfileDocument, auth.ScopeProfile},
	{"/agents/profile", lrs.AgentProfileDocument, auth.ScopeProfile},
}

// Register adds the document resources and the About resource to g, the
// /xapi group. It must be called after xapi.Handler.Register, whose
// middleware (CORS, alternate request syntax, version negotiation,
// authentication) Echo applies only to routes added after it; that
// middleware lets About through without credentials or version header, as
// xAPI 1.0.3 Communication §2.8 requires. Routes are bound for every
// method and dispatched by xapi.Methods, as package xapi explains.
func Register(g *echo.Group, docs *lrs.DocumentService, about lrs.About) {
	for _, res := range resources {
		h := &handler{docs: docs, kind: res.kind, scope: res.scope}
		g.Any(res.path, xapi.Methods(map[string]echo.HandlerFunc{
			http.MethodGet:    h.get,
			http.MethodHead:   h.get,
			http.MethodPut:    h.put,
			http.MethodPost:   h.post,
			http.MethodDelete: h.delete,
		}))
	}
	body, err := json.Marshal(about)
	if err != nil {
		panic(err) // About holds only strings and raw JSON
	}
	aboutHandler := func(c echo.Context) error { return c.JSONBlob(http.StatusOK, body) }
	g.Any("/about", xapi.Methods(map[string]echo.HandlerFunc{
		http.MethodGet:  aboutHandler,
		http.MethodHead: aboutHandler,
	}))
}

type handler struct {
	docs  *lrs.DocumentService
	kind  lrs.DocumentKind
	scope auth.Scope
}

// get answers one document when the request names a stateId or profileId,
// and the list of ids otherwise.
func (h *handler) get(c echo.Context) error {
	p, err := h.principal(c, true)
	if err != nil {
		return err
	}
	r := h.request(c, p)
	ctx := c.Request().Context()
	res := c.Response().Header()
	// Browsers would otherwise reuse a document for a while on the
	// strength of Last-Modified alone, and content would resume from a
	// stale state; no-cache makes them ask again, cheaply, with the ETag.
	res.Set("Cache-Control", "no-cache")
	if r.ID == "" {
		ids, last, err := h.docs.List(ctx, p.BoroughID, r)
		if err != nil {
			return err
		}
		body, err := json.Marshal(ids)
		if err != nil {
			return errs.Wrap(errs.Internal, err, "encode ids")
		}
		sum := sha1.Sum(body)
		res.Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		if !last.IsZero() {
			res.Set("Last-Modified", httpTime(last))
		}
		return c.JSONBlob(http.StatusOK, body)
	}
	doc, err := h.docs.Get(ctx, p.BoroughID, r)
	if err != nil {
		return err
	}
	res.Set("ETag", doc.QuotedETag())
	res.Set("Last-Modified", httpTime(doc.Updated))
	if inm := c.Request().Header.Get("If-None-Match"); inm != "" && doc.MatchesIfNoneMatch(inm) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, doc.ContentType, doc.Content)
}

func (h *handler) put(c echo.Context) error {
	return h.write(c, h.docs.Put)
}

func (h *handler) post(c echo.Context) error {
	return h.write(c, h.docs.Post)
}

func (h *handler) write(c echo.Context, op func(ctx context.Context, borough string, r lrs.DocumentRequest, contentType string, content []byte) error) error {
	p, err := h.principal(c, false)
	if err != nil {
		return err
	}
	content, err := readBody(c)
	if err != nil {
		return err
	}
	if err := op(c.Request().Context(), p.BoroughID, h.request(c, p), c.Request().Header.Get(echo.HeaderContentType), content); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *handler) delete(c echo.Context) error {
	p, err := h.principal(c, false)
	if err != nil {
		return err
	}
	if err := h.docs.Delete(c.Request().Context(), p.BoroughID, h.request(c, p)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// principal returns the request's principal if its scopes allow this
// resource: "state" or "profile", or "all/read" for reads ("all" grants
// everything).
func (h *handler) principal(c echo.Context, read bool) (auth.Principal, error) {
	p, ok := auth.PrincipalFrom(c.Request().Context())
	if !ok {
		return auth.Principal{}, errs.E(errs.Unauthorized, "credentials are required")
	}
	if p.Has(h.scope) || (read && p.Has(auth.ScopeAllRead)) {
		return p, nil
	}
	return auth.Principal{}, errs.E(errs.Forbidden, "these credentials lack the %q scope this resource needs", h.scope)
}

// request gathers the parameters and headers the domain rules need.
func (h *handler) request(c echo.Context, p auth.Principal) lrs.DocumentRequest {
	q := c.QueryParams()
	hdr := c.Request().Header
	r := lrs.DocumentRequest{
		Kind:         h.kind,
		Version:      xapi.VersionFrom(c.Request().Context()),
		ActivityID:   q.Get("activityId"),
		Agent:        q.Get("agent"),
		Registration: q.Get("registration"),
		Since:        q.Get("since"),
		IfMatch:      hdr.Get("If-Match"),
		IfNoneMatch:  hdr.Get("If-None-Match"),
	}
	if h.kind == lrs.StateDocument {
		r.ID = q.Get("stateId")
	} else {
		r.ID = q.Get("profileId")
	}
	if p.Kind == auth.KindLaunch {
		r.LimitAgent = p.Actor
	}
	return r
}

// readBody reads the whole request body into one buffer (or takes the
// one the xAPI middleware read), refusing one larger than a document may
// be.
func readBody(c echo.Context) ([]byte, error) {
	return xapi.ReadBody(c.Request(), lrs.MaxDocumentSize, "document")
}

// httpTime formats t as an HTTP date for Last-Modified.
func httpTime(t time.Time) string { return t.UTC().Format(http.TimeFormat) }
