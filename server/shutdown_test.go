package server_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/config"
	"github.com/reach-london/reach/server"
)

// TestShutdownFinishesInFlightRequests starts a request that takes a while,
// shuts the server down while it runs, and checks the request still gets
// its full answer while new connections are refused.
func TestShutdownFinishesInFlightRequests(t *testing.T) {
	cfg := config.Default()
	cfg.Addr, cfg.ContentAddr = "127.0.0.1:0", "127.0.0.1:0"
	started := make(chan struct{})
	srv := server.New(server.Deps{Config: cfg, MountApp: []func(*echo.Echo, *server.Server){
		func(e *echo.Echo, _ *server.Server) {
			e.GET("/slow", func(c echo.Context) error {
				close(started)
				time.Sleep(500 * time.Millisecond)
				return c.String(http.StatusOK, "finished")
			})
		},
	}})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	base := "http://" + srv.AppAddr()
	type result struct {
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		res, err := http.Get(base + "/slow")
		if err != nil {
			done <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		done <- result{body: string(b), err: err}
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	r := <-done
	if r.err != nil || r.body != "finished" {
		t.Fatalf("in-flight request: got %q %v, want finished", r.body, r.err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("a new request was served after shutdown")
	}
}
