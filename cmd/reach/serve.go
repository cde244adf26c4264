package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/reach-london/reach/internal/app"
	"github.com/reach-london/reach/internal/auth"
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
	if err := firstRun(ctx, env, a, log); err != nil {
		return err
	}
	srv, err := a.Server(ctx)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}

// firstRun sets up an empty installation and prints the first admin's
// one-time password once. At every later start, while that admin still
// holds a one-time password (has never signed in and chosen their own),
// it says how to get in, since the password printed once is easily lost
// among the request logs; it never prints a password again.
func firstRun(ctx context.Context, env *cliEnv, a *app.App, log *slog.Logger) error {
	password, err := a.FirstRun(ctx)
	if err != nil {
		return err
	}
	signin := a.Config.PublicURL + "/admin/signin"
	reset := "reach admin reset-password " + a.Config.AdminEmail
	if password != "" {
		fmt.Fprintf(env.stdout, "\nReach is set up. Sign in at %s as the platform admin:\n  email:    %s\n  password: %s\nThis password is shown once; you will be asked to change it. Lost it? Run '%s'.\n\n",
			signin, a.Config.AdminEmail, password, reset)
		return nil
	}
	u, err := a.Auth.Store().UserByEmail(ctx, "", auth.NormalizeEmail(a.Config.AdminEmail))
	if err != nil || !u.MustChange || u.Role != auth.RolePlatformAdmin {
		// No such admin (REACH_ADMIN_EMAIL changed since), or they have
		// signed in: nothing to say.
		return nil
	}
	log.Warn("the first platform admin has not signed in yet", "signin", signin, "email", u.Email, "resetPassword", reset)
	fmt.Fprintf(env.stderr, "\nThe platform admin %s has not signed in yet. Sign in at %s with the one-time password printed at the first start; if it is lost, run '%s' (with the same REACH_* settings) for a new one.\n\n",
		u.Email, signin, reset)
	return nil
}
