package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/server/web"
)

// home lets a visitor choose their borough's portal. With one borough it
// goes straight there.
func (s *Server) home(c echo.Context) error {
	bs, err := s.deps.Auth.Store().ListBoroughs(c.Request().Context())
	if err != nil {
		return s.renderError(c, err, web.Page{})
	}
	if len(bs) == 1 {
		return c.Redirect(http.StatusSeeOther, "/b/"+bs[0].Slug+"/")
	}
	return s.render(c, http.StatusOK, "home", web.Page{Title: "Choose your borough", Data: struct{ Boroughs []auth.Borough }{bs}})
}
