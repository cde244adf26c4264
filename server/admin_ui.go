package server

import "github.com/labstack/echo/v4"

// MountAdminUI adds the admin pages under /admin/.
func MountAdminUI(e *echo.Echo, s *Server) {}
