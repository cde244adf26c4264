package server

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
)

// multipartSlack is what a multipart envelope may add to the upload limit.
const multipartSlack = 1 << 20

// routesApp binds the admin API for packages and the borough's course
// versions. Each route carries the server's authentication and CSRF
// middleware itself, so no group middleware shadows other rooms' routes.
func (h *contentHandler) routesApp(e *echo.Echo, s *Server) {
	mw := []echo.MiddlewareFunc{middleware.BodyLimit(byteLimit(s.cfg.MaxBodyBytes)), s.authenticate, s.csrf}
	up := []echo.MiddlewareFunc{s.authenticate, s.csrfUpload}
	b := "/api/v1/boroughs/:borough"
	e.GET(b+"/packages", h.listPackages(s), mw...)
	e.POST(b+"/packages", h.importPackage(s), up...)
	e.GET(b+"/packages/:id", h.getPackage(s), mw...)
	e.POST(b+"/packages/:id/preview", h.previewPackage(s), mw...)
	e.DELETE(b+"/packages/:id", h.deletePackage(s), mw...)
	e.GET(b+"/course/versions", h.listVersions(s), mw...)
	e.POST(b+"/course/versions", h.createDraft(s), mw...)
	e.GET(b+"/course/versions/:number", h.getVersion(s), mw...)
	e.POST(b+"/course/versions/:number/publish", h.publish(s), mw...)
	e.POST(b+"/course/versions/:number/preview", h.previewVersion(s), mw...)
	e.POST(b+"/course/rollback", h.rollback(s), mw...)
	e.GET(b+"/course/slots", h.getSlots(s), mw...)
	e.PUT(b+"/course/slots", h.putSlots(s), mw...)
	e.PUT(b+"/course/modules/:module", h.replaceModule(s), mw...)
	e.POST(b+"/course/modules/:module/package", h.uploadModule(s), up...)
	e.DELETE(b+"/course/modules/:module", h.restoreModule(s), mw...)
	e.POST(b+"/course/publish-base", h.publishBase(s), mw...)
}

// readUpload returns the zip of an upload request: the "file" part of a
// multipart/form-data body, or the body itself when it is sent as
// application/zip or application/octet-stream. Nothing is buffered here;
// the content service spools the stream to a temporary file.
func readUpload(c echo.Context, limit int64) (io.Reader, error) {
	req := c.Request()
	req.Body = http.MaxBytesReader(c.Response(), req.Body, limit+multipartSlack)
	ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	switch ct {
	case "application/zip", "application/x-zip-compressed", "application/octet-stream", "application/xml", "text/xml":
		return req.Body, nil
	case "multipart/form-data":
		mr, err := req.MultipartReader()
		if err != nil {
			return nil, errs.E(errs.Invalid, "the multipart body cannot be read: %v", err)
		}
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return nil, errs.E(errs.Invalid, `the form has no "file" part; send the zip as the field "file"`)
			}
			if err != nil {
				return nil, uploadErr(err)
			}
			if part.FormName() == "file" {
				return part, nil
			}
		}
	}
	return nil, errs.E(errs.UnsupportedMediaType, "send the package as multipart/form-data (field \"file\") or as application/zip")
}

func uploadErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errs.E(errs.TooLarge, "the upload is larger than the %d-byte limit", mbe.Limit-multipartSlack)
	}
	return errs.Wrap(errs.Invalid, err, "the upload could not be read")
}

func (h *contentHandler) listPackages(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, _, err := s.adminOf(c)
		if err != nil {
			return err
		}
		ps, err := h.svc.Packages(c.Request().Context(), b.ID)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, ps)
	}
}

func (h *contentHandler) importPackage(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, p, err := s.adminOf(c)
		if err != nil {
			return err
		}
		r, err := readUpload(c, h.svc.Limits().MaxUpload)
		if err != nil {
			return err
		}
		pkg, err := h.svc.ImportReader(c.Request().Context(), b.ID, p.Subject, r)
		if err != nil {
			return err
		}
		pkg.Files = nil
		return c.JSON(http.StatusCreated, pkg)
	}
}

func (h *contentHandler) getPackage(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, _, err := s.adminOf(c)
		if err != nil {
			return err
		}
		pkg, err := h.svc.Package(c.Request().Context(), b.ID, c.Param("id"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, pkg)
	}
}

// deletePackage deletes a package no course version uses and the files
// only it named.
func (h *contentHandler) deletePackage(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, p, err := s.adminOf(c)
		if err != nil {
			return err
		}
		res, err := h.svc.DeletePackage(c.Request().Context(), b.ID, p.Subject, c.Param("id"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, res)
	}
}

// previewResponse is a content-origin URL an admin can open.
type previewResponse struct {
	URL       string     `json:"url"`
	PackageID string     `json:"packageId"`
	AU        content.AU `json:"au"`
	Module    string     `json:"module,omitempty"`
	Version   int        `json:"version,omitempty"`
}

type previewRequest struct {
	AU     string `json:"auId"`
	Module string `json:"module"`
}

func (h *contentHandler) previewPackage(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, _, err := s.adminOf(c)
		if err != nil {
			return err
		}
		var req previewRequest
		if err := bindJSON(c, &req, "body may be JSON with auId"); err != nil {
			return err
		}
		pkg, err := h.svc.Package(c.Request().Context(), b.ID, c.Param("id"))
		if err != nil {
			return err
		}
		aus := pkg.Course.AllAUs()
		au := aus[0]
		if req.AU != "" {
			var ok bool
			if au, ok = pkg.Course.FindAU(req.AU); !ok {
				return errs.E(errs.NotFound, "the package has no AU %q", req.AU)
			}
		}
		tok, err := h.svc.ContentToken(b.ID, pkg.ID, 0)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, previewResponse{URL: h.svc.LaunchURL(pkg.ID, tok, au), PackageID: pkg.ID, AU: au})
	}
}

func versionNumber(c echo.Context) (int, error) {
	n, err := strconv.Atoi(c.Param("number"))
	if err != nil || n < 1 {
		return 0, errs.E(errs.Invalid, "version number must be a whole number from 1")
	}
	return n, nil
}

func (h *contentHandler) listVersions(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, _, err := s.adminOf(c)
		if err != nil {
			return err
		}
		vs, err := h.svc.Versions(c.Request().Context(), b.ID)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, vs)
	}
}

func (h *contentHandler) getVersion(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, _, err := s.adminOf(c)
		if err != nil {
			return err
		}
		n, err := versionNumber(c)
		if err != nil {
			return err
		}
		v, err := h.svc.Version(c.Request().Context(), b.ID, n)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, v)
	}
}

func (h *contentHandler) createDraft(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, p, err := s.adminOf(c)
		if err != nil {
			return err
		}
		var req struct {
			From int `json:"from"`
		}
		if c.Request().ContentLength != 0 {
			if err := bindJSON(c, &req, "body must be JSON with an optional from (version number)"); err != nil {
				return err
			}
		}
		v, err := h.svc.CreateDraft(c.Request().Context(), b.ID, p.Subject, req.From)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, v)
	}
}

func (h *contentHandler) publish(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, p, err := s.adminOf(c)
		if err != nil {
			return err
		}
		n, err := versionNumber(c)
		if err != nil {
			return err
		}
		v, err := h.svc.Publish(c.Request().Context(), b.ID, p.Subject, n)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, v)
	}
}

func (h *contentHandler) rollback(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, p, err := s.adminOf(c)
		if err != nil {
			return err
		}
		v, err := h.svc.Rollback(c.Request().Context(), b.ID, p.Subject)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, v)
	}
}

// previewVersion returns a content-origin URL of one module of a version
// (a draft, typically) for the admin to open. It pins nobody.
func (h *contentHandler) previewVersion(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, _, err := s.adminOf(c)
		if err != nil {
			return err
		}
		n, err := versionNumber(c)
		if err != nil {
			return err
		}
		var req previewRequest
		const usage = "body must be JSON with module (e.g. \"1-landscape\")"
		if err := bindJSON(c, &req, usage); err != nil {
			return err
		}
		if req.Module == "" {
			return errs.E(errs.Invalid, usage)
		}
		l, err := h.svc.Launchable(c.Request().Context(), b.ID, n, req.Module)
		if err != nil {
			return err
		}
		tok, err := h.svc.ContentToken(b.ID, l.Package.ID, 0)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, previewResponse{URL: h.svc.LaunchURL(l.Package.ID, tok, l.AU), PackageID: l.Package.ID,
			AU: l.AU, Module: req.Module, Version: n})
	}
}

func (h *contentHandler) getSlots(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, _, err := s.adminOf(c)
		if err != nil {
			return err
		}
		v, err := h.svc.LatestVersion(c.Request().Context(), b.ID)
		if errs.Is(err, errs.NotFound) {
			return c.JSON(http.StatusOK, content.Slots{})
		} else if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, v.Slots)
	}
}

func (h *contentHandler) putSlots(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, p, err := s.adminOf(c)
		if err != nil {
			return err
		}
		var slots content.Slots
		if err := bindJSON(c, &slots, "body must be JSON slots: boroughName, branding, offers, contacts, caseStudies"); err != nil {
			return err
		}
		v, err := h.svc.SetSlots(c.Request().Context(), b, p.Subject, slots)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, v)
	}
}

func (h *contentHandler) replaceModule(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, p, err := s.adminOf(c)
		if err != nil {
			return err
		}
		var req struct {
			PackageID string `json:"packageId"`
			AUID      string `json:"auId"`
			Title     string `json:"title"`
		}
		const usage = "body must be JSON with packageId and, optionally, auId (required for a cmi5 or xAPI package with several AUs) and title"
		if err := bindJSON(c, &req, usage); err != nil {
			return err
		}
		if req.PackageID == "" {
			return errs.E(errs.Invalid, usage)
		}
		v, err := h.svc.BindModule(c.Request().Context(), b.ID, p.Subject, c.Param("module"), req.PackageID,
			content.ModuleChoice{AUID: req.AUID, Title: req.Title, Param: "auId"})
		if err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, v)
	}
}

// uploadModule imports a package and makes it the module in a new draft,
// in one request: ?au=ID chooses the AU (needed when a cmi5 or xAPI
// package has several; a multi-SCO SCORM package plays whole), ?title=
// names the module. The module and the AU are checked before anything
// is stored.
func (h *contentHandler) uploadModule(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, p, err := s.adminOf(c)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		if _, err := h.svc.LatestVersion(ctx, b.ID); err != nil {
			if errs.Is(err, errs.NotFound) {
				return errs.E(errs.Conflict, "the borough has no course version yet; publish the base course first")
			}
			return err
		}
		r, err := readUpload(c, h.svc.Limits().MaxUpload)
		if err != nil {
			return err
		}
		pkg, v, err := h.svc.ImportForModule(ctx, b.ID, p.Subject, c.Param("module"), r,
			content.ModuleChoice{AUID: c.QueryParam("au"), Title: c.QueryParam("title"), Param: "au"})
		if err != nil {
			return err
		}
		pkg.Files = nil
		return c.JSON(http.StatusCreated, map[string]any{"package": pkg, "version": v})
	}
}

func (h *contentHandler) restoreModule(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, p, err := s.adminOf(c)
		if err != nil {
			return err
		}
		v, err := h.svc.RestoreModule(c.Request().Context(), b.ID, p.Subject, c.Param("module"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, v)
	}
}

// publishBase rebuilds the base course for the borough and publishes it
// if it changed; platform admins only (SPEC: they publish base versions).
func (h *contentHandler) publishBase(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, p, err := s.adminOf(c)
		if err != nil {
			return err
		}
		if p.Role != auth.RolePlatformAdmin {
			return errs.E(errs.Forbidden, "only platform admins publish the base course")
		}
		v, published, err := h.svc.PublishBaseCourse(c.Request().Context(), b, p.Subject)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]any{"version": v, "published": published})
	}
}
