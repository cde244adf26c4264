package auth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/testenv"
)

// TestPasswordPolicy: NIST SP 800-63B rules for chosen passwords: length
// in characters, common and breached passwords refused, nor the account's
// own email or name; no composition rules.
func TestPasswordPolicy(t *testing.T) {
	personal := []string{"ada.lovelace@example.org", "Ada Lovelace"}
	tests := []struct {
		password string
		ok       bool
		want     string // part of the message when refused
	}{
		{"passwordpassword", false, "too easy to guess"},
		{"password123", false, "too easy to guess"},
		{"qwertyuiop12", false, "too easy to guess"},
		{"1234567890", false, "too easy to guess"},
		{"iloveyou2024", false, "too easy to guess"},
		{"short", false, "at least 10 characters"},
		// 9 characters but 18 bytes: length is counted in characters.
		{"ééééééééé", false, "at least 10 characters"},
		{strings.Repeat("x", 257), false, "at most 256 characters"},
		{"lovelace garden 1843", false, "name or email"},
		{"my ada.lovelace@example.org", false, "name or email"},
		// No composition rules: lower-case words with spaces are fine,
		// as are long passwords and any characters.
		{"correct horse battery staple", true, ""},
		{"a brand new password", true, ""},
		{"plum kettle orbit", true, ""},
		{"café ümlaut ñandú river", true, ""},
		{strings.Repeat("plum kettle orbit ", 14), true, ""},
	}
	for _, tt := range tests {
		err := auth.CheckPassword(tt.password, personal...)
		if tt.ok && err != nil {
			t.Errorf("%q refused: %v", tt.password, err)
		}
		if !tt.ok && (err == nil || !errs.Is(err, errs.Invalid) || !strings.Contains(errs.MessageOf(err), tt.want)) {
			t.Errorf("%q: got %v, want an invalid error with %q", tt.password, err, tt.want)
		}
	}
}

// TestChosenPasswordsFollowThePolicy: sign-up-like account creation,
// invitations and password changes apply CheckPassword; a generated
// one-time password does not need to.
func TestChosenPasswordsFollowThePolicy(t *testing.T) {
	for name, url := range testenv.DatabaseURLs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newService(t, url)
			b, err := s.CreateBorough(ctx, "test", "lambeth", "")
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.CreateUser(ctx, "test", auth.NewUser{BoroughID: b.ID, Email: "a@example.org", Role: auth.RoleLearner,
				Password: "passwordpassword"}); !errs.Is(err, errs.Invalid) {
				t.Errorf("create with passwordpassword: %v, want invalid", err)
			}
			u, generated, err := s.CreateUser(ctx, "test", auth.NewUser{BoroughID: b.ID, Email: "b@example.org", Role: auth.RoleLearner})
			if err != nil || generated == "" {
				t.Fatalf("generated password: %q %v", generated, err)
			}
			if err := s.ChangePassword(ctx, u.ID, "", generated, "password1234"); !errs.Is(err, errs.Invalid) {
				t.Errorf("change to password1234: %v, want invalid", err)
			}
			_, tok, err := s.Invite(ctx, "admin", b.ID, "c@example.org")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.AcceptInvitation(ctx, b.ID, tok, "Cleo", "qwertyuiop12", "gp"); !errs.Is(err, errs.Invalid) {
				t.Errorf("accept with qwertyuiop12: %v, want invalid", err)
			}
			if _, err := s.AcceptInvitation(ctx, b.ID, tok, "Cleo", "plum kettle orbit", "gp"); err != nil {
				t.Errorf("accept with a good password after a refused one: %v", err)
			}
		})
	}
}

// TestChangePasswordEndsOtherSessions: a password change signs out every
// other session of the account at once, and keeps the one that asked.
func TestChangePasswordEndsOtherSessions(t *testing.T) {
	for name, url := range testenv.DatabaseURLs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newService(t, url)
			b, err := s.CreateBorough(ctx, "test", "lambeth", "")
			if err != nil {
				t.Fatal(err)
			}
			const old, next = "plum kettle orbit", "another plum kettle river"
			u, _, err := s.CreateUser(ctx, "test", auth.NewUser{BoroughID: b.ID, Email: "a@example.org", Role: auth.RoleLearner, Password: old})
			if err != nil {
				t.Fatal(err)
			}
			_, mine, mySession, err := s.Login(ctx, b.ID, "a@example.org", old)
			if err != nil {
				t.Fatal(err)
			}
			_, other, _, err := s.Login(ctx, b.ID, "a@example.org", old)
			if err != nil {
				t.Fatal(err)
			}
			// Both sessions are live (and cached) before the change.
			for _, tok := range []string{mine, other} {
				if _, err := s.AuthenticateToken(ctx, tok); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.ChangePassword(ctx, u.ID, mySession.ID, old, next); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AuthenticateToken(ctx, mine); err != nil {
				t.Errorf("the session that changed the password: %v, want it kept", err)
			}
			if _, err := s.AuthenticateToken(ctx, other); !errs.Is(err, errs.Unauthorized) {
				t.Errorf("another session after the change: %v, want unauthorized", err)
			}
			if _, _, _, err := s.Login(ctx, b.ID, "a@example.org", old); !errs.Is(err, errs.Unauthorized) {
				t.Errorf("old password after the change: %v", err)
			}

			// A reset by an admin ends every session, the kept one too,
			// and the account must choose a password at its next sign-in.
			_, reset, err := s.ResetPassword(ctx, "admin", b.ID, "a@example.org")
			if err != nil || reset == "" {
				t.Fatalf("reset: %q %v", reset, err)
			}
			if _, err := s.AuthenticateToken(ctx, mine); !errs.Is(err, errs.Unauthorized) {
				t.Errorf("a session after an admin's reset: %v, want unauthorized", err)
			}
			if u, _, _, err := s.Login(ctx, b.ID, "a@example.org", reset); err != nil || !u.MustChange {
				t.Errorf("sign-in with the reset password: %+v %v, want a must-change account", u, err)
			}
		})
	}
}
