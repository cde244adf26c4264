package authsql_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/auth/authsql"
	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/kv/memkv"
	"github.com/reach-london/reach/internal/secretbox"
	"github.com/reach-london/reach/internal/testenv"
)

func mustBox(t *testing.T, current []byte, previous ...[]byte) *secretbox.Box {
	t.Helper()
	b, err := secretbox.New(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func storedKeys(t *testing.T, d *db.DB) map[string][]byte {
	t.Helper()
	rows, err := d.SQL.QueryContext(context.Background(), `SELECT kid, private_key FROM signing_keys`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var kid string
		var v []byte
		if err := rows.Scan(&kid, &v); err != nil {
			t.Fatal(err)
		}
		out[kid] = v
	}
	return out
}

// TestSigningKeysSealedAtRest: keys written with a box are sealed in the
// table and sign tokens the service verifies after a restart; a key
// stored before a key was set, and one sealed with a previous key, are
// resealed with the current key; the wrong key or none cannot load them.
func TestSigningKeysSealedAtRest(t *testing.T) {
	for name, d := range testenv.MigratedDBs(t, authsql.Migrations) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			start := func(box *secretbox.Box) (*auth.Service, error) {
				s := auth.NewService(authsql.New(d, box), memkv.New(), auth.Options{Issuer: "http://reach.test"})
				return s, s.LoadKeys(ctx)
			}
			// A key stored before sealing was set up.
			if _, err := start(nil); err != nil {
				t.Fatal(err)
			}
			oldKey, newKey := secretbox.NewKey(), secretbox.NewKey()
			s, err := start(mustBox(t, oldKey))
			if err != nil {
				t.Fatalf("plaintext keys must still load with a box: %v", err)
			}
			if _, err := s.RotateKey(ctx); err != nil {
				t.Fatal(err)
			}
			sealed, plain := 0, 0
			for kid, v := range storedKeys(t, d) {
				if secretbox.Sealed(v) {
					sealed++
				} else {
					plain++
					if len(v) != 64 {
						t.Errorf("key %s stored unsealed is %d bytes", kid, len(v))
					}
				}
			}
			if sealed != 1 || plain != 1 {
				t.Fatalf("after rotating with a box: %d sealed, %d plain; want 1 and 1", sealed, plain)
			}
			tok, err := s.Sign(auth.Claims{Type: "test", Borough: "b1"}, time.Minute)
			if err != nil {
				t.Fatal(err)
			}

			if _, err := start(nil); !errors.Is(err, secretbox.ErrNoKey) {
				t.Errorf("loading sealed keys with no key: %v, want ErrNoKey", err)
			}
			if _, err := start(mustBox(t, newKey)); err == nil || !strings.Contains(err.Error(), "neither REACH_SECRETS_KEY") {
				t.Errorf("loading with the wrong key: %v", err)
			}

			// Rotate the secrets key: the old one stays as a previous key.
			rotated := mustBox(t, newKey, oldKey)
			before := storedKeys(t, d)
			n, err := authsql.New(d, rotated).ResealSigningKeys(ctx)
			if err != nil || n != 2 {
				t.Fatalf("reseal: %d, %v; want 2", n, err)
			}
			for kid, v := range storedKeys(t, d) {
				if !rotated.Current(v) {
					t.Errorf("key %s not sealed with the new key after reseal", kid)
				}
				if bytes.Equal(v, before[kid]) {
					t.Errorf("key %s unchanged by reseal", kid)
				}
			}
			if n, err := authsql.New(d, rotated).ResealSigningKeys(ctx); err != nil || n != 0 {
				t.Errorf("second reseal: %d, %v; want 0", n, err)
			}
			// Only the new key is needed now, and the token still verifies.
			s2, err := start(mustBox(t, newKey))
			if err != nil {
				t.Fatal(err)
			}
			if c, err := s2.Verify(ctx, tok); err != nil || c.Borough != "b1" {
				t.Errorf("token signed before the reseal: %+v, %v", c, err)
			}
			if _, err := authsql.New(d, nil).ResealSigningKeys(ctx); !errors.Is(err, secretbox.ErrNoKey) {
				t.Errorf("reseal with no key: %v", err)
			}
		})
	}
}
