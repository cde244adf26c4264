package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/reach-london/reach/lrs/forward/forwardapi"
)

// The forwarding API's types are the server's own (lrs/forward/forwardapi
// imports nothing of Reach's).
type (
	// ForwardingInput sets a forwarding target's fields; nil fields are
	// left as they are on update.
	ForwardingInput = forwardapi.Input
	// ForwardingTarget is a target with its delivery status. The secret
	// is never returned.
	ForwardingTarget = forwardapi.Status
	// ForwardingTest is how a target answered a test statement.
	ForwardingTest = forwardapi.TestResult
)

func forwardingPath(borough string, rest ...string) string {
	p := "/api/v1/boroughs/" + url.PathEscape(borough) + "/forwarding"
	for _, r := range rest {
		p += "/" + url.PathEscape(r)
	}
	return p
}

// CreateForwarding adds a forwarding target to a borough.
func (c *Client) CreateForwarding(ctx context.Context, borough string, in ForwardingInput) (ForwardingTarget, error) {
	var out ForwardingTarget
	return out, c.Do(ctx, http.MethodPost, forwardingPath(borough), in, &out)
}

// Forwardings lists a borough's targets with their status.
func (c *Client) Forwardings(ctx context.Context, borough string) ([]ForwardingTarget, error) {
	var out []ForwardingTarget
	return out, c.Do(ctx, http.MethodGet, forwardingPath(borough), nil, &out)
}

// AllForwardings lists every borough's targets (platform admins).
func (c *Client) AllForwardings(ctx context.Context) ([]ForwardingTarget, error) {
	var out []ForwardingTarget
	return out, c.Do(ctx, http.MethodGet, "/api/v1/forwarding", nil, &out)
}

// Forwarding returns one target with its status.
func (c *Client) Forwarding(ctx context.Context, borough, id string) (ForwardingTarget, error) {
	var out ForwardingTarget
	return out, c.Do(ctx, http.MethodGet, forwardingPath(borough, id), nil, &out)
}

// UpdateForwarding changes a target's settings.
func (c *Client) UpdateForwarding(ctx context.Context, borough, id string, in ForwardingInput) (ForwardingTarget, error) {
	var out ForwardingTarget
	return out, c.Do(ctx, http.MethodPatch, forwardingPath(borough, id), in, &out)
}

// DeleteForwarding removes a target.
func (c *Client) DeleteForwarding(ctx context.Context, borough, id string) error {
	return c.Do(ctx, http.MethodDelete, forwardingPath(borough, id), nil, nil)
}

// PauseForwarding stops deliveries to a target until resumed.
func (c *Client) PauseForwarding(ctx context.Context, borough, id string) (ForwardingTarget, error) {
	var out ForwardingTarget
	return out, c.Do(ctx, http.MethodPost, forwardingPath(borough, id, "pause"), nil, &out)
}

// ResumeForwarding restarts deliveries to a target.
func (c *Client) ResumeForwarding(ctx context.Context, borough, id string) (ForwardingTarget, error) {
	var out ForwardingTarget
	return out, c.Do(ctx, http.MethodPost, forwardingPath(borough, id, "resume"), nil, &out)
}

// TestForwarding sends a test statement to a target.
func (c *Client) TestForwarding(ctx context.Context, borough, id string) (ForwardingTest, error) {
	var out ForwardingTest
	return out, c.Do(ctx, http.MethodPost, forwardingPath(borough, id, "test"), nil, &out)
}

// SkipForwarding gives up on the next statement waiting for a target
// (one it refuses) and returns that statement's id.
func (c *Client) SkipForwarding(ctx context.Context, borough, id string) (string, ForwardingTarget, error) {
	var out struct {
		Skipped string           `json:"skipped"`
		Target  ForwardingTarget `json:"target"`
	}
	err := c.Do(ctx, http.MethodPost, forwardingPath(borough, id, "skip"), nil, &out)
	return out.Skipped, out.Target, err
}

// ExportStatements downloads a borough's statements; params holds format
// (jsonl or csv) and the xAPI filters. The caller closes the body.
func (c *Client) ExportStatements(ctx context.Context, borough string, params url.Values) (io.ReadCloser, error) {
	u := c.BaseURL + "/api/v1/boroughs/" + url.PathEscape(borough) + "/statements/export"
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
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
	if res.StatusCode != http.StatusOK {
		defer res.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		return nil, errorFrom(res.StatusCode, raw)
	}
	return res.Body, nil
}

// Ptr returns a pointer to v, for the optional fields of inputs.
func Ptr[T any](v T) *T { return &v }

func errorFrom(status int, raw []byte) error {
	e := &Error{Status: status}
	var eb struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal(raw, &eb) == nil {
		e.Code, e.Message = eb.Error.Code, eb.Error.Message
	}
	if e.Message == "" {
		e.Message = fmt.Sprintf("%.200s", raw)
	}
	return e
}
