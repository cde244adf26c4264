package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPagesRender(t *testing.T) {
	a, err := NewAssets()
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := Parse(a)
	if err != nil {
		t.Fatal(err)
	}
	b := &Borough{Slug: "camden", Name: "Camden"}
	opts := []Option{{Value: "artist", Label: "Artist"}, {Value: "gp", Label: "GP"}}
	var errsForm FormErrors
	errsForm.Add("email", "Enter an email address")
	tests := []struct {
		page string
		p    Page
		want []string
	}{
		{"portal_signup", Page{Title: "x", Borough: b, Errors: errsForm, Data: map[string]any{"Name": "A", "Email": "bad",
			"Profession": "gp", "Professions": opts, "PasswordHint": "At least 12 characters."}},
			[]string{`<title>Error: Create an account – Camden – Reach</title>`, `href="#f-email"`,
				`aria-describedby="f-email-error"`, `aria-invalid="true"`, `value="gp" checked`, `<a class="skip-link" href="#main">`}},
		{"portal_signin", Page{Borough: b, Data: map[string]any{"Email": "a@b.c"}}, []string{`autocomplete="current-password"`, `value="a@b.c"`}},
		{"error", Page{Data: map[string]string{"Heading": "Page not found", "Message": "no <such> page"}},
			[]string{`<h1>Page not found</h1>`, `no &lt;such&gt; page`}},
		{"portal_launching", Page{Borough: b, User: "Ann", Data: map[string]string{"Title": "M1", "URL": "http://c/x?a=1&b=2"}},
			[]string{`href="http://c/x?a=1&amp;b=2" data-launch-url`, `/static/launch.js?v=`, `Sign out`}},
		{"dispatch_play", Page{Title: "Risk & you", Data: map[string]any{"Nonce": "n0nce", "LaunchURL": "http://c/p/x?a=1&b=2",
			"Config": map[string]any{"outcomeURL": "/d/t/outcome/r/m", "targetOrigin": "*", "interval": 3000, "initial": map[string]bool{}}}},
			[]string{`<title>Risk &amp; you – Reach</title>`, `src="http://c/p/x?a=1&amp;b=2"`, `<script nonce="n0nce">`, `<style nonce="n0nce">`,
				`"outcomeURL":"/d/t/outcome/r/m"`, `reach-dispatch-outcome`}},
		{"dispatch_message", Page{Title: "Module closed", Data: map[string]any{"Nonce": "n0nce", "Message": "a <b>", "NotifyParent": true}},
			[]string{`<h1>Module closed</h1>`, `<p>a &lt;b&gt;</p>`, `<script nonce="n0nce">`, `reach-dispatch-closed`}},
		{"certificate", Page{Borough: b, Data: map[string]any{"Name": "Ann", "CourseTitle": "C", "Date": "1 Jan",
			"Number": "N1", "Modules": []map[string]string{{"Title": "M1", "Date": "1 Jan"}}}},
			[]string{`/static/certificate.css?v=`, `<p class="name">Ann</p>`}},
	}
	for _, tt := range tests {
		t.Run(tt.page, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tpl.Render(&buf, tt.page, tt.p); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("page %s lacks %q:\n%s", tt.page, w, out)
				}
			}
			if strings.Contains(out, "style=") || strings.Contains(out, "<script>") || strings.Contains(out, "<style>") {
				t.Errorf("page %s has inline style or script without a nonce, which the CSP forbids", tt.page)
			}
		})
	}
	if err := tpl.Render(&bytes.Buffer{}, "nope", Page{}); err == nil {
		t.Error("unknown page rendered without error")
	}
}

func TestStaticCaching(t *testing.T) {
	a, err := NewAssets()
	if err != nil {
		t.Fatal(err)
	}
	u := a.URL("reach.css")
	tests := []struct {
		url, cache string
		status     int
	}{
		{u, "public, max-age=31536000, immutable", 200},
		{"/static/reach.css?v=old", "public, max-age=300", 200},
		{"/static/nope.css", "", 404},
		{"/static/../web.go", "", 404},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.url, nil))
		if rec.Code != tt.status || rec.Header().Get("Cache-Control") != tt.cache {
			t.Errorf("%s: got %d %q, want %d %q", tt.url, rec.Code, rec.Header().Get("Cache-Control"), tt.status, tt.cache)
		}
		if tt.status == 200 && !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") {
			t.Errorf("%s: content type %q", tt.url, rec.Header().Get("Content-Type"))
		}
	}
}
