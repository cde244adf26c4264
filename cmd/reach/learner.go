package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/reach-london/reach/internal/app"
	"github.com/reach-london/reach/internal/auth"
)

func init() {
	register(command{name: "learner deactivate", summary: "end a learner's access and every session and launch of theirs", run: runLearnerDeactivate})
	register(command{name: "learner erase", summary: "erase a learner's personal data in every room (GDPR erasure)", run: runLearnerErase})
}

func runLearnerDeactivate(ctx context.Context, env *cliEnv, args []string) error {
	return runLearnerAction(ctx, env, args, "learner deactivate", func(ctx context.Context, a *app.App, b auth.Borough, id string) (string, error) {
		u, err := a.Learners().Deactivate(ctx, "cli", b.ID, id)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("deactivated learner %s in %s; their sessions and launches have ended\n", u.ID, b.Slug), nil
	})
}

func runLearnerErase(ctx context.Context, env *cliEnv, args []string) error {
	return runLearnerAction(ctx, env, args, "learner erase", func(ctx context.Context, a *app.App, b auth.Borough, id string) (string, error) {
		u, err := a.Learners().Erase(ctx, "cli", b.ID, id)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("erased learner %s in %s; the erasure is recorded in the audit log\n", u.ID, b.Slug), nil
	})
}

// runLearnerAction parses 'learner ACTION --borough B ID|EMAIL' and runs
// do through the same use case the API and admin pages use.
func runLearnerAction(ctx context.Context, env *cliEnv, args []string, name string,
	do func(ctx context.Context, a *app.App, b auth.Borough, id string) (string, error)) error {
	fs, cfg, err := newFlags(env, name, name+" --borough SLUG ID|EMAIL [flags]")
	if err != nil {
		return err
	}
	borough := fs.String("borough", "", "the learner's borough (required)")
	if err := parseFlags(env, fs, cfg, reorder(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"give exactly one learner id or email address"}
	}
	a, b, err := openInBorough(ctx, env, cfg, *borough)
	if err != nil {
		return err
	}
	defer a.Close()
	id := fs.Arg(0)
	if strings.Contains(id, "@") {
		u, err := a.Auth.Store().UserByEmail(ctx, b.ID, auth.NormalizeEmail(id))
		if err != nil {
			return fmt.Errorf("no learner %q in %s", id, b.Slug)
		}
		id = u.ID
	}
	out, err := do(ctx, a, b, id)
	if err != nil {
		return err
	}
	fmt.Fprint(env.stdout, out)
	return nil
}
