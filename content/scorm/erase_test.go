package scorm_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/reachtest"
)

func TestEraseLearner(t *testing.T) {
	for _, b := range reachtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b, "testdata/scorm2004")
			ctx := context.Background()
			a, _ := f.start(t, uuid.NewString(), "lesson")
			// Another borough's learner of the same id is not touched.
			if n, err := f.svc.EraseLearner(ctx, "another-borough", "ada"); err != nil || n != 0 {
				t.Fatalf("erase in another borough: got %d %v, want 0", n, err)
			}
			n, err := f.svc.EraseLearner(ctx, f.borough.ID, "ada")
			if err != nil || n != 1 {
				t.Fatalf("erase: got %d %v, want 1 attempt deleted", n, err)
			}
			if _, err := f.svc.AttemptForBorough(ctx, f.borough.ID, a.ID); !errs.Is(err, errs.NotFound) {
				t.Errorf("the erased attempt is still there: %v", err)
			}
			if n, err := f.svc.EraseLearner(ctx, f.borough.ID, "ada"); err != nil || n != 0 {
				t.Errorf("erasing again: got %d %v, want 0", n, err)
			}
		})
	}
}
