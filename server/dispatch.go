package server

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/content/dispatch"
	"github.com/reach-london/reach/content/launch"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
)

// MountDispatch returns the mounts for course dispatch to other LMSs
// (docs in content/dispatch):
//
//	GET  /api/v1/boroughs/{b}/dispatches                 list
//	POST /api/v1/boroughs/{b}/dispatches                 create {name, learnerLimit}
//	POST /api/v1/boroughs/{b}/dispatches/{id}/revoke     revoke
//	GET  /api/v1/boroughs/{b}/course/export/cmi5?dispatch={id}     cmi5 zip
//	GET  /api/v1/boroughs/{b}/course/export/scorm12?dispatch={id}  SCORM 1.2 zip
//
// and on the content origin GET /d/{token}/{pkg}/{path}: a package file
// opened with a live dispatch's token; and the SCORM 1.2 dispatch's pages
// (dispatch_play.go):
//
//	GET /d/{token}/play/{module}?student_id=…&student_name=…&lms_origin=…
//	GET /d/{token}/outcome/{registration}/{module}
//	GET /d/closed
func MountDispatch(store *dispatch.Store, pkgs *content.Service, launches *launch.Service) (appRoutes, contentRoutes func(*echo.Echo, *Server)) {
	h := &dispatchHandlers{store: store, pkgs: pkgs, launches: launches}
	appRoutes = func(e *echo.Echo, s *Server) {
		h.s = s
		g := e.Group("/api/v1", middleware.BodyLimit(byteLimit(s.cfg.MaxBodyBytes)), s.authenticate, s.csrf)
		g.GET("/boroughs/:borough/dispatches", h.list)
		g.POST("/boroughs/:borough/dispatches", h.create)
		g.POST("/boroughs/:borough/dispatches/:id/revoke", h.revoke)
		g.GET("/boroughs/:borough/course/export/cmi5", h.exportCMI5)
		g.GET("/boroughs/:borough/course/export/scorm12", h.exportSCORM12)
	}
	contentRoutes = func(e *echo.Echo, s *Server) {
		h.s = s
		e.GET("/d/:token/:pkg/*", h.serveFile)
		e.GET("/d/:token/play/:module", h.play)
		e.GET("/d/:token/outcome/:registration/:module", h.outcome)
		e.GET("/d/closed", h.closed)
	}
	return appRoutes, contentRoutes
}

type dispatchHandlers struct {
	s        *Server
	store    *dispatch.Store
	pkgs     *content.Service
	launches *launch.Service
}

func (h *dispatchHandlers) list(c echo.Context) error {
	b, _, err := h.s.adminOf(c)
	if err != nil {
		return err
	}
	out, err := h.store.List(c.Request().Context(), b.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"dispatches": out})
}

func (h *dispatchHandlers) create(c echo.Context) error {
	b, p, err := h.s.adminOf(c)
	if err != nil {
		return err
	}
	var in struct {
		Name         string `json:"name"`
		LearnerLimit int    `json:"learnerLimit"`
	}
	dec := json.NewDecoder(io.LimitReader(c.Request().Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return errs.E(errs.Invalid, "body must be a JSON object with name and learnerLimit (0 for no limit)")
	}
	ctx := c.Request().Context()
	d, err := h.store.Create(ctx, b.ID, p.Subject, in.Name, in.LearnerLimit)
	if err != nil {
		return err
	}
	h.s.deps.Auth.Audit(ctx, b.ID, p.Subject, "dispatch.create", d.ID, map[string]any{"name": d.Name, "learnerLimit": d.LearnerLimit})
	return c.JSON(http.StatusCreated, d)
}

func (h *dispatchHandlers) revoke(c echo.Context) error {
	b, p, err := h.s.adminOf(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	d, err := h.store.Revoke(ctx, b.ID, c.Param("id"))
	if err != nil {
		return err
	}
	h.s.deps.Auth.Audit(ctx, b.ID, p.Subject, "dispatch.revoke", d.ID, nil)
	return c.JSON(http.StatusOK, d)
}

// exportInput resolves an export request: the admin's borough, the
// dispatch named by ?dispatch= and the published course's modules.
func (h *dispatchHandlers) exportInput(c echo.Context) (auth.Borough, auth.Principal, dispatch.Dispatch, content.CourseVersion, []dispatch.Module, error) {
	b, p, err := h.s.adminOf(c)
	if err != nil {
		return b, p, dispatch.Dispatch{}, content.CourseVersion{}, nil, err
	}
	ctx := c.Request().Context()
	id := c.QueryParam("dispatch")
	if id == "" {
		return b, p, dispatch.Dispatch{}, content.CourseVersion{}, nil,
			errs.E(errs.Invalid, "dispatch is required: create one with POST /api/v1/boroughs/%s/dispatches", b.ID)
	}
	d, err := h.store.Get(ctx, b.ID, id)
	if err != nil {
		return b, p, d, content.CourseVersion{}, nil, err
	}
	v, mods, err := dispatch.Modules(ctx, h.pkgs, d, h.s.cfg.ContentURL)
	return b, p, d, v, mods, err
}

func courseTitle(b auth.Borough) string {
	if b.Name != "" {
		return "Reach course (" + b.Name + ")"
	}
	return "Reach course"
}

// sendExport audits an export and sends the zip as an attachment.
func (h *dispatchHandlers) sendExport(c echo.Context, b auth.Borough, p auth.Principal, d dispatch.Dispatch, v content.CourseVersion, format string, zipped []byte) error {
	h.s.deps.Auth.Audit(c.Request().Context(), b.ID, p.Subject, "dispatch.export", d.ID, map[string]any{"format": format, "version": v.Number})
	c.Response().Header().Set("Content-Disposition", `attachment; filename="reach-`+b.ID+`-`+format+`.zip"`)
	return c.Blob(http.StatusOK, "application/zip", zipped)
}

func (h *dispatchHandlers) exportCMI5(c echo.Context) error {
	b, p, d, v, mods, err := h.exportInput(c)
	if err != nil {
		return err
	}
	courseID := strings.TrimRight(h.s.cfg.PublicURL, "/") + "/courses/" + b.ID
	doc, err := dispatch.CMI5XML(courseID, courseTitle(b), "Hosted by Reach; dispatch "+d.Name+".", mods)
	if err != nil {
		return err
	}
	zipped, err := dispatch.ZipCMI5(doc, time.Now())
	if err != nil {
		return err
	}
	return h.sendExport(c, b, p, d, v, "cmi5", zipped)
}

// exportSCORM12 answers the SCORM 1.2 package of the published course for
// a SCORM-only LMS: one SCO per module, each playing it from the content
// origin (GET /d/{token}/play/{module}).
func (h *dispatchHandlers) exportSCORM12(c echo.Context) error {
	b, p, d, v, mods, err := h.exportInput(c)
	if err != nil {
		return err
	}
	zipped, err := dispatch.SCORM12Zip(courseTitle(b), d, mods, h.s.cfg.ContentURL, time.Now())
	if err != nil {
		return err
	}
	return h.sendExport(c, b, p, d, v, "scorm12", zipped)
}

// serveFile serves a package file to another LMS's learner: the dispatch
// must be live (a revoked one is 403) and the package its borough's.
func (h *dispatchHandlers) serveFile(c echo.Context) error {
	ctx := c.Request().Context()
	tok, pkg := c.Param("token"), c.Param("pkg")
	d, err := h.store.ByToken(ctx, tok)
	if err != nil {
		return err
	}
	if _, err := h.pkgs.Package(ctx, d.BoroughID, pkg); err != nil {
		return err
	}
	prefix := "/d/" + tok + "/" + pkg
	rel := strings.TrimPrefix(strings.TrimPrefix(c.Request().URL.Path, prefix), "/")
	f, err := h.pkgs.OpenPackageFile(ctx, pkg, rel)
	if err != nil {
		return err
	}
	defer f.Close()
	// Revocation must take effect, so browsers revalidate every time.
	c.Response().Header().Set("Cache-Control", "private, no-cache")
	serveFile(c, f)
	return nil
}
