package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Dispatch is a grant of a borough's course to another LMS.
type Dispatch struct {
	ID           string     `json:"id"`
	BoroughID    string     `json:"boroughId"`
	Name         string     `json:"name"`
	Token        string     `json:"token"`
	LearnerLimit int        `json:"learnerLimit"`
	CreatedBy    string     `json:"createdBy"`
	CreatedAt    time.Time  `json:"createdAt"`
	RevokedAt    *time.Time `json:"revokedAt,omitempty"`
}

// CreateDispatch creates a dispatch; learnerLimit 0 means no limit.
func (c *Client) CreateDispatch(ctx context.Context, borough, name string, learnerLimit int) (Dispatch, error) {
	var d Dispatch
	err := c.Do(ctx, http.MethodPost, "/api/v1/boroughs/"+url.PathEscape(borough)+"/dispatches",
		map[string]any{"name": name, "learnerLimit": learnerLimit}, &d)
	return d, err
}

// Dispatches lists the borough's dispatches, newest first.
func (c *Client) Dispatches(ctx context.Context, borough string) ([]Dispatch, error) {
	var out struct {
		Dispatches []Dispatch `json:"dispatches"`
	}
	err := c.Do(ctx, http.MethodGet, "/api/v1/boroughs/"+url.PathEscape(borough)+"/dispatches", nil, &out)
	return out.Dispatches, err
}

// RevokeDispatch revokes a dispatch.
func (c *Client) RevokeDispatch(ctx context.Context, borough, id string) (Dispatch, error) {
	var d Dispatch
	err := c.Do(ctx, http.MethodPost, "/api/v1/boroughs/"+url.PathEscape(borough)+"/dispatches/"+url.PathEscape(id)+"/revoke", nil, &d)
	return d, err
}

// ExportCMI5 downloads the cmi5 zip of the borough's published course for
// a dispatch.
func (c *Client) ExportCMI5(ctx context.Context, borough, dispatchID string) ([]byte, error) {
	return c.exportCourse(ctx, borough, "cmi5", dispatchID)
}

// ExportSCORM12 downloads the SCORM 1.2 zip of the borough's published
// course for a dispatch: one SCO per module, each playing the module
// hosted on Reach and reporting completion and score to the LMS.
func (c *Client) ExportSCORM12(ctx context.Context, borough, dispatchID string) ([]byte, error) {
	return c.exportCourse(ctx, borough, "scorm12", dispatchID)
}

func (c *Client) exportCourse(ctx context.Context, borough, format, dispatchID string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/api/v1/boroughs/"+url.PathEscape(borough)+
		"/course/export/"+format+"?dispatch="+url.QueryEscape(dispatchID), nil)
	if err != nil {
		return nil, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode >= 300 {
		var eb struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.Unmarshal(raw, &eb)
		return nil, &Error{Status: res.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	return raw, nil
}
