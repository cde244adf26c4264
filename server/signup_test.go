package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/reach-london/reach/internal/reachtest"
)

// TestSignUpDoesNotRevealAccounts: signing up with an address that
// already has an account answers exactly as a new sign-up does (same
// status, redirect and cookies), creates nothing and leaves the owner's
// password as it was; the sign-in page then says the same to both.
func TestSignUpDoesNotRevealAccounts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		const slug = "london"
		type answer struct {
			status   int
			location string
			cookies  []string
		}
		signUp := func(form url.Values) answer {
			b := newBrowser(t, r.URL)
			res, _ := b.do(http.MethodPost, "/b/"+slug+"/signup", form)
			a := answer{status: res.StatusCode, location: res.Header.Get("Location")}
			for _, c := range res.Cookies() {
				a.cookies = append(a.cookies, c.Name)
			}
			return a
		}
		first := signUp(url.Values{"name": {"Grace Owner"}, "email": {"grace@example.org"}, "password": {"plum kettle orbit"}, "profession": {"gp"}})
		again := signUp(url.Values{"name": {"Mallory Prober"}, "email": {"Grace@Example.org"}, "password": {"another plum kettle"}, "profession": {"artist"}})
		if first.status != http.StatusSeeOther || first.location != "/b/"+slug+"/signin?signup=done" || len(first.cookies) != 0 {
			t.Errorf("new sign-up: %+v, want 303 to the sign-in page and no session", first)
		}
		if again.status != first.status || again.location != first.location || strings.Join(again.cookies, ",") != strings.Join(first.cookies, ",") {
			t.Errorf("sign-up with a taken address: %+v; a new one: %+v; want the same", again, first)
		}
		b := newBrowser(t, r.URL)
		res, body := b.do(http.MethodGet, first.location, nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "If this email address is new here") {
			t.Errorf("sign-in page after sign-up: %d, want the neutral notice\n%s", res.StatusCode, body)
		}
		// The owner's password still works; the prober's does not.
		res, _ = b.do(http.MethodPost, "/b/"+slug+"/signin", url.Values{"email": {"grace@example.org"}, "password": {"another plum kettle"}})
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("sign in with the prober's password: %d, want 422", res.StatusCode)
		}
		res, _ = b.do(http.MethodPost, "/b/"+slug+"/signin", url.Values{"email": {"grace@example.org"}, "password": {"plum kettle orbit"}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/b/"+slug+"/dashboard" {
			t.Errorf("sign in with the owner's password: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		_, body = b.do(http.MethodGet, "/b/"+slug+"/dashboard", nil)
		if !strings.Contains(body, "Grace Owner") || strings.Contains(body, "Mallory") {
			t.Errorf("the owner's account changed:\n%s", body)
		}
		// A common password is refused on the password field, whatever
		// the address.
		res, body = newBrowser(t, r.URL).do(http.MethodPost, "/b/"+slug+"/signup", url.Values{"name": {"Pat"}, "email": {"pat@example.org"},
			"password": {"passwordpassword"}, "profession": {"gp"}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `href="#f-password"`) || !strings.Contains(body, "too easy to guess") {
			t.Errorf("sign-up with passwordpassword: %d, want 422 naming the password field", res.StatusCode)
		}
	})
}
