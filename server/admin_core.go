package server

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
)

func (s *Server) routesAdminCore(g *echo.Group) {
	g.GET("/boroughs", s.listBoroughs)
	g.POST("/boroughs", s.createBorough)
	g.POST("/boroughs/:borough/admins", s.createBoroughAdmin)
	g.GET("/boroughs/:borough/credentials", s.listCredentials)
	g.POST("/boroughs/:borough/credentials", s.createCredential)
	g.DELETE("/boroughs/:borough/credentials/:id", s.revokeCredential)
	g.GET("/boroughs/:borough/audit", s.listAudit)
	g.GET("/audit", s.listAllAudit)
}

// adminOf resolves the :borough path parameter and checks the signed-in
// user administers it: platform admins administer every borough, borough
// admins only their own. Other boroughs look absent, not forbidden, so
// their existence is not revealed.
func (s *Server) adminOf(c echo.Context) (auth.Borough, auth.Principal, error) {
	p, err := requireRole(c, auth.RoleBoroughAdmin, auth.RolePlatformAdmin)
	if err != nil {
		return auth.Borough{}, p, err
	}
	b, err := s.deps.Auth.BoroughBySlug(c.Request().Context(), c.Param("borough"))
	if err != nil {
		return auth.Borough{}, p, err
	}
	if p.Role == auth.RoleBoroughAdmin && p.BoroughID != b.ID {
		return auth.Borough{}, p, errs.E(errs.NotFound, "borough not found")
	}
	return b, p, nil
}

func (s *Server) listBoroughs(c echo.Context) error {
	if _, err := requireRole(c, auth.RolePlatformAdmin); err != nil {
		return err
	}
	bs, err := s.deps.Auth.Store().ListBoroughs(c.Request().Context())
	if err != nil {
		return err
	}
	if bs == nil {
		bs = []auth.Borough{}
	}
	return c.JSON(http.StatusOK, bs)
}

type createBoroughRequest struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
	// PublishCourse, default true, publishes the base course in the new
	// borough so its learners can start at once.
	PublishCourse *bool `json:"publishCourse"`
}

// createBoroughWithCourse adds a borough and, with withCourse, publishes the base
// course in it, so a borough made in the admin UI or API is usable at
// once: no one has to publish from the command line.
func (s *Server) createBoroughWithCourse(ctx context.Context, actor, slug, name string, withCourse bool) (auth.Borough, error) {
	b, err := s.deps.Auth.CreateBorough(ctx, actor, slug, name)
	if err != nil || !withCourse || s.deps.Courses == nil {
		return b, err
	}
	if _, _, err := s.deps.Courses.PublishBaseCourse(ctx, b, actor); err != nil {
		return b, errs.Wrap(errs.Unavailable, err, "the borough %s was created but its course could not be published; publish it from the borough's Course page", b.Name)
	}
	return b, nil
}

func (s *Server) createBorough(c echo.Context) error {
	p, err := requireRole(c, auth.RolePlatformAdmin)
	if err != nil {
		return err
	}
	var req createBoroughRequest
	if err := bindJSON(c, &req, "body must be JSON with slug and optional name"); err != nil {
		return err
	}
	b, err := s.createBoroughWithCourse(c.Request().Context(), p.Subject, req.Slug, req.Name, req.PublishCourse == nil || *req.PublishCourse)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, b)
}

type createAdminRequest struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

type createdUser struct {
	User     auth.User `json:"user"`
	Password string    `json:"password,omitempty"`
}

func (s *Server) createBoroughAdmin(c echo.Context) error {
	b, p, err := s.adminOf(c)
	if err != nil {
		return err
	}
	var req createAdminRequest
	if err := bindJSON(c, &req, "body must be JSON with email, name and optional password"); err != nil {
		return err
	}
	u, pw, err := s.deps.Auth.CreateUser(c.Request().Context(), p.Subject, auth.NewUser{BoroughID: b.ID,
		Email: req.Email, Name: req.Name, Role: auth.RoleBoroughAdmin, Password: req.Password})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, createdUser{User: u, Password: pw})
}

func (s *Server) listCredentials(c echo.Context) error {
	b, _, err := s.adminOf(c)
	if err != nil {
		return err
	}
	creds, err := s.deps.Auth.Store().ListCredentials(c.Request().Context(), b.ID)
	if err != nil {
		return err
	}
	if creds == nil {
		creds = []auth.Credential{}
	}
	return c.JSON(http.StatusOK, creds)
}

type createCredentialRequest struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
}

// CredentialSecret is the one response that ever shows a secret.
type CredentialSecret struct {
	auth.Credential
	Secret   string `json:"secret"`
	Endpoint string `json:"endpoint"`
}

func (s *Server) createCredential(c echo.Context) error {
	b, p, err := s.adminOf(c)
	if err != nil {
		return err
	}
	var req createCredentialRequest
	if err := bindJSON(c, &req, "body must be JSON with name and scopes"); err != nil {
		return err
	}
	var scopes []auth.Scope
	for _, raw := range req.Scopes {
		sc, err := auth.ParseScopes(raw)
		if err != nil {
			return errs.E(errs.Invalid, "%s", err.Error())
		}
		scopes = append(scopes, sc...)
	}
	cred, secret, err := s.deps.Auth.CreateCredential(c.Request().Context(), p.Subject, b.ID, req.Name, scopes)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, CredentialSecret{Credential: cred, Secret: secret, Endpoint: s.cfg.PublicURL + "/xapi/"})
}

func (s *Server) revokeCredential(c echo.Context) error {
	b, p, err := s.adminOf(c)
	if err != nil {
		return err
	}
	if err := s.deps.Auth.RevokeCredential(c.Request().Context(), p.Subject, b.ID, c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func auditLimit(c echo.Context) (int, error) {
	limit := 100
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return 0, errs.E(errs.Invalid, "limit must be a whole number from 1 to 1000")
		}
		limit = n
	}
	return limit, nil
}

func (s *Server) listAudit(c echo.Context) error {
	b, _, err := s.adminOf(c)
	if err != nil {
		return err
	}
	limit, err := auditLimit(c)
	if err != nil {
		return err
	}
	entries, err := s.deps.Auth.Store().ListAudit(c.Request().Context(), b.ID, limit)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []auth.AuditEntry{}
	}
	return c.JSON(http.StatusOK, entries)
}

func (s *Server) listAllAudit(c echo.Context) error {
	if _, err := requireRole(c, auth.RolePlatformAdmin); err != nil {
		return err
	}
	limit, err := auditLimit(c)
	if err != nil {
		return err
	}
	entries, err := s.deps.Auth.Store().ListAudit(c.Request().Context(), "", limit)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []auth.AuditEntry{}
	}
	return c.JSON(http.StatusOK, entries)
}
