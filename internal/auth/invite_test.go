package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/auth/authsql"
	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/kv/memkv"
	"github.com/reach-london/reach/internal/testenv"
)

func TestInvitations(t *testing.T) {
	for name, url := range testenv.DatabaseURLs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			d, err := db.Open(ctx, url, db.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			if _, err := d.Migrate(ctx, authsql.Migrations); err != nil {
				t.Fatal(err)
			}
			s := auth.NewService(authsql.New(d, nil), memkv.New(), auth.Options{Issuer: "http://reach.test"})
			if err := s.LoadKeys(ctx); err != nil {
				t.Fatal(err)
			}
			camden, _ := s.CreateBorough(ctx, "test", "camden", "")
			hackney, _ := s.CreateBorough(ctx, "test", "hackney", "")

			if _, _, err := s.Invite(ctx, "admin", camden.ID, "not an email"); !errs.Is(err, errs.Invalid) {
				t.Errorf("invalid email: got %v, want invalid", err)
			}
			inv, tok, err := s.Invite(ctx, "admin", camden.ID, " New.Person@Example.org ")
			if err != nil || inv.Email != "new.person@example.org" || len(tok) < 20 {
				t.Fatalf("invite: %+v %q %v", inv, tok, err)
			}
			if got, err := s.Invitation(ctx, camden.ID, tok); err != nil || got.ID != inv.ID {
				t.Fatalf("look up: %+v %v", got, err)
			}
			if _, err := s.Invitation(ctx, hackney.ID, tok); !errs.Is(err, errs.NotFound) {
				t.Errorf("token in another borough: got %v, want not found", err)
			}
			if _, err := s.Invitation(ctx, camden.ID, tok+"x"); !errs.Is(err, errs.NotFound) {
				t.Errorf("wrong token: got %v, want not found", err)
			}
			// A bad password changes nothing: the invitation still works.
			if _, err := s.AcceptInvitation(ctx, camden.ID, tok, "New Person", "short", "gp"); !errs.Is(err, errs.Invalid) {
				t.Errorf("short password: got %v, want invalid", err)
			}
			u, err := s.AcceptInvitation(ctx, camden.ID, tok, "New Person", "a long enough password", "gp")
			if err != nil || u.Email != inv.Email || u.Role != auth.RoleLearner || u.Profession != "gp" || u.BoroughID != camden.ID {
				t.Fatalf("accept: %+v %v", u, err)
			}
			if _, err := s.AcceptInvitation(ctx, camden.ID, tok, "Again", "a long enough password", "gp"); !errs.Is(err, errs.Conflict) {
				t.Errorf("second accept: got %v, want conflict", err)
			}
			if _, _, _, err := s.Login(ctx, camden.ID, inv.Email, "a long enough password"); err != nil {
				t.Errorf("sign in after accepting: %v", err)
			}
			if _, _, err := s.Invite(ctx, "admin", camden.ID, inv.Email); !errs.Is(err, errs.Conflict) {
				t.Errorf("inviting an existing account: got %v, want conflict", err)
			}
			list, err := s.ListInvitations(ctx, camden.ID)
			if err != nil || len(list) != 1 || list[0].AcceptedAt == nil || list[0].UserID != u.ID {
				t.Errorf("list: %+v %v", list, err)
			}

			// An expired invitation is refused.
			_, tok2, err := s.Invite(ctx, "admin", camden.ID, "late@example.org")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.SQL.ExecContext(ctx, `UPDATE invitations SET expires_at = $1 WHERE email = $2`,
				time.Now().Add(-time.Minute).UTC(), "late@example.org"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AcceptInvitation(ctx, camden.ID, tok2, "Late", "a long enough password", "artist"); !errs.Is(err, errs.NotFound) ||
				errs.MessageOf(err) != "this invitation has expired; ask your borough for a new one" {
				t.Errorf("expired: got %v, want the expiry message", err)
			}
		})
	}
}
