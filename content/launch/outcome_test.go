package launch

import (
	"context"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/testenv"
)

// TestModuleOutcome follows one module of a registration from its launch
// to completion, failure, a pass and satisfaction, and checks other
// boroughs and unknown modules find nothing.
func TestModuleOutcome(t *testing.T) {
	for name, url := range testenv.DatabaseURLs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			d, err := db.Open(ctx, url, db.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			if _, err := d.Migrate(ctx, Migrations); err != nil {
				t.Fatal(err)
			}
			s := &Service{st: &store{db: d}, now: time.Now}
			now := time.Now().UTC().Truncate(time.Microsecond)
			reg, _, err := s.st.ensureRegistration(ctx, Registration{ID: "reg-1", BoroughID: "camden", LearnerID: "ann",
				VersionID: "v1", CourseID: "course", CreatedAt: now})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.st.ensureAU(ctx, reg.ID, "https://reach.example/au/1", "1-landscape"); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				name, borough, reg, module string
			}{
				{"other borough", "hackney", reg.ID, "1-landscape"},
				{"unknown registration", "camden", "reg-x", "1-landscape"},
				{"module not launched", "camden", reg.ID, "2-risk"},
			} {
				if _, err := s.ModuleOutcome(ctx, tc.borough, tc.reg, tc.module); !errs.Is(err, errs.NotFound) {
					t.Errorf("%s: err = %v, want NotFound", tc.name, err)
				}
			}
			score := 0.4
			for _, step := range []struct {
				name string
				do   func() error
				want ModuleOutcome
			}{
				{"launched", func() error { return nil }, ModuleOutcome{}},
				{"completed", func() error {
					_, err := s.st.markAU(ctx, reg.ID, "https://reach.example/au/1", "completed_at", now)
					return err
				},
					ModuleOutcome{Completed: true}},
				{"failed", func() error {
					if err := s.st.setScore(ctx, reg.ID, "https://reach.example/au/1", score); err != nil {
						return err
					}
					_, err := s.st.markAU(ctx, reg.ID, "https://reach.example/au/1", "failed_at", now)
					return err
				}, ModuleOutcome{Completed: true, Failed: true, Score: &score}},
				{"passed later", func() error {
					_, err := s.st.markAU(ctx, reg.ID, "https://reach.example/au/1", "passed_at", now)
					return err
				},
					ModuleOutcome{Completed: true, Passed: true, Score: &score}},
				{"satisfied", func() error {
					_, err := s.st.markAU(ctx, reg.ID, "https://reach.example/au/1", "satisfied_at", now)
					return err
				}, ModuleOutcome{Completed: true, Passed: true, Score: &score, Satisfied: true}},
			} {
				if err := step.do(); err != nil {
					t.Fatalf("%s: %v", step.name, err)
				}
				got, err := s.ModuleOutcome(ctx, "camden", reg.ID, "1-landscape")
				if err != nil {
					t.Fatalf("%s: %v", step.name, err)
				}
				step.want.LearnerID = "ann"
				if got.LearnerID != step.want.LearnerID || got.Completed != step.want.Completed || got.Passed != step.want.Passed ||
					got.Failed != step.want.Failed || got.Satisfied != step.want.Satisfied || (got.Score == nil) != (step.want.Score == nil) ||
					(got.Score != nil && *got.Score != *step.want.Score) {
					t.Errorf("%s: got %+v, want %+v", step.name, got, step.want)
				}
				if got.Settled() != (step.name == "failed" || step.name == "passed later" || step.name == "satisfied") {
					t.Errorf("%s: Settled() = %v", step.name, got.Settled())
				}
			}
		})
	}
}
