package server_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/config"
	"github.com/reach-london/reach/internal/reachtest"
)

// TestSignInBackoffIsPerAccountAndAddress: failed sign-ins slow down the
// address that makes them, for that account, with a growing wait and a
// Retry-After; the owner signing in from another address is not locked
// out, on the JSON API, the portal and the admin sign-in alike, also for
// the platform admin.
func TestSignInBackoffIsPerAccountAndAddress(t *testing.T) {
	for _, b := range reachtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			r := reachtest.Start(t, b, func(c *config.Config) { c.TrustedProxies = "127.0.0.1/32" })
			login := func(ip, email, password string) (int, string) {
				req, _ := http.NewRequest(http.MethodPost, r.URL+"/api/v1/auth/login",
					strings.NewReader(`{"email":"`+email+`","password":"`+password+`"}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Forwarded-For", ip)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				return res.StatusCode, res.Header.Get("Retry-After")
			}
			const attacker, owner = "203.0.113.7", "198.51.100.20"
			// Twelve failures from three other addresses (four each) do not
			// lock the owner out, as a lock per account would.
			for i := range 12 {
				if st, _ := login("192.0.2."+strconv.Itoa(i%3+1), r.AdminEmail, "wrong password "+strconv.Itoa(i)); st != http.StatusUnauthorized {
					t.Fatalf("spread failure %d: %d, want 401", i+1, st)
				}
			}
			if st, _ := login(owner, r.AdminEmail, r.AdminPassword); st != http.StatusOK {
				t.Errorf("the owner after 12 failures from elsewhere: %d, want 200", st)
			}
			// Five failures cost nothing; the sixth makes the address wait.
			for i := range 6 {
				if st, _ := login(attacker, r.AdminEmail, "wrong password "+strconv.Itoa(i)); st != http.StatusUnauthorized {
					t.Fatalf("failure %d: %d, want 401", i+1, st)
				}
			}
			st, retry := login(attacker, r.AdminEmail, r.AdminPassword)
			if n, _ := strconv.Atoi(retry); st != http.StatusTooManyRequests || n < 1 {
				t.Errorf("the attacker's address after 6 failures: %d Retry-After %q, want 429 with a wait", st, retry)
			}
			// The platform admin, from their own address, is not locked out.
			if st, _ := login(owner, r.AdminEmail, r.AdminPassword); st != http.StatusOK {
				t.Errorf("the owner from another address: %d, want 200", st)
			}
			// Another account from the attacker's address is not slowed.
			if st, _ := login(attacker, "someone-else@reach.test", "wrong password"); st != http.StatusUnauthorized {
				t.Errorf("another account from the same address: %d, want 401", st)
			}
			// The wait doubles: after it, one more failure waits longer.
			time.Sleep(1100 * time.Millisecond)
			if st, _ := login(attacker, r.AdminEmail, "wrong password again"); st != http.StatusUnauthorized {
				t.Errorf("after the wait: %d, want 401 (tried)", st)
			}
			if st, retry := login(attacker, r.AdminEmail, r.AdminPassword); st != http.StatusTooManyRequests || retry != "2" {
				t.Errorf("after the seventh failure: %d Retry-After %q, want 429 and 2", st, retry)
			}

			// The portal's sign-in follows the same rules.
			portal := func(ip, password string) int {
				req, _ := http.NewRequest(http.MethodPost, r.URL+"/b/london/signin",
					strings.NewReader(url.Values{"email": {"pat@example.org"}, "password": {password}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Forwarded-For", ip)
				res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				return res.StatusCode
			}
			for i := range 6 {
				if st := portal(attacker, "wrong password "+strconv.Itoa(i)); st != http.StatusUnprocessableEntity {
					t.Fatalf("portal failure %d: %d, want 422", i+1, st)
				}
			}
			if st := portal(attacker, "wrong password x"); st != http.StatusTooManyRequests {
				t.Errorf("portal, the attacker's address: %d, want 429", st)
			}
			if st := portal(owner, "wrong password x"); st != http.StatusUnprocessableEntity {
				t.Errorf("portal, another address: %d, want 422 (tried, not throttled)", st)
			}
		})
	}
}
