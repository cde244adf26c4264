package auth_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/auth/authsql"
	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/kv/memkv"
	"github.com/reach-london/reach/internal/testenv"
)

func TestPasswordHashing(t *testing.T) {
	hash, err := auth.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		hash, password string
		want           bool
	}{
		{hash, "correct horse battery", true},
		{hash, "correct horse batterY", false},
		{hash, "", false},
		{"$argon2id$v=19$m=19456,t=2,p=1$bad", "x", false},
		{"plain", "plain", false},
	}
	for _, tt := range tests {
		if got := auth.VerifyPassword(tt.hash, tt.password); got != tt.want {
			t.Errorf("VerifyPassword(%q, %q) = %v, want %v", tt.hash, tt.password, got, tt.want)
		}
	}
	if _, err := auth.HashPassword("short"); err == nil {
		t.Error("a 5-character password was hashed")
	}
}

func TestScopes(t *testing.T) {
	tests := []struct {
		have []auth.Scope
		want auth.Scope
		ok   bool
	}{
		{[]auth.Scope{auth.ScopeAll}, auth.ScopeState, true},
		{[]auth.Scope{auth.ScopeAllRead}, auth.ScopeStatementsRead, true},
		{[]auth.Scope{auth.ScopeAllRead}, auth.ScopeStatementsWrite, false},
		{[]auth.Scope{auth.ScopeStatementsRead}, auth.ScopeStatementsReadMine, true},
		{[]auth.Scope{auth.ScopeStatementsReadMine}, auth.ScopeStatementsRead, false},
		{[]auth.Scope{auth.ScopeStatementsWrite}, auth.ScopeState, false},
		{nil, auth.ScopeStatementsRead, false},
	}
	for _, tt := range tests {
		if got := (auth.Principal{Scopes: tt.have}).Has(tt.want); got != tt.ok {
			t.Errorf("%v has %s: got %v, want %v", tt.have, tt.want, got, tt.ok)
		}
	}
	if _, err := auth.ParseScopes("state,bogus"); err == nil {
		t.Error("unknown scope accepted")
	}
	if sc, err := auth.ParseScopes("state, profile state"); err != nil || len(sc) != 2 {
		t.Errorf("got %v %v, want [state profile]", sc, err)
	}
}

func newService(t *testing.T, url string) *auth.Service {
	t.Helper()
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
	return s
}

func TestServiceOnBothDatabases(t *testing.T) {
	for name, url := range testenv.DatabaseURLs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newService(t, url)
			b, err := s.CreateBorough(ctx, "test", "lambeth", "")
			if err != nil || b.Name != "Lambeth" {
				t.Fatalf("got %+v %v, want Lambeth", b, err)
			}
			cred, secret, err := s.CreateCredential(ctx, "test", b.ID, "LMS", []auth.Scope{auth.ScopeStatementsWrite})
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodGet, "http://reach.test/xapi/statements", nil)
			req.SetBasicAuth(cred.Key, secret)
			p, err := s.AuthenticateXAPI(req)
			if err != nil || p.BoroughID != b.ID || !p.Has(auth.ScopeStatementsWrite) || len(p.Authority) == 0 {
				t.Fatalf("got %+v %v, want the credential's principal", p, err)
			}
			req.SetBasicAuth(cred.Key, secret+"x")
			if _, err := s.AuthenticateXAPI(req); !errs.Is(err, errs.Unauthorized) {
				t.Errorf("wrong secret: got %v, want unauthorized", err)
			}

			// Tokens signed before a rotation still verify after it.
			tok, _, err := s.IssueClientToken(ctx, cred.Key, secret, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.RotateKey(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AuthenticateToken(ctx, tok); err != nil {
				t.Errorf("token from before the rotation: %v", err)
			}
			// A second service over the same database (another replica)
			// verifies tokens signed with a key it loaded later.
			other := newService(t, url)
			if _, err := s.RotateKey(ctx); err != nil {
				t.Fatal(err)
			}
			tok2, _, _ := s.IssueClientToken(ctx, cred.Key, secret, nil)
			if _, err := other.AuthenticateToken(ctx, tok2); err != nil {
				t.Errorf("other replica rejects a token signed with a newer key: %v", err)
			}
			if _, err := s.AuthenticateToken(ctx, tok2[:len(tok2)-4]+"AAAA"); !errs.Is(err, errs.Unauthorized) {
				t.Errorf("tampered token: got %v, want unauthorized", err)
			}

			// Launch tokens expire and can be revoked.
			lt, id, err := s.IssueLaunchToken(auth.LaunchGrant{BoroughID: b.ID, Registration: "r", TTL: time.Hour,
				Scopes: []auth.Scope{auth.ScopeStatementsWrite}})
			if err != nil {
				t.Fatal(err)
			}
			if p, err := s.AuthenticateToken(ctx, lt); err != nil || p.Kind != auth.KindLaunch || p.Registration != "r" {
				t.Fatalf("launch token: got %+v %v", p, err)
			}
			if err := s.RevokeToken(ctx, id, time.Hour); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AuthenticateToken(ctx, lt); !errs.Is(err, errs.Unauthorized) {
				t.Errorf("revoked launch token: got %v, want unauthorized", err)
			}
			expired, _, _ := s.IssueLaunchToken(auth.LaunchGrant{BoroughID: b.ID, TTL: -time.Minute})
			if _, err := s.AuthenticateToken(ctx, expired); !errs.Is(err, errs.Unauthorized) {
				t.Errorf("expired launch token: got %v, want unauthorized", err)
			}

			if err := s.RevokeCredential(ctx, "test", b.ID, cred.ID); err != nil {
				t.Fatal(err)
			}
			req.SetBasicAuth(cred.Key, secret)
			if _, err := s.AuthenticateXAPI(req); !errs.Is(err, errs.Unauthorized) {
				t.Errorf("revoked credential: got %v, want unauthorized", err)
			}
		})
	}
}
