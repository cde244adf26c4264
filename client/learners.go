package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Learner is one row of a borough's learner list.
type Learner struct {
	User
	CreatedAt    time.Time  `json:"createdAt"`
	LastActiveAt *time.Time `json:"lastActiveAt"`
}

// LearnerPage is one page of learners and how many match in all.
type LearnerPage struct {
	Learners []Learner `json:"learners"`
	Total    int       `json:"total"`
	Limit    int       `json:"limit"`
	Offset   int       `json:"offset"`
}

// LearnerQuery filters and pages the learner list; zero fields are left
// to the server's defaults.
type LearnerQuery struct {
	Search string
	Status string
	Limit  int
	Offset int
}

// Learners lists a borough's learners, newest first.
func (c *Client) Learners(ctx context.Context, borough string, q LearnerQuery) (LearnerPage, error) {
	v := url.Values{}
	if q.Search != "" {
		v.Set("q", q.Search)
	}
	if q.Status != "" {
		v.Set("status", q.Status)
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Offset != 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	path := "/api/v1/boroughs/" + url.PathEscape(borough) + "/learners"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var p LearnerPage
	return p, c.Do(ctx, http.MethodGet, path, nil, &p)
}

// Learner returns one learner of a borough.
func (c *Client) Learner(ctx context.Context, borough, id string) (User, error) {
	var u User
	return u, c.Do(ctx, http.MethodGet, learnerPath(borough, id), nil, &u)
}

// Invitation is an invitation to create a learner account. URL, the link
// to hand over, is only set in the answer to Invite.
type Invitation struct {
	ID         string     `json:"id"`
	BoroughID  string     `json:"boroughId"`
	Email      string     `json:"email"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  time.Time  `json:"expiresAt"`
	AcceptedAt *time.Time `json:"acceptedAt"`
	URL        string     `json:"url,omitempty"`
}

// Invite invites email to create a learner account in the borough.
func (c *Client) Invite(ctx context.Context, borough, email string) (Invitation, error) {
	var inv Invitation
	return inv, c.Do(ctx, http.MethodPost, "/api/v1/boroughs/"+url.PathEscape(borough)+"/learners/invitations",
		map[string]string{"email": email}, &inv)
}

// Invitations lists a borough's invitations.
func (c *Client) Invitations(ctx context.Context, borough string) ([]Invitation, error) {
	var out []Invitation
	return out, c.Do(ctx, http.MethodGet, "/api/v1/boroughs/"+url.PathEscape(borough)+"/learners/invitations", nil, &out)
}

// CancelInvitation withdraws an invitation not yet accepted.
func (c *Client) CancelInvitation(ctx context.Context, borough, id string) error {
	return c.Do(ctx, http.MethodDelete, "/api/v1/boroughs/"+url.PathEscape(borough)+"/learners/invitations/"+url.PathEscape(id), nil, nil)
}

// DeactivateLearner ends a learner's access and sessions.
func (c *Client) DeactivateLearner(ctx context.Context, borough, id string) (User, error) {
	var u User
	return u, c.Do(ctx, http.MethodPost, learnerPath(borough, id)+"/deactivate", nil, &u)
}

// ReactivateLearner lets a deactivated learner sign in again.
func (c *Client) ReactivateLearner(ctx context.Context, borough, id string) (User, error) {
	var u User
	return u, c.Do(ctx, http.MethodPost, learnerPath(borough, id)+"/reactivate", nil, &u)
}

// EraseLearner removes a learner's data from every part of Reach (GDPR
// erasure) and returns the anonymised account.
func (c *Client) EraseLearner(ctx context.Context, borough, id string) (User, error) {
	var out struct {
		User User `json:"user"`
	}
	return out.User, c.Do(ctx, http.MethodPost, learnerPath(borough, id)+"/erase", nil, &out)
}

func learnerPath(borough, id string) string {
	return "/api/v1/boroughs/" + url.PathEscape(borough) + "/learners/" + url.PathEscape(id)
}
