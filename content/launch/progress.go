package launch

import (
	"context"
	"time"

	"github.com/reach-london/reach/content"
)

// Module statuses as the portal shows them, from least to most done.
const (
	StatusNotStarted = "not started"
	StatusInProgress = "in progress"
	StatusCompleted  = "completed"
	StatusPassed     = "passed"
	StatusSatisfied  = "satisfied"
)

var statusRank = map[string]int{StatusNotStarted: 0, StatusInProgress: 1, StatusCompleted: 2, StatusPassed: 3, StatusSatisfied: 4}

// ModuleProgress is one module of the learner's course.
type ModuleProgress struct {
	Index  int    `json:"index"`
	Module string `json:"module"`
	Title  string `json:"title"`
	Status string `json:"status"`
	// Seconds is the time spent in ended sessions of the module.
	Seconds     float64    `json:"seconds"`
	Score       *float64   `json:"score,omitempty"`
	SatisfiedAt *time.Time `json:"satisfiedAt,omitempty"`
	Waived      bool       `json:"waived,omitempty"`
}

// Progress is a learner's course as the dashboard shows it.
type Progress struct {
	CourseTitle       string           `json:"courseTitle"`
	CourseDescription string           `json:"courseDescription,omitempty"`
	Modules           []ModuleProgress `json:"modules"`
	// Done counts satisfied modules; AllSatisfied is true when every
	// module of the published course is satisfied.
	Done         int  `json:"done"`
	AllSatisfied bool `json:"allSatisfied"`
}

// RegistrationStatus is one registration with its AUs, for admins.
type RegistrationStatus struct {
	Registration
	AUs []AUStatus `json:"aus"`
}

// Registrations lists a learner's registrations with their AU statuses.
func (s *Service) Registrations(ctx context.Context, boroughID, learnerID string) ([]RegistrationStatus, error) {
	regs, err := s.st.registrations(ctx, boroughID, learnerID)
	if err != nil {
		return nil, err
	}
	out := make([]RegistrationStatus, 0, len(regs))
	for _, r := range regs {
		aus, err := s.st.auStatuses(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		if aus == nil {
			aus = []AUStatus{}
		}
		out = append(out, RegistrationStatus{Registration: r, AUs: aus})
	}
	return out, nil
}

// Progress returns the learner's progress through the borough's published
// course. A module's status counts every registration the learner has, so
// work done on an earlier version of the course is kept.
func (s *Service) Progress(ctx context.Context, boroughID, learnerID string) (Progress, error) {
	v, err := s.courses.PublishedVersion(ctx, boroughID)
	if err != nil {
		return Progress{}, err
	}
	base, err := s.courses.Package(ctx, boroughID, v.BasePackageID)
	if err != nil {
		return Progress{}, err
	}
	regs, err := s.Registrations(ctx, boroughID, learnerID)
	if err != nil {
		return Progress{}, err
	}
	byModule := map[string][]AUStatus{}
	for _, r := range regs {
		for _, a := range r.AUs {
			byModule[a.Module] = append(byModule[a.Module], a)
		}
	}
	p := Progress{CourseTitle: base.Course.Title, CourseDescription: base.Course.Description}
	for i, m := range v.Modules {
		mp := ModuleProgress{Index: i + 1, Module: m.Module, Title: m.Title, Status: StatusNotStarted}
		for _, a := range byModule[m.Module] {
			st := auStatusLabel(a)
			if statusRank[st] > statusRank[mp.Status] {
				mp.Status = st
			}
			mp.Seconds += a.SecondsSpent
			if a.Score != nil && (mp.Score == nil || *a.Score > *mp.Score) {
				sc := *a.Score
				mp.Score = &sc
			}
			if a.SatisfiedAt != nil && (mp.SatisfiedAt == nil || a.SatisfiedAt.Before(*mp.SatisfiedAt)) {
				mp.SatisfiedAt = a.SatisfiedAt
			}
			mp.Waived = mp.Waived || a.WaivedAt != nil
		}
		if mp.Status == StatusSatisfied {
			p.Done++
		}
		p.Modules = append(p.Modules, mp)
	}
	p.AllSatisfied = len(p.Modules) > 0 && p.Done == len(p.Modules)
	return p, nil
}

func auStatusLabel(a AUStatus) string {
	switch {
	case a.SatisfiedAt != nil:
		return StatusSatisfied
	case a.PassedAt != nil:
		return StatusPassed
	case a.CompletedAt != nil:
		return StatusCompleted
	case a.Launches > 0:
		return StatusInProgress
	}
	return StatusNotStarted
}

// PublishedVersion returns the borough's published course version.
func (s *Service) PublishedVersion(ctx context.Context, boroughID string) (content.CourseVersion, error) {
	return s.courses.PublishedVersion(ctx, boroughID)
}

// Published returns the borough's published course version and its base
// package (for the portal's landing page).
func (s *Service) Published(ctx context.Context, boroughID string) (content.CourseVersion, content.Package, error) {
	v, err := s.courses.PublishedVersion(ctx, boroughID)
	if err != nil {
		return v, content.Package{}, err
	}
	base, err := s.courses.Package(ctx, boroughID, v.BasePackageID)
	return v, base, err
}

// EraseLearner deletes the learner's registrations, AU statuses and
// sessions (GDPR erasure; their statements and documents are the LRS's to
// erase) and returns how many registrations went.
func (s *Service) EraseLearner(ctx context.Context, boroughID, learnerID string) (int, error) {
	return s.st.eraseLearner(ctx, boroughID, learnerID)
}
