package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

func init() {
	register(command{name: "healthcheck", summary: "exit 0 if the local server answers /healthz (for container health checks)", run: runHealthcheck})
}

// runHealthcheck lets a shell-less image check itself.
func runHealthcheck(ctx context.Context, env *cliEnv, args []string) error {
	fs, cfg, err := newFlags(env, "healthcheck", "healthcheck [flags]")
	if err != nil {
		return err
	}
	if err := parseFlags(env, fs, cfg, args); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("server not answering: %w", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("/healthz answered %d", res.StatusCode)
	}
	fmt.Fprintln(env.stdout, "ok")
	return nil
}
