// Package xapi is the HTTP layer of the Learning Record Store at /xapi/:
// the cross-cutting xAPI behaviour (version negotiation, the 1.0.3
// alternate request syntax, CORS, authentication) and the Statements,
// Activities and Agents resources. The document resources live in
// package xapidocs and are registered on the same group, so they get the
// same middleware.
package xapi

import (
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/semaphore"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/lrs"
)

// Authenticator turns a request's credentials into a principal. It returns
// an errs.Unauthorized error for missing or bad credentials.
type Authenticator interface {
	AuthenticateXAPI(r *http.Request) (auth.Principal, error)
}

// Deps are what the handler needs.
type Deps struct {
	Statements *lrs.Service
	Auth       Authenticator
	Logger     *slog.Logger
	// DefaultVersion is the version named in the X-Experience-API-Version
	// header of answers to requests that state none (errors, About);
	// "" means 2.0.0. Set it to 1.0.3 for an LRS whose clients are all
	// 1.0.3.
	DefaultVersion lrs.Version
	// MaxAttachmentBytes caps a multipart statements request's body, the
	// statements with their attachments; 0 means 64 MiB.
	MaxAttachmentBytes int64
	// MaxBatchBytes caps the statements JSON of one request; 0 means
	// MaxAttachmentBytes.
	MaxBatchBytes int64
	// Limits caps the statements of one request and each one's size.
	Limits lrs.Limits
	// MaxLearnerBodyBytes caps every request body sent with a launch
	// token (a learner's content); 0 means no cap of its own.
	MaxLearnerBodyBytes int64
	// MemoryBudget is how much memory, as estimated from their bodies,
	// requests with large bodies (over SmallBody) may take at once across
	// every client; a request waits for its share, and one whose estimate
	// is larger than the whole budget is refused (413). 0 means 64 MiB.
	MemoryBudget int64
}

// SmallBody is the size up to which a request body needs no share of the
// large-body budget, so single statements and ordinary documents never
// wait behind batches.
const SmallBody = 64 << 10

// Handler serves the statements, activities and agents resources.
type Handler struct {
	svc        *lrs.Service
	auth       Authenticator
	log        *slog.Logger
	maxBytes   int64
	maxJSON    int64
	maxLearner int64
	limits     lrs.Limits
	defVer     lrs.Version
	budget     *semaphore.Weighted
	budgetSize int64
}

// New returns a Handler.
func New(d Deps) *Handler {
	h := &Handler{svc: d.Statements, auth: d.Auth, log: d.Logger, maxBytes: d.MaxAttachmentBytes,
		maxJSON: d.MaxBatchBytes, maxLearner: d.MaxLearnerBodyBytes, limits: d.Limits}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.defVer = lrs.V200
	if d.DefaultVersion != "" {
		if v, ok := parseVersion(string(d.DefaultVersion)); ok {
			h.defVer = v
		}
	}
	if h.maxBytes <= 0 {
		h.maxBytes = 64 << 20
	}
	if h.maxJSON <= 0 || h.maxJSON > h.maxBytes {
		h.maxJSON = h.maxBytes
	}
	h.budgetSize = d.MemoryBudget
	if h.budgetSize <= 0 {
		h.budgetSize = 64 << 20
	}
	h.budget = semaphore.NewWeighted(h.budgetSize)
	return h
}

// Register adds the xAPI middleware to g and then the statements,
// activities and agents routes. Routes registered on g afterwards (the
// document resources) get the same middleware.
//
// Routes are bound for every method and dispatched by Methods, because
// the alternate request syntax changes a request's method after Echo
// has routed it, and CORS preflight (OPTIONS) must reach the middleware.
func (h *Handler) Register(g *echo.Group) {
	g.Use(h.cors, h.alternateSyntax, h.version, h.authenticate, h.largeBodies)
	g.Any("/statements", Methods(map[string]echo.HandlerFunc{
		http.MethodGet:  h.getStatements,
		http.MethodHead: h.getStatements,
		http.MethodPut:  h.putStatement,
		http.MethodPost: h.postStatements,
	}))
	g.Any("/activities", Methods(map[string]echo.HandlerFunc{
		http.MethodGet:  h.getActivity,
		http.MethodHead: h.getActivity,
	}))
	g.Any("/agents", Methods(map[string]echo.HandlerFunc{
		http.MethodGet:  h.getAgent,
		http.MethodHead: h.getAgent,
	}))
}

// Methods dispatches to the handler for the request's method, answering
// 405 for others. Use it with g.Any for every xAPI route: see Register.
func Methods(byMethod map[string]echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if fn, ok := byMethod[c.Request().Method]; ok {
			return fn(c)
		}
		return echo.NewHTTPError(http.StatusMethodNotAllowed, "method "+c.Request().Method+" is not allowed here")
	}
}
