package auth_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/testenv"
)

func TestLearnerQueryValidation(t *testing.T) {
	for name, url := range testenv.DatabaseURLs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newService(t, url)
			b, err := s.CreateBorough(ctx, "test", "lambeth", "")
			if err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				q    auth.LearnerQuery
				want string // part of the error message, "" for success
			}{
				{auth.LearnerQuery{BoroughID: b.ID}, ""},
				{auth.LearnerQuery{BoroughID: b.ID, Limit: 500, Offset: 10, Status: auth.StatusDeactivated, Search: "  a  "}, ""},
				{auth.LearnerQuery{}, "per borough"},
				{auth.LearnerQuery{BoroughID: b.ID, Status: "gone"}, `status "gone"`},
				{auth.LearnerQuery{BoroughID: b.ID, Limit: 501}, "limit must be from 1 to 500"},
				{auth.LearnerQuery{BoroughID: b.ID, Limit: -1}, "limit must be from 1 to 500"},
				{auth.LearnerQuery{BoroughID: b.ID, Offset: -1}, "offset"},
				{auth.LearnerQuery{BoroughID: b.ID, Search: strings.Repeat("é", 201)}, "at most 200"},
			}
			for _, tt := range tests {
				p, err := s.ListLearners(ctx, tt.q)
				switch {
				case tt.want == "" && err != nil:
					t.Errorf("%+v: %v", tt.q, err)
				case tt.want == "" && (p.Learners == nil || p.Limit == 0):
					t.Errorf("%+v: got %+v, want an empty page with its limit", tt.q, p)
				case tt.want != "" && (!errs.Is(err, errs.Invalid) || !strings.Contains(errs.MessageOf(err), tt.want)):
					t.Errorf("%+v: got %v, want an invalid error saying %q", tt.q, err, tt.want)
				}
			}
		})
	}
}

func TestDeactivateAndAnonymise(t *testing.T) {
	for name, url := range testenv.DatabaseURLs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newService(t, url)
			b, _ := s.CreateBorough(ctx, "test", "lambeth", "")
			other, _ := s.CreateBorough(ctx, "test", "merton", "")
			const pw = "a long learner password"
			// Ann was invited before her account was made.
			if _, _, err := s.Invite(ctx, "admin-1", b.ID, "ann@example.org"); err != nil {
				t.Fatal(err)
			}
			u, _, err := s.CreateUser(ctx, "admin-1", auth.NewUser{BoroughID: b.ID, Email: "Ann@Example.org", Name: "Ann",
				Role: auth.RoleLearner, Profession: "gp", Password: pw})
			if err != nil {
				t.Fatal(err)
			}
			admin, _, _ := s.CreateUser(ctx, "admin-1", auth.NewUser{BoroughID: b.ID, Email: "boss@example.org", Role: auth.RoleBoroughAdmin})
			if _, _, err := s.Invite(ctx, "admin-1", b.ID, "friend@example.org"); err != nil {
				t.Fatal(err)
			}
			_, tok, _, err := s.Login(ctx, b.ID, "ann@example.org", pw)
			if err != nil {
				t.Fatal(err)
			}
			// The first check caches the session; deactivation must clear it.
			if _, err := s.AuthenticateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			page, _ := s.ListLearners(ctx, auth.LearnerQuery{BoroughID: b.ID})
			if page.Total != 1 || page.Learners[0].LastActiveAt == nil {
				t.Errorf("learner list %+v: want Ann with her last sign-in", page)
			}

			for _, wrong := range []struct{ borough, id string }{{other.ID, u.ID}, {b.ID, admin.ID}, {b.ID, "nobody"}} {
				if _, err := s.SetLearnerActive(ctx, "admin-1", wrong.borough, wrong.id, false); !errs.Is(err, errs.NotFound) {
					t.Errorf("deactivate %v: got %v, want not found", wrong, err)
				}
				if err := s.AnonymiseLearner(ctx, wrong.borough, wrong.id); !errs.Is(err, errs.NotFound) {
					t.Errorf("anonymise %v: got %v, want not found", wrong, err)
				}
			}
			if got, _ := s.Store().UserByID(ctx, admin.ID); got.Status != auth.StatusActive {
				t.Errorf("a refused call changed the admin: %+v", got)
			}

			if _, err := s.SetLearnerActive(ctx, "admin-1", b.ID, u.ID, false); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AuthenticateToken(ctx, tok); !errs.Is(err, errs.Unauthorized) {
				t.Errorf("session after deactivation: got %v, want unauthorized", err)
			}
			if _, _, _, err := s.Login(ctx, b.ID, "ann@example.org", pw); !errs.Is(err, errs.Forbidden) {
				t.Errorf("login after deactivation: got %v, want forbidden", err)
			}
			if _, err := s.SetLearnerActive(ctx, "admin-1", b.ID, u.ID, true); err != nil {
				t.Fatal(err)
			}
			_, tok, _, err = s.Login(ctx, b.ID, "ann@example.org", pw)
			if err != nil {
				t.Fatalf("login after reactivation: %v", err)
			}
			if _, err := s.AuthenticateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}

			if err := s.AnonymiseLearner(ctx, b.ID, u.ID); err != nil {
				t.Fatal(err)
			}
			got, _ := s.Store().UserByID(ctx, u.ID)
			want := auth.User{ID: u.ID, BoroughID: b.ID, Email: "erased-" + u.ID + "@invalid", Name: "Erased learner",
				Role: auth.RoleLearner, Status: auth.StatusDeactivated, PasswordHash: "erased", CreatedAt: got.CreatedAt}
			if got != want {
				t.Errorf("anonymised account:\n got %+v\nwant %+v", got, want)
			}
			if !auth.IsErased(got) || auth.IsErased(u) {
				t.Error("IsErased does not tell the erased account from the original")
			}
			if _, err := s.AuthenticateToken(ctx, tok); !errs.Is(err, errs.Unauthorized) {
				t.Errorf("session after erasure: got %v, want unauthorized", err)
			}
			if _, _, _, err := s.Login(ctx, b.ID, "ann@example.org", pw); !errs.Is(err, errs.Unauthorized) {
				t.Errorf("login after erasure: got %v, want unauthorized", err)
			}
			if _, err := s.SetLearnerActive(ctx, "admin-1", b.ID, u.ID, true); !errs.Is(err, errs.Conflict) {
				t.Errorf("reactivating an erased learner: got %v, want conflict", err)
			}
			entries, _ := s.Store().ListAudit(ctx, b.ID, 100)
			raw, _ := json.Marshal(entries)
			if strings.Contains(strings.ToLower(string(raw)), "ann@example.org") {
				t.Errorf("audit log still names the erased learner: %s", raw)
			}
			if !strings.Contains(string(raw), "friend@example.org") {
				t.Errorf("erasure rewrote other people's audit entries: %s", raw)
			}
			if invs, _ := s.ListInvitations(ctx, b.ID); len(invs) != 1 || invs[0].Email != "friend@example.org" {
				t.Errorf("invitations after erasure: %+v, want only the friend's", invs)
			}
			// Erasing again changes nothing.
			if err := s.AnonymiseLearner(ctx, b.ID, u.ID); err != nil {
				t.Fatal(err)
			}
			if again, _ := s.Store().UserByID(ctx, u.ID); again != got {
				t.Errorf("second erasure changed the account: %+v", again)
			}
		})
	}
}

func TestAuditPages(t *testing.T) {
	for name, url := range testenv.DatabaseURLs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newService(t, url)
			b, _ := s.CreateBorough(ctx, "test", "lambeth", "")
			other, _ := s.CreateBorough(ctx, "test", "merton", "")
			for i := 0; i < 5; i++ {
				s.Audit(ctx, b.ID, "admin-1", "test.step", strconv.Itoa(i), nil)
				s.Audit(ctx, other.ID, "admin-2", "test.step", "other", nil)
			}
			var got []string
			before := int64(0)
			for {
				page, err := s.AuditPage(ctx, b.ID, before, 2)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				for _, e := range page {
					got = append(got, e.Target)
				}
				before = page[len(page)-1].ID
			}
			if want := "4 3 2 1 0 lambeth"; strings.Join(got, " ") != want {
				t.Errorf("paged audit targets %q, want %q", strings.Join(got, " "), want)
			}
			all, _ := s.AuditPage(ctx, "", 0, 1000)
			if len(all) != 12 {
				t.Errorf("every borough's log has %d entries, want 12", len(all))
			}
			for _, bad := range []struct {
				before int64
				limit  int
			}{{-1, 10}, {0, 0}, {0, 1001}} {
				if _, err := s.AuditPage(ctx, b.ID, bad.before, bad.limit); !errs.Is(err, errs.Invalid) {
					t.Errorf("AuditPage(before %d, limit %d): got %v, want invalid", bad.before, bad.limit, err)
				}
			}
		})
	}
}

// TestCreateUserWithChosenID checks an account can be made under an id
// the caller chose (a dispatch records it first), that the id must be a
// canonical UUID, and that an id in use is a conflict.
func TestCreateUserWithChosenID(t *testing.T) {
	for name, url := range testenv.DatabaseURLs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newService(t, url)
			b, err := s.CreateBorough(ctx, "test", "lambeth", "")
			if err != nil {
				t.Fatal(err)
			}
			const id = "0b7d3c1e-8f4a-4c2b-9a6e-2d5f1e3c4b7a"
			for _, tc := range []struct {
				name, id, email string
				ok              bool
				kind            errs.Kind
			}{
				{"not a UUID", "learner-1", "a@example.org", false, errs.Invalid},
				{"upper case", strings.ToUpper(id), "a@example.org", false, errs.Invalid},
				{"chosen", id, "a@example.org", true, 0},
				{"id in use", id, "b@example.org", false, errs.Conflict},
			} {
				u, _, err := s.CreateUser(ctx, "admin-1", auth.NewUser{ID: tc.id, BoroughID: b.ID, Email: tc.email, Role: auth.RoleLearner})
				switch {
				case tc.ok && (err != nil || u.ID != tc.id):
					t.Errorf("%s: got %q, %v", tc.name, u.ID, err)
				case !tc.ok && !errs.Is(err, tc.kind):
					t.Errorf("%s: got %v, want %v", tc.name, err, tc.kind)
				}
			}
			if u, err := s.LearnerIn(ctx, b.ID, id); err != nil || u.Email != "a@example.org" {
				t.Fatalf("LearnerIn = %+v, %v", u, err)
			}
			if u, _, err := s.CreateUser(ctx, "admin-1", auth.NewUser{BoroughID: b.ID, Email: "c@example.org", Role: auth.RoleLearner}); err != nil || u.ID == "" || u.ID == id {
				t.Fatalf("generated id: %q, %v", u.ID, err)
			}
		})
	}
}
