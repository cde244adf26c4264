package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/reach-london/reach/internal/app"
)

func init() {
	register(command{name: "serve", summary: "run the server (app and content origins)", run: runServe})
}

func newLogger(env *cliEnv, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(env.stderr, &slog.HandlerOptions{Level: l}))
}

func runServe(ctx context.Context, env *cliEnv, args []string) error {
	fs, cfg, err := newFlags(env, "serve", "serve [flags]")
	if err != nil {
		return err
	}
	printConfig := fs.Bool("print-config", false, "print the effective configuration with secrets masked, and exit")
	if err := parseFlags(env, fs, cfg, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	if *printConfig {
		fmt.Fprint(env.stdout, cfg.Dump())
		return nil
	}
	log := newLogger(env, cfg.LogLevel)
	a, err := app.Open(ctx, *cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := firstRun(ctx, env, a); err != nil {
		return err
	}
	srv, err := a.Server(ctx)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}

// firstRun sets up an empty installation and prints the first admin's
// one-time password once.
func firstRun(ctx context.Context, env *cliEnv, a *app.App) error {
	password, err := a.FirstRun(ctx)
	if err != nil {
		return err
	}
	if password != "" {
		fmt.Fprintf(env.stdout, "\nReach is set up. Sign in at %s/admin as the platform admin:\n  email:    %s\n  password: %s\nThis password is shown once; you will be asked to change it.\n\n",
			a.Config.PublicURL, a.Config.AdminEmail, password)
	}
	return nil
}
