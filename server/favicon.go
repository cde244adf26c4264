package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// faviconSVG is Reach's icon: a white "R" on the brand blue. Browsers ask
// for /favicon.ico on every origin whatever the page says; answering it
// (as SVG, which current browsers accept there) keeps 404s out of the
// logs and gives tabs an icon.
const faviconSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">` +
	`<rect width="32" height="32" rx="6" fill="#1d4f91"/>` +
	`<path d="M10 25V7h7a5.5 5.5 0 0 1 1.2 10.9L23 25h-4l-4.4-7H14v7zm4-10.5h3a2.25 2.25 0 0 0 0-4.5h-3z" fill="#fff"/>` +
	`</svg>`

func serveFavicon(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=86400")
	return c.Blob(http.StatusOK, "image/svg+xml", []byte(faviconSVG))
}

// contentRoot answers the content origin's root, which people reach by
// typing its address: it serves course files to the player, so send them
// to the app instead of answering a JSON 404.
func (s *Server) contentRoot(c echo.Context) error {
	return c.Redirect(http.StatusFound, s.cfg.PublicURL+"/")
}
