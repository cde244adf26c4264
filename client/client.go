// Package client is a Go client for Reach's JSON API, used by the
// integration tests and usable by operators' own tools.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls one Reach server as one signed-in account (or anonymously).
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// New returns a client for the app origin at baseURL.
func New(baseURL string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// Error is a non-2xx answer.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Do sends a JSON request and decodes a JSON answer into out (if non-nil).
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		var eb struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.Unmarshal(raw, &eb)
		return &Error{Status: res.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("decode %s %s answer: %w", method, path, err)
		}
	}
	return nil
}

// User is an account as the API shows it.
type User struct {
	ID         string `json:"id"`
	BoroughID  string `json:"boroughId"`
	Email      string `json:"email"`
	Name       string `json:"name"`
	Role       string `json:"role"`
	Profession string `json:"profession"`
	Status     string `json:"status"`
	MustChange bool   `json:"mustChangePassword"`
}

// Login signs in and keeps the bearer token for later calls. borough is
// empty for platform admins.
func (c *Client) Login(ctx context.Context, borough, email, password string) (User, error) {
	var out struct {
		Token string `json:"token"`
		User  User   `json:"user"`
	}
	err := c.Do(ctx, http.MethodPost, "/api/v1/auth/login", map[string]string{"borough": borough, "email": email, "password": password}, &out)
	if err == nil {
		c.Token = out.Token
	}
	return out.User, err
}

// Logout ends the session.
func (c *Client) Logout(ctx context.Context) error {
	err := c.Do(ctx, http.MethodPost, "/api/v1/auth/logout", nil, nil)
	if err == nil {
		c.Token = ""
	}
	return err
}

// Me returns the signed-in account.
func (c *Client) Me(ctx context.Context) (User, error) {
	var u User
	return u, c.Do(ctx, http.MethodGet, "/api/v1/me", nil, &u)
}

// Borough is a tenant.
type Borough struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// Boroughs lists boroughs (platform admins).
func (c *Client) Boroughs(ctx context.Context) ([]Borough, error) {
	var out []Borough
	return out, c.Do(ctx, http.MethodGet, "/api/v1/boroughs", nil, &out)
}

// CreateBorough adds a borough (platform admins).
func (c *Client) CreateBorough(ctx context.Context, slug, name string) (Borough, error) {
	var out Borough
	return out, c.Do(ctx, http.MethodPost, "/api/v1/boroughs", map[string]string{"slug": slug, "name": name}, &out)
}

// CreateBoroughAdmin adds a borough admin and returns the one-time
// password when none was given.
func (c *Client) CreateBoroughAdmin(ctx context.Context, borough, email, name, password string) (User, string, error) {
	var out struct {
		User     User   `json:"user"`
		Password string `json:"password"`
	}
	err := c.Do(ctx, http.MethodPost, "/api/v1/boroughs/"+url.PathEscape(borough)+"/admins",
		map[string]string{"email": email, "name": name, "password": password}, &out)
	return out.User, out.Password, err
}

// Credential is an LRS key; Secret is set only when just created.
type Credential struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Key       string     `json:"key"`
	Secret    string     `json:"secret,omitempty"`
	Endpoint  string     `json:"endpoint,omitempty"`
	Scopes    []string   `json:"scopes"`
	RevokedAt *time.Time `json:"revokedAt"`
}

// CreateCredential issues LRS credentials for a borough.
func (c *Client) CreateCredential(ctx context.Context, borough, name string, scopes ...string) (Credential, error) {
	var out Credential
	return out, c.Do(ctx, http.MethodPost, "/api/v1/boroughs/"+url.PathEscape(borough)+"/credentials",
		map[string]any{"name": name, "scopes": scopes}, &out)
}

// Credentials lists a borough's credentials.
func (c *Client) Credentials(ctx context.Context, borough string) ([]Credential, error) {
	var out []Credential
	return out, c.Do(ctx, http.MethodGet, "/api/v1/boroughs/"+url.PathEscape(borough)+"/credentials", nil, &out)
}

// RevokeCredential stops a credential working.
func (c *Client) RevokeCredential(ctx context.Context, borough, id string) error {
	return c.Do(ctx, http.MethodDelete, "/api/v1/boroughs/"+url.PathEscape(borough)+"/credentials/"+url.PathEscape(id), nil, nil)
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	At     time.Time `json:"at"`
}

// Audit returns a borough's audit log, newest first.
func (c *Client) Audit(ctx context.Context, borough string) ([]AuditEntry, error) {
	var out []AuditEntry
	return out, c.Do(ctx, http.MethodGet, "/api/v1/boroughs/"+url.PathEscape(borough)+"/audit", nil, &out)
}
