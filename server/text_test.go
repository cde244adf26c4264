package server_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/reachtest"
)

// TestTextRefusedEverywhere: text that is not valid UTF-8 or holds NUL is
// refused with 400 naming the field, on both backends, in a path
// parameter, a JSON body, a portal form and an xAPI document id, and
// nothing is stored. PostgreSQL answered 500 (SQLSTATE 22021) and SQLite
// stored U+FFFD (issue 13).
func TestTextRefusedEverywhere(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		ctx := context.Background()
		root := adminClient(t, r)
		want400 := func(what string, err error, field string) {
			t.Helper()
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Status != http.StatusBadRequest || !strings.Contains(ce.Message, field) {
				t.Errorf("%s: got %v, want 400 naming %q", what, err, field)
			}
		}
		if _, err := root.CreateBorough(ctx, "hackney", ""); err != nil {
			t.Fatal(err)
		}
		want400("learner id %00", root.Do(ctx, http.MethodGet, "/api/v1/boroughs/hackney/learners/%00", nil, nil), "path parameter id")
		want400("learner id %FF", root.Do(ctx, http.MethodGet, "/api/v1/boroughs/hackney/learners/%FF", nil, nil), "path parameter id")
		want400("borough name with NUL", root.Do(ctx, http.MethodPost, "/api/v1/boroughs", map[string]any{"slug": "nul", "name": "N\x00"}, nil), "name must not contain the NUL")
		if err := root.Do(ctx, http.MethodGet, "/api/v1/boroughs/nul", nil, nil); err == nil {
			t.Error("the borough with a NUL in its name was created")
		}

		// Portal sign-up: a name with NUL is refused and no account is made,
		// so its credentials do not sign in.
		br := newBrowser(t, r.URL)
		form := url.Values{"name": {"Ada\x00"}, "email": {"ada@hackney.test"}, "password": {"correct horse battery staple 9"}, "profession": {"gp"}}
		if res, body := br.do(http.MethodPost, "/b/hackney/signup", form); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "form field name must not contain the NUL") {
			t.Errorf("sign-up with NUL: %d %s", res.StatusCode, body)
		}
		signin := url.Values{"email": {"ada@hackney.test"}, "password": {"correct horse battery staple 9"}}
		if res, _ := br.do(http.MethodPost, "/b/hackney/signin", signin); res.StatusCode == http.StatusSeeOther {
			t.Error("the refused sign-up made an account that signs in")
		}

		// xAPI: a State document id with NUL.
		cred, err := root.CreateCredential(ctx, "hackney", "lms", "all")
		if err != nil {
			t.Fatal(err)
		}
		q := "activityId=" + url.QueryEscape("http://example.org/a") + "&agent=" + url.QueryEscape(`{"mbox":"mailto:ada@example.org"}`) + "&stateId=a%00b"
		req, _ := http.NewRequest(http.MethodPut, r.URL+"/xapi/activities/state?"+q, strings.NewReader(`{"x":1}`))
		req.SetBasicAuth(cred.Key, cred.Secret)
		req.Header.Set("X-Experience-API-Version", "1.0.3")
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("stateId=a%%00b: got %d, want 400", res.StatusCode)
		}
	})
}

// TestAlternateSyntaxThroughTextChecks: the text checks read the query and
// the form before the xAPI 1.0.3 alternate request syntax rewrites the
// request, and must not leave it a stale query (the ADL conformance suite
// found ?method= still there, answered 400).
func TestAlternateSyntaxThroughTextChecks(t *testing.T) {
	r := reachtest.Start(t, reachtest.Backends()[0])
	ctx := context.Background()
	cred, err := adminClient(t, r).CreateCredential(ctx, "london", "lms", "all")
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(cred.Key+":"+cred.Secret))},
		"X-Experience-API-Version": {"1.0.3"}, "limit": {"1"}}
	res, err := http.Post(r.URL+"/xapi/statements?method=GET", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"statements"`) {
		t.Fatalf("alternate syntax GET: %d %s", res.StatusCode, body)
	}
}
