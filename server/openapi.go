package server

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v3"
)

// OpenAPIDocument describes the JSON API (/api/v1 and /oauth/token). A test
// checks every route against it, so it stays true to the code.
//
//go:embed openapi.yaml
var OpenAPIDocument []byte

var openAPIJSON = sync.OnceValues(func() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(OpenAPIDocument, &doc); err != nil {
		return nil, err
	}
	return json.Marshal(doc)
})

func (s *Server) routesOpenAPI(e *echo.Echo) {
	e.GET("/api/openapi.yaml", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/yaml", OpenAPIDocument)
	})
	e.GET("/api/openapi.json", func(c echo.Context) error {
		b, err := openAPIJSON()
		if err != nil {
			return err
		}
		return c.JSONBlob(http.StatusOK, b)
	})
}
