package server_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/reach-london/reach/internal/reachtest"
)

// TestPortalAccounts covers invitations, sign-in and out, the role page and
// the portal's HTML error pages.
func TestPortalAccounts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		ctx := context.Background()
		const slug = "london"
		admin := adminClient(t, r)
		inv, err := admin.Invite(ctx, slug, "Invited@Example.org")
		if err != nil {
			t.Fatal(err)
		}
		link, err := url.Parse(inv.URL)
		if err != nil || !strings.HasPrefix(link.Path, "/b/"+slug+"/invite/") {
			t.Fatalf("invitation link %q: %v", inv.URL, err)
		}
		b := newBrowser(t, r.URL)
		steps := []struct {
			name, method, path string
			form               url.Values
			status             int
			location, contains string
		}{
			{"unknown borough", "GET", "/b/nowhere/", nil, 404, "", "no borough"},
			{"unknown page", "GET", "/b/" + slug + "/nope", nil, 404, "", "Page not found"},
			{"dashboard signed out", "GET", "/b/" + slug + "/dashboard", nil, 303, "/b/" + slug + "/signin?next=%2Fb%2F" + slug + "%2Fdashboard", ""},
			{"bad invitation token", "GET", "/b/" + slug + "/invite/not-a-token", nil, 404, "", "not valid"},
			{"invitation page", "GET", link.Path, nil, 200, "", "invited@example.org"},
			{"invitation without a name", "POST", link.Path, url.Values{"password": {"long enough password"}, "profession": {"gp"}}, 422, "", `href="#f-name"`},
			{"invitation with an unknown role", "POST", link.Path, url.Values{"name": {"Ivy"}, "password": {"long enough password"}, "profession": {"wizard"}}, 422, "", `href="#f-profession"`},
			{"accept invitation", "POST", link.Path, url.Values{"name": {"Ivy Invited"}, "password": {"long enough password"}, "profession": {"gp"}}, 303, "/b/" + slug + "/dashboard", ""},
			{"invitation used twice", "GET", link.Path, nil, 409, "", "already been used"},
			{"dashboard", "GET", "/b/" + slug + "/dashboard", nil, 200, "", "GP or primary care"},
			{"role page", "GET", "/b/" + slug + "/role", nil, 200, "", `value="gp" checked`},
			{"role without CSRF", "POST", "/b/" + slug + "/role", url.Values{"profession": {"artist"}}, 403, "", "reload the page and try again"},
			{"sign out", "POST", "/b/" + slug + "/signout", url.Values{"_csrf": {"CSRF"}}, 303, "/b/" + slug + "/", ""},
			{"sign in with a wrong password", "POST", "/b/" + slug + "/signin", url.Values{"email": {"invited@example.org"}, "password": {"wrong password!!"}}, 422, "", "wrong"},
			{"sign in with an outside next", "POST", "/b/" + slug + "/signin", url.Values{"email": {"invited@example.org"},
				"password": {"long enough password"}, "next": {"//evil.example/"}}, 303, "/b/" + slug + "/dashboard", ""},
			{"change role", "POST", "/b/" + slug + "/role", url.Values{"profession": {"artist"}, "_csrf": {"CSRF"}}, 303, "/b/" + slug + "/role?saved=1", ""},
			{"role saved", "GET", "/b/" + slug + "/role?saved=1", nil, 200, "", "Your role is saved."},
			{"admin account on the portal", "POST", "/b/" + slug + "/signin", url.Values{"email": {r.AdminEmail}, "password": {r.AdminPassword}, "_csrf": {"CSRF"}}, 422, "", "wrong"},
		}
		for _, s := range steps {
			form := s.form
			if form != nil && form.Get("_csrf") == "CSRF" {
				form.Set("_csrf", b.csrf())
			}
			res, body := b.do(s.method, s.path, form)
			if res.StatusCode != s.status || (s.location != "" && res.Header.Get("Location") != s.location) ||
				!strings.Contains(body, s.contains) {
				t.Errorf("%s: got %d %q, want %d %q containing %q:\n%.600s", s.name, res.StatusCode, res.Header.Get("Location"),
					s.status, s.location, s.contains, body)
			}
			if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") && res.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: HTML page with Cache-Control %q", s.name, res.Header.Get("Cache-Control"))
			}
		}

		// The new role is in the role agent profile the AU reads.
		cred, err := admin.CreateCredential(ctx, slug, "reader", "all")
		if err != nil {
			t.Fatal(err)
		}
		list, err := admin.Invitations(ctx, slug)
		if err != nil || len(list) != 1 || list[0].AcceptedAt == nil {
			t.Fatalf("invitations after accepting: %+v %v", list, err)
		}
		var user struct{ ID string }
		if err := b.json("/api/v1/me", &user); err != nil {
			t.Fatal(err)
		}
		agent := `{"objectType":"Agent","account":{"homePage":"` + r.URL + `","name":"` + user.ID + `"}}`
		var role struct{ Role string }
		if code := lrsGet(t, r.URL, cred.Key, cred.Secret, "agents/profile?"+url.Values{"agent": {agent},
			"profileId": {"https://reach.london/xapi/profiles/role"}}.Encode(), &role); code != 200 || role.Role != "artist" {
			t.Errorf("role profile: %d %+v", code, role)
		}
		res, _ := b.do(http.MethodGet, "/static/reach.css?v=nope", nil)
		if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "public, max-age=300" {
			t.Errorf("static file: %d %q", res.StatusCode, res.Header.Get("Cache-Control"))
		}
	})
}

// TestPortalBranding: a borough's colour and logo from the published course
// version brand the portal through a stylesheet and an image URL, never
// inline styles.
func TestPortalBranding(t *testing.T) {
	r := reachtest.Start(t, reachtest.Backends()[0])
	ctx := context.Background()
	admin := adminClient(t, r)
	png := []byte("\x89PNG\r\n\x1a\n0000")
	v, err := admin.SetSlots(ctx, "london", map[string]any{"branding": map[string]any{"primaryColour": "#7a1f5c",
		"logo": png, "logoType": "image/png", "logoAlt": "London Borough logo"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Publish(ctx, "london", v.Number); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, r.URL)
	_, body := b.do(http.MethodGet, "/b/london/", nil)
	css := regexpFind(t, body, `href="(/b/london/brand\.css\?v=[^"]+)"`)
	logo := regexpFind(t, body, `src="(/b/london/logo\?v=[^"]+)" alt="London Borough logo"`)
	res, cssBody := b.do(http.MethodGet, strings.ReplaceAll(css, "&amp;", "&"), nil)
	if res.StatusCode != 200 || !strings.Contains(cssBody, "--brand: #7a1f5c") || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("brand.css: %d %q %q", res.StatusCode, res.Header.Get("Cache-Control"), cssBody)
	}
	res, logoBody := b.do(http.MethodGet, logo, nil)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" || logoBody != string(png) {
		t.Errorf("logo: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if strings.Contains(body, "style=") {
		t.Error("the branded page has an inline style")
	}
}

func regexpFind(t *testing.T, s, expr string) string {
	t.Helper()
	m := regexp.MustCompile(expr).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in:\n%.1500s", expr, s)
	}
	return m[1]
}
