package sqlstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/secretbox"
	"github.com/reach-london/reach/internal/testenv"
	"github.com/reach-london/reach/lrs/forward"
	"github.com/reach-london/reach/lrs/sqlstore"
)

func secretsBox(t *testing.T, current []byte, previous ...[]byte) *secretbox.Box {
	t.Helper()
	b, err := secretbox.New(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestForwardSecretsSealedAtRest: a target's secret is sealed in the table
// and read back whole; a secret stored before a key was set still reads,
// and reseal brings every secret to the current key; without the key, or
// with another, targets cannot be read and reseal changes nothing.
func TestForwardSecretsSealedAtRest(t *testing.T) {
	for name, d := range testenv.MigratedDBs(t, sqlstore.Migrations, sqlstore.ForwardingMigrations) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			stored := func(id string) string {
				t.Helper()
				var v string
				if err := d.SQL.QueryRowContext(ctx, `SELECT auth_secret FROM lrs_forward_targets WHERE id = $1`, id).Scan(&v); err != nil {
					t.Fatal(err)
				}
				return v
			}
			now := time.Now().UTC()
			target := func(id, secret string) forward.Target {
				return forward.Target{ID: id, BoroughID: "b1", Name: id, Endpoint: "https://lrs.example/xapi/", Version: "2.0.0",
					AuthType: "basic", AuthKey: "k", Secret: secret, Enabled: true, CreatedAt: now, UpdatedAt: now}
			}
			oldKey, newKey := secretbox.NewKey(), secretbox.NewKey()
			old := sqlstore.NewForwardStore(d, secretsBox(t, oldKey))

			// Before a key was set: stored as given.
			if err := sqlstore.NewForwardStore(d, nil).CreateTarget(ctx, target("legacy", "plain-secret"), 0); err != nil {
				t.Fatal(err)
			}
			if err := old.CreateTarget(ctx, target("t1", "s3cret-one"), 0); err != nil {
				t.Fatal(err)
			}
			upd := target("t1", "s3cret-two")
			if err := old.UpdateTarget(ctx, upd); err != nil {
				t.Fatal(err)
			}
			if v := stored("t1"); !secretbox.Sealed([]byte(v)) || strings.Contains(v, "s3cret") {
				t.Fatalf("stored secret %q is not sealed", v)
			}
			if got, _, err := old.Target(ctx, "b1", "t1"); err != nil || got.Secret != "s3cret-two" {
				t.Fatalf("Target: %q, %v", got.Secret, err)
			}
			if got, _, err := old.Target(ctx, "b1", "legacy"); err != nil || got.Secret != "plain-secret" {
				t.Fatalf("legacy target: %q, %v", got.Secret, err)
			}

			if _, _, err := sqlstore.NewForwardStore(d, nil).Targets(ctx, "b1"); !errors.Is(err, secretbox.ErrNoKey) {
				t.Errorf("Targets with no key: %v, want ErrNoKey", err)
			}
			wrong := sqlstore.NewForwardStore(d, secretsBox(t, newKey))
			if _, _, err := wrong.Target(ctx, "b1", "t1"); err == nil {
				t.Error("Target read with the wrong key")
			}
			before := stored("legacy")
			if _, err := wrong.ResealSecrets(ctx); err == nil {
				t.Error("reseal with the wrong key succeeded")
			}
			if stored("legacy") != before {
				t.Error("a failed reseal changed a row; it must change none")
			}

			rotated := sqlstore.NewForwardStore(d, secretsBox(t, newKey, oldKey))
			if n, err := rotated.ResealSecrets(ctx); err != nil || n != 2 {
				t.Fatalf("reseal: %d, %v; want 2", n, err)
			}
			if n, err := rotated.ResealSecrets(ctx); err != nil || n != 0 {
				t.Errorf("second reseal: %d, %v; want 0", n, err)
			}
			ts, _, err := wrong.Targets(ctx, "b1") // the new key alone now
			if err != nil || len(ts) != 2 {
				t.Fatalf("Targets with the new key after reseal: %v, %v", ts, err)
			}
			got := map[string]string{}
			for _, tg := range ts {
				got[tg.ID] = tg.Secret
			}
			if got["t1"] != "s3cret-two" || got["legacy"] != "plain-secret" {
				t.Errorf("secrets after reseal: %v", got)
			}
			if v := stored("legacy"); !secretbox.Sealed([]byte(v)) {
				t.Errorf("legacy secret still unsealed after reseal: %q", v)
			}
			// A sealed secret copied to another row does not open there.
			if _, err := d.SQL.ExecContext(ctx, `UPDATE lrs_forward_targets SET auth_secret = $1 WHERE id = 'legacy'`, stored("t1")); err != nil {
				t.Fatal(err)
			}
			if _, _, err := rotated.Target(ctx, "b1", "legacy"); err == nil || !strings.Contains(err.Error(), "belongs elsewhere") {
				t.Errorf("a secret moved to another row: %v", err)
			}
		})
	}
}
