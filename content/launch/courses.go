package launch

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/reach-london/reach/content"
)

// contentCourses adapts the content room's service to Courses.
type contentCourses struct {
	svc *content.Service
	// pkgs caches packages without their file maps: packages never
	// change, and the dashboard reads the course tree on every view.
	pkgs sync.Map // borough|id → content.Package
}

// ContentCourses is Courses over the content room's service.
func ContentCourses(svc *content.Service) Courses { return &contentCourses{svc: svc} }

func (c *contentCourses) PublishedVersion(ctx context.Context, boroughID string) (content.CourseVersion, error) {
	return c.svc.PublishedVersion(ctx, boroughID)
}

func (c *contentCourses) VersionForLaunch(ctx context.Context, boroughID, learnerID, module string) (content.Launchable, error) {
	return c.svc.VersionForLaunch(ctx, boroughID, learnerID, module)
}

func (c *contentCourses) Version(ctx context.Context, boroughID, versionID string) (content.CourseVersion, error) {
	return c.svc.VersionByID(ctx, boroughID, versionID)
}

func (c *contentCourses) Package(ctx context.Context, boroughID, packageID string) (content.Package, error) {
	key := boroughID + "|" + packageID
	if v, ok := c.pkgs.Load(key); ok {
		return v.(content.Package), nil
	}
	p, err := c.svc.Package(ctx, boroughID, packageID)
	if err != nil {
		return p, err
	}
	p.Files = nil
	c.pkgs.Store(key, p)
	return p, nil
}

func (c *contentCourses) ReleasePin(ctx context.Context, boroughID, learnerID, module string) error {
	return c.svc.ReleasePin(ctx, boroughID, learnerID, module)
}

func (c *contentCourses) AULaunchURL(ctx context.Context, l content.Launchable) (string, error) {
	tok, err := c.svc.ContentToken(l.Version.BoroughID, l.Package.ID, 0)
	if err != nil {
		return "", err
	}
	return c.svc.LaunchURL(l.Package.ID, tok, l.AU), nil
}

// SCORMStarter starts a SCORM attempt for a launch and returns the URL of
// the player on the content origin. The SCORM room implements it; until
// it is set, SCORM packages cannot be launched from the portal.
type SCORMStarter interface {
	StartSCORM(ctx context.Context, l content.Launchable, registration, learnerID, learnerName string, learner json.RawMessage, returnURL string) (string, error)
}
