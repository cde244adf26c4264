package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// AUStatus is one AU of a cmi5 registration as the LMS records it.
type AUStatus struct {
	AUID         string     `json:"auId"`
	Module       string     `json:"module"`
	CompletedAt  *time.Time `json:"completedAt,omitempty"`
	PassedAt     *time.Time `json:"passedAt,omitempty"`
	FailedAt     *time.Time `json:"failedAt,omitempty"`
	SatisfiedAt  *time.Time `json:"satisfiedAt,omitempty"`
	WaivedAt     *time.Time `json:"waivedAt,omitempty"`
	WaiveReason  string     `json:"waiveReason,omitempty"`
	Score        *float64   `json:"score,omitempty"`
	SecondsSpent float64    `json:"secondsSpent"`
	Launches     int        `json:"launches"`
}

// Registration is a learner's cmi5 registration for one course version.
type Registration struct {
	ID          string     `json:"id"`
	VersionID   string     `json:"versionId"`
	CourseID    string     `json:"courseId"`
	CreatedAt   time.Time  `json:"createdAt"`
	SatisfiedAt *time.Time `json:"satisfiedAt,omitempty"`
	AUs         []AUStatus `json:"aus"`
}

// Registrations lists a learner's registrations (borough admins).
func (c *Client) Registrations(ctx context.Context, borough, learnerID string) ([]Registration, error) {
	var out []Registration
	return out, c.Do(ctx, http.MethodGet, "/api/v1/boroughs/"+url.PathEscape(borough)+"/learners/"+url.PathEscape(learnerID)+
		"/registrations", nil, &out)
}

// Waive waives an AU for a learner with a cmi5 reason ("Tested Out",
// "Equivalent AU", "Equivalent Outside Activity" or "Administrative").
func (c *Client) Waive(ctx context.Context, borough, learnerID, registration, auID, reason string) ([]Registration, error) {
	var out []Registration
	return out, c.Do(ctx, http.MethodPost, "/api/v1/boroughs/"+url.PathEscape(borough)+"/learners/"+url.PathEscape(learnerID)+
		"/registrations/"+url.PathEscape(registration)+"/waive", map[string]string{"auId": auID, "reason": reason}, &out)
}

// ModuleProgress is one module on a learner's dashboard.
type ModuleProgress struct {
	Index       int        `json:"index"`
	Module      string     `json:"module"`
	Title       string     `json:"title"`
	Status      string     `json:"status"`
	Seconds     float64    `json:"seconds"`
	Score       *float64   `json:"score,omitempty"`
	SatisfiedAt *time.Time `json:"satisfiedAt,omitempty"`
}

// Progress is the signed-in learner's course progress.
type Progress struct {
	CourseTitle  string           `json:"courseTitle"`
	Modules      []ModuleProgress `json:"modules"`
	Done         int              `json:"done"`
	AllSatisfied bool             `json:"allSatisfied"`
}

// MyProgress returns the signed-in learner's progress.
func (c *Client) MyProgress(ctx context.Context) (Progress, error) {
	var p Progress
	return p, c.Do(ctx, http.MethodGet, "/api/v1/me/progress", nil, &p)
}
