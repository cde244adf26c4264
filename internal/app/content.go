package app

import (
	"context"

	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/server"
)

// Content returns the process's content service.
func (a *App) Content() *content.Service {
	a.contentOnce.Do(func() {
		a.content = content.NewService(a.DB, a.Blobs, a.Auth, content.Options{
			Limits:     content.Limits{MaxUpload: a.Config.MaxUploadBytes, MaxExpansion: a.Config.MaxExpansionRatio},
			ContentURL: a.Config.ContentURL,
			Logger:     a.Log,
		})
	})
	return a.content
}

// mountContent adds the package files (content origin) and the package
// and course-version admin API (app origin).
func (a *App) mountContent(deps *server.Deps) {
	appRoutes, contentRoutes := server.MountContent(a.Content())
	deps.MountApp = append(deps.MountApp, appRoutes)
	deps.Courses = a.Content()
	deps.MountContent = append(deps.MountContent, contentRoutes)
}

// contentFirstRun publishes the base course in every borough that has no
// published version yet; later runs skip boroughs that have one.
func (a *App) contentFirstRun(ctx context.Context) error {
	return a.Content().EnsureBaseCourse(ctx)
}
