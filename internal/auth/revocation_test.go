package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/auth/authsql"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/kv/memkv"
	"github.com/reach-london/reach/internal/testenv"
)

// TestLaunchTokenRevocation: with a launch-session check, a token's
// session state decides (the cache store's revocation entries, which a
// Redis restart can lose, are not needed); a check that cannot answer
// refuses the token as unavailable. Without one, RevokeToken's entry does.
func TestLaunchTokenRevocation(t *testing.T) {
	ctx := context.Background()
	for name, d := range testenv.MigratedDBs(t, authsql.Migrations) {
		t.Run(name, func(t *testing.T) {
			cache := memkv.New()
			s := auth.NewService(authsql.New(d, nil), cache, auth.Options{Issuer: "http://reach.test"})
			if err := s.LoadKeys(ctx); err != nil {
				t.Fatal(err)
			}
			token := func(session string) (string, string) {
				tok, id, err := s.IssueLaunchToken(auth.LaunchGrant{BoroughID: "b1", SessionID: session, TTL: time.Hour,
					Scopes: []auth.Scope{auth.ScopeState}})
				if err != nil {
					t.Fatal(err)
				}
				return tok, id
			}
			live, liveID := token("s-live")
			ended, _ := token("s-ended")
			unknown, _ := token("s-db-down")

			// Without a session check: the cache store's entry decides.
			if _, err := s.AuthenticateToken(ctx, live); err != nil {
				t.Fatalf("live token before revocation: %v", err)
			}
			if err := s.RevokeToken(ctx, liveID, time.Hour); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AuthenticateToken(ctx, live); !errs.Is(err, errs.Unauthorized) {
				t.Errorf("revoked token with no session check: %v, want unauthorized", err)
			}

			// With one, the session's state decides; a cache store that
			// lost the entry (a restarted Redis) changes nothing.
			s.SetLaunchSessionCheck(func(_ context.Context, id string) (bool, error) {
				switch id {
				case "s-live":
					return false, nil
				case "s-ended":
					return true, nil
				}
				return false, errors.New("database down")
			})
			tests := []struct {
				name  string
				token string
				want  errs.Kind // 0: accepted
			}{
				{"live session", live, 0},
				{"ended session, no cache entry", ended, errs.Unauthorized},
				{"session state unknown", unknown, errs.Unavailable},
			}
			for _, tc := range tests {
				p, err := s.AuthenticateToken(ctx, tc.token)
				if tc.want == 0 {
					if err != nil || p.Kind != auth.KindLaunch {
						t.Errorf("%s: got %+v, %v; want the launch principal", tc.name, p, err)
					}
					continue
				}
				if !errs.Is(err, tc.want) {
					t.Errorf("%s: got %v, want kind %v", tc.name, err, tc.want)
				}
			}
		})
	}
}
