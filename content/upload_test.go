package content_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/reachtest"
)

// TestUploadForms covers the ways a package may be sent and the answers
// to ways it may not.
func TestUploadForms(t *testing.T) {
	forEachBackend(t, func(t *testing.T, inst *reachtest.Instance, admin *client.Client) {
		zip := makeZip(t, files("tincan.xml", tincanXML, "story.html", "raw body")...)
		form := func(field string) (string, []byte) {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			mw.WriteField("note", "ignored")
			w, _ := mw.CreateFormFile(field, "p.zip")
			w.Write(zip)
			mw.Close()
			return mw.FormDataContentType(), buf.Bytes()
		}
		mpType, mpBody := form("file")
		wrongType, wrongBody := form("upload")
		tests := []struct {
			name, contentType string
			body              []byte
			token             string
			status            int
			message           string
		}{
			{"raw zip", "application/zip", zip, admin.Token, 201, ""},
			{"multipart after another field", mpType, mpBody, admin.Token, 201, ""},
			{"multipart without a file field", wrongType, wrongBody, admin.Token, 400, "the form has no"},
			{"json is not a package", "application/json", []byte(`{}`), admin.Token, 415, "multipart/form-data"},
			{"not signed in", "application/zip", zip, "", 401, "sign in"},
		}
		for _, tt := range tests {
			req, _ := http.NewRequestWithContext(context.Background(), "POST", inst.URL+"/api/v1/boroughs/london/packages", bytes.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.contentType)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.status || !strings.Contains(string(raw), tt.message) {
				t.Errorf("%s: %d %s; want %d containing %q", tt.name, res.StatusCode, raw, tt.status, tt.message)
			}
			if tt.status == 201 {
				var p client.Package
				if err := json.Unmarshal(raw, &p); err != nil || p.Type != "xapi" {
					t.Errorf("%s: answer %s", tt.name, raw)
				}
			}
		}
	})
}
