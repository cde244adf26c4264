package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/auth/authsql"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/kv/memkv"
	"github.com/reach-london/reach/internal/testenv"
)

// countingStore counts the database reads that unknown key ids and LRS
// keys can cause.
type countingStore struct {
	auth.Store
	signingKeys, credentialByKey, credentialKeys atomic.Int64
}

func (c *countingStore) SigningKeys(ctx context.Context) ([]auth.SigningKey, error) {
	c.signingKeys.Add(1)
	return c.Store.SigningKeys(ctx)
}

func (c *countingStore) CredentialByKey(ctx context.Context, key string) (auth.Credential, error) {
	c.credentialByKey.Add(1)
	return c.Store.CredentialByKey(ctx, key)
}

func (c *countingStore) CredentialKeys(ctx context.Context) ([]string, error) {
	c.credentialKeys.Add(1)
	return c.Store.CredentialKeys(ctx)
}

func (c *countingStore) reads() int64 {
	return c.signingKeys.Load() + c.credentialByKey.Load() + c.credentialKeys.Load()
}

// parallel runs fn(i) for i in [0, n) on 8 goroutines.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// eventuallyOK retries fn for up to 2 seconds.
func eventuallyOK(t *testing.T, what string, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %v after 2s", what, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestUnknownKeysCostBoundedReads: 1,000 requests with random JWT key ids
// and 1,000 with random LRS keys cost a handful of database reads, not
// one each; meanwhile a key rotated and a credential created on another
// replica work here as soon as the kv message arrives. The reload
// interval is a minute, so within the test only the message can make
// them known.
func TestUnknownKeysCostBoundedReads(t *testing.T) {
	ctx := context.Background()
	const n = 1000
	for name, d := range testenv.MigratedDBs(t, authsql.Migrations) {
		t.Run(name, func(t *testing.T) {
			cache := memkv.New() // shared, as Redis is between replicas
			cs := &countingStore{Store: authsql.New(d, nil)}
			opts := auth.Options{Issuer: "http://reach.test", ReloadInterval: time.Minute}
			s := auth.NewService(cs, cache, opts)
			other := auth.NewService(authsql.New(d, nil), cache, opts)
			for _, svc := range []*auth.Service{s, other} {
				if err := svc.LoadKeys(ctx); err != nil {
					t.Fatal(err)
				}
			}
			fctx, cancel := context.WithCancel(ctx)
			defer cancel()
			go s.FollowKeyChanges(fctx, 50*time.Millisecond)
			b, err := s.CreateBorough(ctx, "test", "lambeth", "")
			if err != nil {
				t.Fatal(err)
			}
			// Following starts with a reload; wait for it before counting.
			time.Sleep(100 * time.Millisecond)
			before := cs.reads()

			_, attackerKey, _ := ed25519.GenerateKey(rand.Reader)
			parallel(n, func(i int) {
				tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, auth.Claims{Type: auth.TokenClient,
					RegisteredClaims: jwt.RegisteredClaims{Issuer: "http://reach.test", Subject: "x",
						ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}})
				tok.Header["kid"] = fmt.Sprintf("k%012d", i)
				raw, _ := tok.SignedString(attackerKey)
				if _, err := s.AuthenticateToken(ctx, raw); !errs.Is(err, errs.Unauthorized) {
					t.Errorf("token with an unknown kid: got %v, want unauthorized", err)
				}
				if _, err := s.CheckCredential(ctx, "rk_"+uuid.NewString()[:16], "secret"); !errs.Is(err, errs.Unauthorized) {
					t.Errorf("unknown LRS key: got %v, want unauthorized", err)
				}
			})
			reads := cs.reads() - before
			t.Logf("%d unknown kids and %d unknown LRS keys cost %d database reads (signing keys %d, credential keys %d, credential by key %d)",
				n, n, reads, cs.signingKeys.Load(), cs.credentialKeys.Load(), cs.credentialByKey.Load())
			if reads > 6 {
				t.Errorf("%d requests with unknown keys cost %d database reads, want at most 6", 2*n, reads)
			}

			// The budget is spent; another replica's new key and new
			// credential still work here once the message arrives.
			if _, err := other.RotateKey(ctx); err != nil {
				t.Fatal(err)
			}
			cred, secret, err := other.CreateCredential(ctx, "test", b.ID, "LMS", []auth.Scope{auth.ScopeStatementsRead})
			if err != nil {
				t.Fatal(err)
			}
			tok, _, err := other.IssueClientToken(ctx, cred.Key, secret, nil)
			if err != nil {
				t.Fatal(err)
			}
			eventuallyOK(t, "a token signed with the other replica's new key", func() error {
				_, err := s.AuthenticateToken(ctx, tok)
				return err
			})
			eventuallyOK(t, "the other replica's new credential", func() error {
				_, err := s.CheckCredential(ctx, cred.Key, secret)
				return err
			})
			// One made here works at once.
			mine, mySecret, err := s.CreateCredential(ctx, "test", b.ID, "LMS 2", []auth.Scope{auth.ScopeStatementsRead})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.CheckCredential(ctx, mine.Key, mySecret); err != nil {
				t.Errorf("a credential created on this replica: %v", err)
			}
			// And this replica signs with the rotated key from now on.
			mineTok, _, err := s.IssueClientToken(ctx, mine.Key, mySecret, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := other.AuthenticateToken(ctx, mineTok); err != nil {
				t.Errorf("the other replica refuses this one's token: %v", err)
			}
		})
	}
}
