package app

import (
	"context"
	"slices"
	"time"

	"github.com/reach-london/reach/content/launch"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/kv/dbfallback"
	"github.com/reach-london/reach/lrs"
	"github.com/reach-london/reach/server"
)

// Launch returns the process's cmi5 LMS: registrations, sessions, launch
// and the statement rules.
func (a *App) Launch() *launch.Service {
	a.launchOnce.Do(func() { a.launch = a.newLaunch() })
	return a.launch
}

func (a *App) newLaunch() *launch.Service {
	// Fetch codes and the per-session cmi5 lock fall back to the database
	// while Redis is down, so learners keep launching and their AUs keep
	// recording (see docs/operations/load-and-resilience.md).
	codes := a.KV
	if a.Config.RedisURL != "" {
		codes = dbfallback.New(a.KV, a.DB, a.Log)
	}
	return launch.NewService(a.DB, codes, a.Auth, a.Statements(), a.Documents(), launch.ContentCourses(a.Content()),
		launch.Options{PublicURL: a.Config.PublicURL, Logger: a.Log, SCORM: a.SCORM()})
}

// mountLaunch adds the static files, the learner portal, the fetch URL,
// and starts the sweeper that abandons idle sessions.
func (a *App) mountLaunch(deps *server.Deps) {
	svc := a.Launch()
	deps.MountApp = append(deps.MountApp, server.MountStatic, server.MountPortal(svc), server.MountLaunch(svc))
	// Erasure removes the learner's registrations before the account is
	// anonymised, which the admin room keeps as the last step.
	eraser := server.EraserFunc(func(ctx context.Context, borough string, u auth.User, _ lrs.Actor) error {
		_, err := svc.EraseLearner(ctx, borough, u.ID)
		return err
	})
	deps.Erasers = slices.Insert(deps.Erasers, max(len(deps.Erasers)-1, 0), server.LearnerEraser(eraser))
	a.Go("launch-sweeper", func(ctx context.Context) { svc.RunSweeper(ctx, 5*time.Minute) })
}
