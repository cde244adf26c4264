package app

import (
	"context"
	"time"

	"github.com/reach-london/reach/content/launch"
	"github.com/reach-london/reach/internal/kv/dbfallback"
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
	svc := launch.NewService(a.DB, codes, a.Auth, a.Statements(), a.Documents(), launch.ContentCourses(a.Content()),
		launch.Options{PublicURL: a.Config.PublicURL, Logger: a.Log, SCORM: a.SCORM()})
	a.Auth.SetLaunchSessionCheck(svc.SessionEnded)
	return svc
}

// mountLaunch adds the static files, the learner portal, the fetch URL,
// and starts the sweeper that abandons idle sessions.
func (a *App) mountLaunch(deps *server.Deps) {
	svc := a.Launch()
	deps.MountApp = append(deps.MountApp, server.MountPortal(svc), server.MountLaunch(svc))
	a.Go("launch-sweeper", func(ctx context.Context) { svc.RunSweeper(ctx, 5*time.Minute) })
}
