package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
)

// learnerOf checks the :id learner belongs to the admin's :borough.
func (p *portal) learnerOf(c echo.Context) (auth.Borough, auth.User, error) {
	b, _, err := p.s.adminOf(c)
	if err != nil {
		return b, auth.User{}, err
	}
	u, err := p.s.deps.Auth.Store().UserByID(c.Request().Context(), c.Param("id"))
	if err != nil || u.BoroughID != b.ID || u.Role != auth.RoleLearner {
		return b, auth.User{}, errs.E(errs.NotFound, "learner not found")
	}
	return b, u, nil
}

func (p *portal) learnerRegistrations(c echo.Context) error {
	b, u, err := p.learnerOf(c)
	if err != nil {
		return err
	}
	regs, err := p.launch.Registrations(c.Request().Context(), b.ID, u.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, regs)
}

type waiveRequest struct {
	AUID   string `json:"auId"`
	Module string `json:"module"`
	Reason string `json:"reason"`
}

// waive marks an AU waived for a learner (cmi5 §9.5.4.1) with one of the
// cmi5 reasons; the AU then counts as satisfied.
func (p *portal) waive(c echo.Context) error {
	b, u, err := p.learnerOf(c)
	if err != nil {
		return err
	}
	var req waiveRequest
	const usage = "body must be JSON with auId (or module) and reason"
	if err := bindJSON(c, &req, usage); err != nil {
		return err
	}
	if (req.AUID == "") == (req.Module == "") {
		return errs.E(errs.Invalid, usage)
	}
	if req.AUID == "" {
		req.AUID = req.Module
	}
	_, pr, _ := p.s.adminOf(c)
	if err := p.launch.Waive(c.Request().Context(), b.ID, u.ID, c.Param("registration"), req.AUID, req.Reason); err != nil {
		return err
	}
	p.s.deps.Auth.Audit(c.Request().Context(), b.ID, pr.Subject, "registration.waive", u.ID,
		map[string]any{"registration": c.Param("registration"), "au": req.AUID, "reason": req.Reason})
	regs, err := p.launch.Registrations(c.Request().Context(), b.ID, u.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, regs)
}

// myProgress is the signed-in learner's progress as JSON.
func (p *portal) myProgress(c echo.Context) error {
	pr, err := requireRole(c, auth.RoleLearner)
	if err != nil {
		return err
	}
	prog, err := p.launch.Progress(c.Request().Context(), pr.BoroughID, pr.Subject)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, prog)
}
