package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/labstack/echo/v4"
)

func TestPlayerBundle(t *testing.T) {
	built := fstest.MapFS{
		"playerdist/README.md":  {Data: []byte("placeholder")},
		"playerdist/player.js":  {Data: []byte("console.log(1)")},
		"playerdist/player.css": {Data: []byte("body{}")},
	}
	notBuilt := fstest.MapFS{"playerdist/README.md": {Data: []byte("placeholder")}}
	tests := []struct {
		name       string
		fsys       fstest.MapFS
		path       string
		wantStatus int
		wantBody   string
		wantHeader map[string]string
	}{
		{"page", built, "/player/3f1c1f1e-0000-4000-8000-000000000001", http.StatusOK, `{"api":"https://app.example/api/v1/scorm","attempt":"3f1c1f1e-0000-4000-8000-000000000001"}`,
			map[string]string{"Cache-Control": "no-store", "Content-Security-Policy": "connect-src 'self' https://app.example;"}},
		{"script", built, "/player/assets/player.js", http.StatusOK, "console.log(1)", map[string]string{"Cache-Control": "no-cache"}},
		{"unknown asset", built, "/player/assets/other.js", http.StatusNotFound, "no player asset", nil},
		{"page without bundle", notBuilt, "/player/x", http.StatusServiceUnavailable, "player bundle not built; run make web", nil},
		{"asset without bundle", notBuilt, "/player/assets/player.js", http.StatusServiceUnavailable, "player bundle not built; run make web", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{}
			e := echo.New()
			e.HTTPErrorHandler = func(err error, c echo.Context) { s.handleError(err, c) }
			s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
			bindPlayer(e, "https://app.example", loadPlayerAssets(tt.fsys))
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Body.String())
			}
			if !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("body %q, want it to contain %q", rec.Body.String(), tt.wantBody)
			}
			for k, v := range tt.wantHeader {
				if !strings.Contains(rec.Header().Get(k), v) {
					t.Errorf("%s %q, want it to contain %q", k, rec.Header().Get(k), v)
				}
			}
		})
	}
}
