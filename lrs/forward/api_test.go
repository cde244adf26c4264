package forward_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/reachtest"
	"github.com/reach-london/reach/lrs/forward"
)

// TestForwardingAdminAPI covers the admin API's rules: who may do what,
// bad input changing nothing, secrets kept back, the audit log, and the
// test action.
func TestForwardingAdminAPI(t *testing.T) {
	for _, b := range reachtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			src := startAllowingLoopback(t, b)
			dst := startAllowingLoopback(t, b)
			ac, dc := adminClient(t, src), adminClient(t, dst)
			dstLondon := credential(t, dc, dst, "london")
			if _, err := ac.CreateBorough(ctx, "hackney", ""); err != nil {
				t.Fatal(err)
			}
			if _, _, err := ac.CreateBoroughAdmin(ctx, "hackney", "lead@hackney.test", "Lead", "a long enough passphrase"); err != nil {
				t.Fatal(err)
			}
			hc := client.New(src.URL)
			if _, err := hc.Login(ctx, "hackney", "lead@hackney.test", "a long enough passphrase"); err != nil {
				t.Fatal(err)
			}
			good := func() client.ForwardingInput {
				return client.ForwardingInput{Name: ptr("second reach"), Endpoint: ptr(dst.URL + "/xapi/"),
					AuthType: ptr("basic"), AuthKey: ptr(dstLondon.key), Secret: ptr(dstLondon.secret)}
			}

			bad := []struct {
				name   string
				edit   func(*client.ForwardingInput)
				status int
				msg    string
			}{
				{"no endpoint", func(in *client.ForwardingInput) { in.Endpoint = nil }, 400, "endpoint is required"},
				{"bad endpoint", func(in *client.ForwardingInput) { in.Endpoint = ptr("lrs.example.org") }, 400, "http or https URL"},
				{"unknown auth", func(in *client.ForwardingInput) { in.AuthType = ptr("digest") }, 400, "authType must be"},
				{"verb not an IRI", func(in *client.ForwardingInput) { in.Verbs = &[]string{"completed"} }, 400, "not an IRI"},
				{"bad version", func(in *client.ForwardingInput) { in.Version = ptr("0.95") }, 400, "version must be"},
			}
			for _, tc := range bad {
				in := good()
				tc.edit(&in)
				_, err := ac.CreateForwarding(ctx, "london", in)
				var ce *client.Error
				if !errors.As(err, &ce) || ce.Status != tc.status || !strings.Contains(ce.Message, tc.msg) {
					t.Errorf("%s: got %v, want %d with %q", tc.name, err, tc.status, tc.msg)
				}
			}
			var ce *client.Error
			err := ac.Do(ctx, http.MethodPost, "/api/v1/boroughs/london/forwarding", map[string]any{"name": "x", "endpont": "https://x.org/"}, nil)
			if !errors.As(err, &ce) || ce.Status != 400 || !strings.Contains(ce.Message, `unknown field "endpont"`) {
				t.Errorf("misspelt field: got %v, want 400 naming it", err)
			}
			if ts, err := ac.Forwardings(ctx, "london"); err != nil || len(ts) != 0 {
				t.Fatalf("after bad input: got %v, %v; want no targets", ts, err)
			}

			tg, err := ac.CreateForwarding(ctx, "london", good())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ac.CreateForwarding(ctx, "london", good()); !errors.As(err, &ce) || ce.Status != http.StatusConflict {
				t.Errorf("duplicate name: got %v, want 409", err)
			}

			// A borough admin sees only their borough; another borough's
			// targets are not found, not forbidden.
			for _, call := range []func() error{
				func() error { _, err := hc.Forwardings(ctx, "london"); return err },
				func() error { _, err := hc.Forwarding(ctx, "london", tg.ID); return err },
				func() error { _, err := hc.PauseForwarding(ctx, "london", tg.ID); return err },
				func() error { return hc.DeleteForwarding(ctx, "london", tg.ID) },
				func() error { _, err := hc.CreateForwarding(ctx, "london", good()); return err },
			} {
				if err := call(); !errors.As(err, &ce) || ce.Status != http.StatusNotFound {
					t.Errorf("hackney admin on london: got %v, want 404", err)
				}
			}
			if _, err := hc.Forwarding(ctx, "hackney", tg.ID); !errors.As(err, &ce) || ce.Status != http.StatusNotFound {
				t.Errorf("london's target through hackney: got %v, want 404", err)
			}
			if _, err := hc.AllForwardings(ctx); !errors.As(err, &ce) || ce.Status != http.StatusForbidden {
				t.Errorf("borough admin listing every borough: got %v, want 403", err)
			}
			if all, err := ac.AllForwardings(ctx); err != nil || len(all) != 1 {
				t.Errorf("platform admin listing every borough: got %v, %v; want one target", all, err)
			}
			if _, err := client.New(src.URL).Forwardings(ctx, "london"); !errors.As(err, &ce) || ce.Status != http.StatusUnauthorized {
				t.Errorf("anonymous: got %v, want 401", err)
			}

			// The test action reaches the second Reach; with a wrong secret
			// it reports the refusal.
			res, err := ac.TestForwarding(ctx, "london", tg.ID)
			if err != nil || !res.OK || res.Status != http.StatusOK {
				t.Errorf("send test: got %+v, %v; want ok 200", res, err)
			}
			if code, body := dstLondon.do(t, http.MethodGet, "statements?statementId="+res.StatementID, nil); code != http.StatusOK {
				t.Errorf("test statement at the target: got %d %s", code, body)
			}
			// An update without a secret keeps the stored one.
			if _, err := ac.UpdateForwarding(ctx, "london", tg.ID, client.ForwardingInput{Name: ptr("renamed")}); err != nil {
				t.Fatal(err)
			}
			if res, err := ac.TestForwarding(ctx, "london", tg.ID); err != nil || !res.OK {
				t.Errorf("send test after a rename: got %+v, %v; want ok", res, err)
			}
			if _, err := ac.UpdateForwarding(ctx, "london", tg.ID, client.ForwardingInput{Secret: ptr("wrong")}); err != nil {
				t.Fatal(err)
			}
			if res, err := ac.TestForwarding(ctx, "london", tg.ID); err != nil || res.OK || res.Status != http.StatusUnauthorized {
				t.Errorf("send test with a wrong secret: got %+v, %v; want not ok, 401", res, err)
			}
			if _, err := ac.UpdateForwarding(ctx, "london", tg.ID, client.ForwardingInput{Endpoint: ptr("http://" + closedAddr(t) + "/xapi/")}); err != nil {
				t.Fatal(err)
			}
			if res, err := ac.TestForwarding(ctx, "london", tg.ID); err != nil || res.OK || res.Status != 0 || !strings.Contains(res.Message, forward.Unreachable) {
				t.Errorf("send test to a closed port: got %+v, %v; want not ok, unreachable", res, err)
			}
			if _, err := ac.UpdateForwarding(ctx, "london", tg.ID, client.ForwardingInput{Verbs: &[]string{"nope"}}); !errors.As(err, &ce) || ce.Status != 400 {
				t.Errorf("bad update: got %v, want 400", err)
			}
			if got, _ := ac.Forwarding(ctx, "london", tg.ID); got.Name != "renamed" || len(got.Filter.Verbs) != 0 {
				t.Errorf("after a bad update: got %+v, want it unchanged", got)
			}
			if err := ac.DeleteForwarding(ctx, "london", tg.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := ac.Forwarding(ctx, "london", tg.ID); !errors.As(err, &ce) || ce.Status != http.StatusNotFound {
				t.Errorf("deleted target: got %v, want 404", err)
			}

			entries, err := ac.Audit(ctx, "london")
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for _, e := range entries {
				if strings.HasPrefix(e.Action, "forwarding.") {
					seen[e.Action]++
				}
			}
			want := map[string]int{"forwarding.create": 1, "forwarding.update": 3, "forwarding.test": 4, "forwarding.delete": 1}
			for k, n := range want {
				if seen[k] != n {
					t.Errorf("audit log: got %v, want %v", seen, want)
					break
				}
			}
		})
	}
}
