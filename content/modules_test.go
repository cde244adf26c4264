package content_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/reachtest"
)

// twoAUCMI5 is a cmi5 package with two AUs, so the module needs ?au=.
var twoAUCMI5 = strings.Replace(cmi5XML, `</courseStructure>`,
	`<au id="https://example.org/test/course/au2"><title><langstring lang="en">Second AU</langstring></title><description><langstring lang="en">Another</langstring></description><url>au2/index.html</url></au></courseStructure>`, 1)

// TestUploadModuleChecksFirst: issue 18 §5. A wrong module, a missing or
// unknown AU, or a bad title is refused before the package is stored, so
// nothing is left behind; the errors name the parameters the API takes.
func TestUploadModuleChecksFirst(t *testing.T) {
	forEachBackend(t, func(t *testing.T, inst *reachtest.Instance, admin *client.Client) {
		ctx := context.Background()
		vs, err := admin.CourseVersions(ctx, "london")
		if err != nil || len(vs) == 0 {
			t.Fatalf("versions: %v", err)
		}
		module := vs[0].Modules[1].Module
		zip := makeZip(t, files("cmi5.xml", twoAUCMI5, "au1/index.html", "1", "au2/index.html", "2")...)
		p0, f0, b0 := counts(t, inst)
		for _, tt := range []struct {
			name, module, au, title string
			status                  int
			msg                     string
		}{
			{"no such module", "9-nowhere", "", "", 404, `the course has no module "9-nowhere"`},
			{"au missing", module, "", "", 400, `au is required: package "Test course" has 2 AUs`},
			{"au unknown", module, "https://example.org/nope", "", 400, `au: package "Test course" has no AU "https://example.org/nope"`},
			{"title too long", module, "https://example.org/test/course/au2", strings.Repeat("x", 201), 400, "title is 201 characters long"},
		} {
			_, _, err := admin.UploadModuleWith(ctx, "london", tt.module, bytes.NewReader(zip), tt.au, tt.title)
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Status != tt.status || !strings.Contains(ce.Message, tt.msg) {
				t.Errorf("%s: %v, want %d %q", tt.name, err, tt.status, tt.msg)
			}
			if p, f, b := counts(t, inst); p != p0 || f != f0 || b != b0 {
				t.Errorf("%s: left an orphan: packages %d→%d, file rows %d→%d, blobs %d→%d", tt.name, p0, p, f0, f, b0, b)
			}
		}
		// The admin names the module; the chosen AU plays it.
		pkg, v, err := admin.UploadModuleWith(ctx, "london", module, bytes.NewReader(zip), "https://example.org/test/course/au2", "  Our own module  ")
		if err != nil {
			t.Fatal(err)
		}
		m := moduleOf(t, v, module)
		if m.Title != "Our own module" || m.AUID != "https://example.org/test/course/au2" || m.PackageID != pkg.ID {
			t.Errorf("uploaded module = %+v", m)
		}
		// Renaming through PUT keeps the package and AU.
		v, err = admin.BindModule(ctx, "london", module, pkg.ID, "https://example.org/test/course/au2", "Renamed")
		if err != nil {
			t.Fatal(err)
		}
		if m := moduleOf(t, v, module); m.Title != "Renamed" || m.AUID != "https://example.org/test/course/au2" {
			t.Errorf("renamed module = %+v", m)
		}
		// Without a title, the AU's.
		v, err = admin.BindModule(ctx, "london", module, pkg.ID, "https://example.org/test/course/au1", "")
		if err != nil {
			t.Fatal(err)
		}
		if m := moduleOf(t, v, module); m.Title != "First AU" {
			t.Errorf("default title = %q", m.Title)
		}
		if _, err := admin.BindModule(ctx, "london", module, pkg.ID, "", ""); !isStatus(err, 400) || !strings.Contains(err.Error(), "auId is required") {
			t.Errorf("PUT without auId on a two-AU package: %v", err)
		}

		// A multi-SCO SCORM package plays whole: no SCO to pick, the
		// package's title, launched from its first SCO.
		scorm := makeZip(t, files("imsmanifest.xml", scorm12XML, "one/index.html", "1", "two/index.html", "2")...)
		spkg, v, err := admin.UploadModuleWith(ctx, "london", module, bytes.NewReader(scorm), "", "")
		if err != nil {
			t.Fatalf("multi-SCO upload: %v", err)
		}
		if m := moduleOf(t, v, module); m.Title != "SCORM 1.2 test" || m.AUID != "i1" || m.PackageID != spkg.ID {
			t.Errorf("multi-SCO module = %+v", m)
		}
		l, err := inst.App.Content().Launchable(ctx, spkg.BoroughID, v.Number, module)
		if err != nil || l.AU.ID != "i1" || len(l.Package.Course.AllAUs()) != 2 {
			t.Errorf("launchable: %+v %v", l.AU, err)
		}
	})
}

func moduleOf(t *testing.T, v client.CourseVersion, module string) client.ModuleBinding {
	t.Helper()
	for _, m := range v.Modules {
		if m.Module == module {
			return m
		}
	}
	t.Fatalf("version %d has no module %s", v.Number, module)
	return client.ModuleBinding{}
}
