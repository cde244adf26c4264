package dispatch

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/testenv"
)

func openStore(t *testing.T, url string) *Store {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, url, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx, Migrations); err != nil {
		t.Fatal(err)
	}
	return NewStore(d)
}

func TestStore(t *testing.T) {
	for name, url := range testenv.DatabaseURLs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, url)
			for _, tc := range []struct {
				name, borough, label string
				limit                int
			}{
				{"no borough", "", "Moodle", 0},
				{"no name", "camden", "  ", 0},
				{"long name", "camden", strings.Repeat("x", 201), 0},
				{"negative limit", "camden", "Moodle", -1},
				{"limit beyond the column", "camden", "Moodle", 1 << 31},
			} {
				if _, err := s.Create(ctx, tc.borough, "admin", tc.label, tc.limit); !errs.Is(err, errs.Invalid) {
					t.Errorf("%s: err = %v, want Invalid", tc.name, err)
				}
			}
			if l, _ := s.List(ctx, "camden"); len(l) != 0 {
				t.Fatalf("bad input recorded %d dispatches", len(l))
			}
			d, err := s.Create(ctx, "camden", "admin", " Moodle ", 50)
			if err != nil {
				t.Fatal(err)
			}
			if d.Name != "Moodle" || len(d.Token) < 40 || d.LearnerLimit != 50 {
				t.Fatalf("created %+v", d)
			}
			if _, err := s.Get(ctx, "hackney", d.ID); !errs.Is(err, errs.NotFound) {
				t.Fatalf("other borough's Get: %v", err)
			}
			if got, err := s.ByToken(ctx, d.Token); err != nil || got.ID != d.ID {
				t.Fatalf("ByToken = %+v, %v", got, err)
			}
			if _, err := s.ByToken(ctx, "nope"); !errs.Is(err, errs.Forbidden) {
				t.Fatalf("unknown token: %v", err)
			}
			if _, err := s.Revoke(ctx, "hackney", d.ID); !errs.Is(err, errs.NotFound) {
				t.Fatalf("other borough's Revoke: %v", err)
			}
			r, err := s.Revoke(ctx, "camden", d.ID)
			if err != nil || !r.Revoked() {
				t.Fatalf("Revoke = %+v, %v", r, err)
			}
			r2, _ := s.Revoke(ctx, "camden", d.ID)
			if !r2.RevokedAt.Equal(*r.RevokedAt) {
				t.Fatalf("second revoke moved the time: %v → %v", r.RevokedAt, r2.RevokedAt)
			}
			if _, err := s.ByToken(ctx, d.Token); !errs.Is(err, errs.Forbidden) {
				t.Fatalf("revoked token: %v", err)
			}
			l, err := s.List(ctx, "camden")
			if err != nil || len(l) != 1 || !l[0].Revoked() {
				t.Fatalf("List = %+v, %v", l, err)
			}
		})
	}
}

func TestCMI5XMLValidates(t *testing.T) {
	score := 0.8
	mods := []Module{
		{ModuleBinding: content.ModuleBinding{Module: "1-landscape", Title: "The landscape"}, Type: content.TypeCMI5,
			AU:        content.AU{ID: "https://reach.example/au/1", MoveOn: "CompletedAndPassed", MasteryScore: &score, LaunchMethod: "AnyWindow", Description: "d & <x>"},
			LaunchURL: FileURL("https://content.example/", "tok", "pkg 1", "m1/index.html?x=1&y=2")},
		{ModuleBinding: content.ModuleBinding{Module: "2"}, Type: content.TypeCMI5,
			AU: content.AU{ID: "https://reach.example/au/2", Title: "Two", MoveOn: "Completed", LaunchMethod: "OwnWindow", LaunchParameters: `{"a":1}`}, LaunchURL: "https://content.example/d/tok/p/two.html"},
	}
	out, err := CMI5XML("https://reach.example/courses/camden", "Course", "About", mods)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "https://content.example/d/tok/pkg%201/m1/index.html?x=1&amp;y=2") {
		t.Fatalf("launch URL not absolute or not escaped:\n%s", out)
	}
	f := filepath.Join(t.TempDir(), "cmi5.xml")
	if err := os.WriteFile(f, out, 0o600); err != nil {
		t.Fatal(err)
	}
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not installed")
	}
	cmd := exec.Command(xmllint, "--noout", "--schema", "/work/shared/schemas/cmi5/CourseStructure.xsd", f)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cmi5.xml does not validate: %v\n%s\n%s", err, msg, out)
	}

	mods[1].Type = content.TypeSCORM12
	if _, err := CMI5XML("https://reach.example/c", "C", "", mods); !errs.Is(err, errs.Conflict) || !strings.Contains(err.Error(), `"2"`) {
		t.Fatalf("SCORM module: %v", err)
	}
	if _, err := CMI5XML("https://reach.example/c", "C", "", nil); !errs.Is(err, errs.Conflict) {
		t.Fatalf("no modules: %v", err)
	}
}
