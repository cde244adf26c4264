package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// FileRef is one file of a package.
type FileRef struct {
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	ContentType string `json:"contentType"`
}

// Package is an imported content package. Course is the parsed course
// tree (kept as JSON here; see content.Course for its shape).
type Package struct {
	ID          string             `json:"id"`
	BoroughID   string             `json:"boroughId"`
	Type        string             `json:"type"`
	Title       string             `json:"title"`
	Course      json.RawMessage    `json:"course"`
	Files       map[string]FileRef `json:"files"`
	FileCount   int                `json:"fileCount"`
	Size        int64              `json:"size"`
	ContentHash string             `json:"contentHash"`
	CreatedBy   string             `json:"createdBy"`
	CreatedAt   time.Time          `json:"createdAt"`
	Warnings    []string           `json:"warnings"`
}

// ModuleBinding is which package and AU play one module in a version.
type ModuleBinding struct {
	Module    string `json:"module"`
	Title     string `json:"title"`
	PackageID string `json:"packageId"`
	AUID      string `json:"auId"`
	Replaced  bool   `json:"replaced"`
}

// CourseVersion is one immutable version of a borough's course.
type CourseVersion struct {
	ID            string          `json:"id"`
	Number        int             `json:"number"`
	Status        string          `json:"status"`
	BasePackageID string          `json:"basePackageId"`
	Modules       []ModuleBinding `json:"modules"`
	Slots         json.RawMessage `json:"slots"`
	Note          string          `json:"note"`
	CreatedBy     string          `json:"createdBy"`
	CreatedAt     time.Time       `json:"createdAt"`
	PublishedBy   string          `json:"publishedBy"`
	PublishedAt   *time.Time      `json:"publishedAt"`
}

// Preview is a content-origin URL to open a package's or version's AU.
type Preview struct {
	URL       string `json:"url"`
	PackageID string `json:"packageId"`
	Module    string `json:"module"`
	Version   int    `json:"version"`
}

func boroughPath(borough string) string { return "/api/v1/boroughs/" + url.PathEscape(borough) }

// ImportPackage uploads a package zip (streamed as multipart/form-data).
func (c *Client) ImportPackage(ctx context.Context, borough string, zip io.Reader) (Package, error) {
	var out Package
	return out, c.upload(ctx, boroughPath(borough)+"/packages", zip, &out)
}

// UploadModule uploads a package that replaces module in a new draft.
func (c *Client) UploadModule(ctx context.Context, borough, module string, zip io.Reader) (Package, CourseVersion, error) {
	return c.UploadModuleWith(ctx, borough, module, zip, "", "")
}

// UploadModuleWith uploads a package that replaces module in a new draft,
// played from the AU auID (empty: the only AU, or a SCORM package whole)
// under title (empty: the package's).
func (c *Client) UploadModuleWith(ctx context.Context, borough, module string, zip io.Reader, auID, title string) (Package, CourseVersion, error) {
	var out struct {
		Package Package       `json:"package"`
		Version CourseVersion `json:"version"`
	}
	q := url.Values{}
	if auID != "" {
		q.Set("au", auID)
	}
	if title != "" {
		q.Set("title", title)
	}
	path := boroughPath(borough) + "/course/modules/" + url.PathEscape(module) + "/package"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	err := c.upload(ctx, path, zip, &out)
	return out.Package, out.Version, err
}

// upload streams r as the "file" field of a multipart form, without
// buffering it.
func (c *Client) upload(ctx context.Context, path string, r io.Reader, out any) error {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		part, err := mw.CreateFormFile("file", "package.zip")
		if err == nil {
			_, err = io.Copy(part, r)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+path, pr)
	if err != nil {
		pr.Close()
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		pr.Close()
		return err
	}
	defer res.Body.Close()
	pr.Close()
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
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode upload answer: %w", err)
	}
	return nil
}

// DeleteResult is what deleting a package reclaimed.
type DeleteResult struct {
	Checked int   `json:"checked"`
	Deleted int   `json:"deleted"`
	Bytes   int64 `json:"bytes"`
}

// DeletePackage deletes a package no course version uses.
func (c *Client) DeletePackage(ctx context.Context, borough, id string) (DeleteResult, error) {
	var out DeleteResult
	return out, c.Do(ctx, http.MethodDelete, boroughPath(borough)+"/packages/"+url.PathEscape(id), nil, &out)
}

// Packages lists a borough's packages.
func (c *Client) Packages(ctx context.Context, borough string) ([]Package, error) {
	var out []Package
	return out, c.Do(ctx, http.MethodGet, boroughPath(borough)+"/packages", nil, &out)
}

// Package returns one package with its file map.
func (c *Client) Package(ctx context.Context, borough, id string) (Package, error) {
	var out Package
	return out, c.Do(ctx, http.MethodGet, boroughPath(borough)+"/packages/"+url.PathEscape(id), nil, &out)
}

// PreviewPackage returns a content-origin URL of the package's first AU
// (or auID).
func (c *Client) PreviewPackage(ctx context.Context, borough, id, auID string) (Preview, error) {
	var out Preview
	return out, c.Do(ctx, http.MethodPost, boroughPath(borough)+"/packages/"+url.PathEscape(id)+"/preview", map[string]string{"auId": auID}, &out)
}

// CourseVersions lists the borough's course versions, newest first.
func (c *Client) CourseVersions(ctx context.Context, borough string) ([]CourseVersion, error) {
	var out []CourseVersion
	return out, c.Do(ctx, http.MethodGet, boroughPath(borough)+"/course/versions", nil, &out)
}

// CourseVersion returns one version.
func (c *Client) CourseVersion(ctx context.Context, borough string, number int) (CourseVersion, error) {
	var out CourseVersion
	return out, c.Do(ctx, http.MethodGet, boroughPath(borough)+"/course/versions/"+strconv.Itoa(number), nil, &out)
}

// CreateDraft copies version from (0: the published one) into a new draft.
func (c *Client) CreateDraft(ctx context.Context, borough string, from int) (CourseVersion, error) {
	var out CourseVersion
	return out, c.Do(ctx, http.MethodPost, boroughPath(borough)+"/course/versions", map[string]int{"from": from}, &out)
}

// Publish publishes a version.
func (c *Client) Publish(ctx context.Context, borough string, number int) (CourseVersion, error) {
	var out CourseVersion
	return out, c.Do(ctx, http.MethodPost, boroughPath(borough)+"/course/versions/"+strconv.Itoa(number)+"/publish", nil, &out)
}

// Rollback re-publishes the previously published version.
func (c *Client) Rollback(ctx context.Context, borough string) (CourseVersion, error) {
	var out CourseVersion
	return out, c.Do(ctx, http.MethodPost, boroughPath(borough)+"/course/rollback", nil, &out)
}

// PreviewVersion returns a content-origin URL of module in version number.
func (c *Client) PreviewVersion(ctx context.Context, borough string, number int, module string) (Preview, error) {
	var out Preview
	return out, c.Do(ctx, http.MethodPost, boroughPath(borough)+"/course/versions/"+strconv.Itoa(number)+"/preview", map[string]string{"module": module}, &out)
}

// Slots returns the latest version's local slot data (JSON, see content.Slots).
func (c *Client) Slots(ctx context.Context, borough string) (json.RawMessage, error) {
	var out json.RawMessage
	return out, c.Do(ctx, http.MethodGet, boroughPath(borough)+"/course/slots", nil, &out)
}

// SetSlots saves local slot data (any value that marshals to content.Slots
// JSON) as a new draft version.
func (c *Client) SetSlots(ctx context.Context, borough string, slots any) (CourseVersion, error) {
	var out CourseVersion
	return out, c.Do(ctx, http.MethodPut, boroughPath(borough)+"/course/slots", slots, &out)
}

// ReplaceModule makes an imported package's AU play module in a new draft.
func (c *Client) ReplaceModule(ctx context.Context, borough, module, packageID, auID string) (CourseVersion, error) {
	var out CourseVersion
	return out, c.Do(ctx, http.MethodPut, boroughPath(borough)+"/course/modules/"+url.PathEscape(module),
		map[string]string{"packageId": packageID, "auId": auID}, &out)
}

// BindModule makes an imported package's AU play module under title (empty:
// the AU's) in a new draft.
func (c *Client) BindModule(ctx context.Context, borough, module, packageID, auID, title string) (CourseVersion, error) {
	var out CourseVersion
	return out, c.Do(ctx, http.MethodPut, boroughPath(borough)+"/course/modules/"+url.PathEscape(module),
		map[string]string{"packageId": packageID, "auId": auID, "title": title}, &out)
}

// RestoreModule puts the base course's module back in a new draft.
func (c *Client) RestoreModule(ctx context.Context, borough, module string) (CourseVersion, error) {
	var out CourseVersion
	return out, c.Do(ctx, http.MethodDelete, boroughPath(borough)+"/course/modules/"+url.PathEscape(module), nil, &out)
}

// PublishBase rebuilds and publishes the base course in a borough
// (platform admins); published is false when nothing changed.
func (c *Client) PublishBase(ctx context.Context, borough string) (CourseVersion, bool, error) {
	var out struct {
		Version   CourseVersion `json:"version"`
		Published bool          `json:"published"`
	}
	err := c.Do(ctx, http.MethodPost, boroughPath(borough)+"/course/publish-base", nil, &out)
	return out.Version, out.Published, err
}
