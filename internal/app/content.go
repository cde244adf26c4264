package app

import (
	"context"
	"sync"

	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/server"
)

// contentServices holds each App's content service: one per process, so
// its caches (file maps, small files, verified tokens) are shared by every
// request. App's fields belong to app.go, hence the map.
var contentServices sync.Map // *App → *content.Service

// Content returns the process's content service.
func (a *App) Content() *content.Service {
	if v, ok := contentServices.Load(a); ok {
		return v.(*content.Service)
	}
	svc := content.NewService(a.DB, a.Blobs, a.Auth, content.Options{
		Limits:     content.Limits{MaxUpload: a.Config.MaxUploadBytes},
		ContentURL: a.Config.ContentURL,
		Logger:     a.Log,
	})
	v, _ := contentServices.LoadOrStore(a, svc)
	return v.(*content.Service)
}

// mountContent adds the package files (content origin) and the package
// and course-version admin API (app origin).
func (a *App) mountContent(deps *server.Deps) {
	appRoutes, contentRoutes := server.MountContent(a.Content())
	deps.MountApp = append(deps.MountApp, appRoutes)
	deps.MountContent = append(deps.MountContent, contentRoutes)
}

// contentFirstRun publishes the base course in every borough that has no
// published version yet; later runs skip boroughs that have one.
func (a *App) contentFirstRun(ctx context.Context) error {
	return a.Content().EnsureBaseCourse(ctx)
}
