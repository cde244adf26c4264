package app

import (
	"github.com/reach-london/reach/content/dispatch"
	"github.com/reach-london/reach/server"
)

// mountDispatch adds course dispatch to other LMSs: the admin API and the
// exports (app origin), and dispatch-token file serving and the SCORM 1.2
// dispatch's play and outcome pages (content origin).
func (a *App) mountDispatch(deps *server.Deps) {
	appRoutes, contentRoutes := server.MountDispatch(dispatch.NewStore(a.DB), a.Content(), a.Launch())
	deps.MountApp = append(deps.MountApp, appRoutes)
	deps.MountContent = append(deps.MountContent, contentRoutes)
}
