package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
)

// LearnerLifecycle ends learners' access and erases their data across
// every room, with the ordering rules of internal/learners; the JSON API,
// the admin pages and the CLI share it.
type LearnerLifecycle interface {
	Deactivate(ctx context.Context, actor, boroughID, userID string) (auth.User, error)
	Reactivate(ctx context.Context, actor, boroughID, userID string) (auth.User, error)
	Erase(ctx context.Context, actor, boroughID, userID string) (auth.User, error)
}

// MountLearners adds the learner-management API:
//
//	GET  /api/v1/boroughs/{b}/learners                    list (q, status, limit, offset)
//	GET  /api/v1/boroughs/{b}/learners/invitations        invitations
//	POST /api/v1/boroughs/{b}/learners/invitations        invite by email
//	DELETE /api/v1/boroughs/{b}/learners/invitations/{id} cancel an open invitation
//	GET  /api/v1/boroughs/{b}/learners/{id}               one learner
//	POST /api/v1/boroughs/{b}/learners/{id}/deactivate    end access and sessions
//	POST /api/v1/boroughs/{b}/learners/{id}/reactivate
//	POST /api/v1/boroughs/{b}/learners/{id}/erase         GDPR erasure in every room
func MountLearners(e *echo.Echo, s *Server) {
	g := e.Group("/api/v1/boroughs/:borough/learners", middleware.BodyLimit(byteLimit(s.cfg.MaxBodyBytes)), s.authenticate, s.csrf)
	g.GET("", s.apiListLearners)
	g.GET("/invitations", s.apiListInvitations)
	g.POST("/invitations", s.apiInvite)
	g.DELETE("/invitations/:id", s.apiCancelInvitation)
	g.GET("/:id", s.apiGetLearner)
	g.POST("/:id/deactivate", s.apiSetLearnerActive(false))
	g.POST("/:id/reactivate", s.apiSetLearnerActive(true))
	g.POST("/:id/erase", s.apiEraseLearner)
}

// learnerQuery reads the list's query parameters.
func learnerQuery(c echo.Context, boroughID string) (auth.LearnerQuery, error) {
	q := auth.LearnerQuery{BoroughID: boroughID, Search: c.QueryParam("q"), Status: c.QueryParam("status")}
	for name, dst := range map[string]*int{"limit": &q.Limit, "offset": &q.Offset} {
		if v := c.QueryParam(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || (name == "limit" && n < 1) {
				return q, errs.E(errs.Invalid, "%s must be a whole number (limit at least 1)", name)
			}
			*dst = n
		}
	}
	return q, nil
}

func (s *Server) apiListLearners(c echo.Context) error {
	b, _, err := s.adminOf(c)
	if err != nil {
		return err
	}
	q, err := learnerQuery(c, b.ID)
	if err != nil {
		return err
	}
	page, err := s.deps.Auth.ListLearners(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (s *Server) apiGetLearner(c echo.Context) error {
	b, _, err := s.adminOf(c)
	if err != nil {
		return err
	}
	u, err := s.deps.Auth.LearnerIn(c.Request().Context(), b.ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

// InvitationCreated is the one response that shows an invitation's link.
type InvitationCreated struct {
	auth.Invitation
	URL string `json:"url"`
}

// inviteURL is the portal page where an invited person creates their
// account (server/portal's invitation page).
func (s *Server) inviteURL(b auth.Borough, token string) string {
	return s.cfg.PublicURL + "/b/" + b.Slug + "/invite/" + url.PathEscape(token)
}

func (s *Server) apiInvite(c echo.Context) error {
	b, p, err := s.adminOf(c)
	if err != nil {
		return err
	}
	var req struct {
		Email string `json:"email"`
	}
	if err := bindJSON(c, &req, "body must be JSON with email"); err != nil {
		return err
	}
	inv, tok, err := s.deps.Auth.Invite(c.Request().Context(), p.Subject, b.ID, req.Email)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, InvitationCreated{Invitation: inv, URL: s.inviteURL(b, tok)})
}

func (s *Server) apiCancelInvitation(c echo.Context) error {
	b, p, err := s.adminOf(c)
	if err != nil {
		return err
	}
	if err := s.deps.Auth.CancelInvitation(c.Request().Context(), p.Subject, b.ID, c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) apiListInvitations(c echo.Context) error {
	b, _, err := s.adminOf(c)
	if err != nil {
		return err
	}
	invs, err := s.deps.Auth.ListInvitations(c.Request().Context(), b.ID)
	if err != nil {
		return err
	}
	if invs == nil {
		invs = []auth.Invitation{}
	}
	return c.JSON(http.StatusOK, invs)
}

func (s *Server) apiSetLearnerActive(active bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, p, err := s.adminOf(c)
		if err != nil {
			return err
		}
		u, err := s.setLearnerActive(c.Request().Context(), p.Subject, b.ID, c.Param("id"), active)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, u)
	}
}

// setLearnerActive deactivates or reactivates through the learner use
// cases.
func (s *Server) setLearnerActive(ctx context.Context, actor, boroughID, userID string, active bool) (auth.User, error) {
	if s.deps.Learners == nil {
		return auth.User{}, errs.E(errs.Unavailable, "learner management is not set up on this server")
	}
	if active {
		return s.deps.Learners.Reactivate(ctx, actor, boroughID, userID)
	}
	return s.deps.Learners.Deactivate(ctx, actor, boroughID, userID)
}

// Erasure is what an erasure call answers: the anonymised account.
type Erasure struct {
	User auth.User `json:"user"`
}

func (s *Server) apiEraseLearner(c echo.Context) error {
	b, p, err := s.adminOf(c)
	if err != nil {
		return err
	}
	u, err := s.eraseLearner(c.Request().Context(), p.Subject, b, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, Erasure{User: u})
}

// eraseLearner runs the erasure use case for one learner of b.
func (s *Server) eraseLearner(ctx context.Context, actor string, b auth.Borough, userID string) (auth.User, error) {
	if s.deps.Learners == nil {
		return auth.User{}, errs.E(errs.Unavailable, "erasure is not set up on this server")
	}
	return s.deps.Learners.Erase(ctx, actor, b.ID, userID)
}
