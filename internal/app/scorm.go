package app

import (
	"context"

	"github.com/reach-london/reach/content/launch"
	"github.com/reach-london/reach/content/scorm"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/server"
)

// SCORM returns the process's SCORM tracker: attempts and their CMI data,
// recorded as xAPI statements in the LRS. The launch handler calls its
// StartAttempt for SCORM packages.
func (a *App) SCORM() *scorm.Service {
	a.scormOnce.Do(func() {
		a.scorm = scorm.NewService(scorm.Options{DB: a.DB, Statements: a.Statements(), Documents: a.Documents(), Auth: a.Auth, Packages: a.Content(),
			PublicURL: a.Config.PublicURL, ContentURL: a.Config.ContentURL, Logger: a.Log, OnOutcome: a.scormOutcome})
	})
	return a.scorm
}

// scormOutcome brings the portal's progress up to date after a SCORM
// commit: the outcome (of all the package's SCOs, for a multi-SCO package)
// belongs to the AU the module is bound to. Attempts started outside the
// portal belong to no module and change nothing.
func (a *App) scormOutcome(ctx context.Context, at scorm.Attempt, o scorm.Outcome) error {
	if at.Meta.ModuleAU == "" {
		return nil
	}
	err := a.Launch().RecordOutcome(ctx, at.BoroughID, at.Registration, at.Meta.ModuleAU, launch.Outcome{
		Completed: o.Completed, Passed: o.Passed, Failed: o.Failed, Score: o.Score, Seconds: o.Seconds})
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	return err
}

// mountSCORM adds the SCORM API (app origin) and the player (content origin).
func (a *App) mountSCORM(deps *server.Deps) {
	appRoutes, playerRoutes := server.MountSCORM(a.SCORM())
	deps.MountApp = append(deps.MountApp, appRoutes)
	deps.MountContent = append(deps.MountContent, playerRoutes)
}
