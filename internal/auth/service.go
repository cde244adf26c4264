package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/kv"
)

// Token types carried in the "typ" claim.
const (
	TokenSession = "session" // a person's sign-in (cookie or bearer)
	TokenClient  = "client"  // an OAuth 2.0 client-credentials token for an LMS
	TokenLaunch  = "launch"  // a launch-scoped token handed to content
)

// ClientTokenTTL is how long an OAuth client-credentials token lasts.
const ClientTokenTTL = time.Hour

// Claims are the JWT claims Reach issues.
type Claims struct {
	jwt.RegisteredClaims
	Type         string          `json:"typ"`
	Borough      string          `json:"bor,omitempty"`
	Role         Role            `json:"role,omitempty"`
	Scopes       []Scope         `json:"scp,omitempty"`
	Actor        json.RawMessage `json:"act,omitempty"`
	Authority    json.RawMessage `json:"aut,omitempty"`
	Registration string          `json:"reg,omitempty"`
	ActivityID   string          `json:"aid,omitempty"`
	SessionID    string          `json:"ses,omitempty"`
}

// Options configures a Service.
type Options struct {
	// Issuer is the app origin's public URL; it is the JWT issuer and the
	// homePage of credential authorities.
	Issuer     string
	SessionTTL time.Duration
	Logger     *slog.Logger
	// ReloadInterval bounds how often requests naming an unknown signing
	// key id or LRS key make this replica re-read the keys from the
	// database (DefaultReloadInterval); see reloader.
	ReloadInterval time.Duration
}

// Service is the auth domain: it signs and verifies tokens, checks
// credentials and passwords, and manages boroughs, users and credentials.
type Service struct {
	store  Store
	kv     kv.Store
	opts   Options
	now    func() time.Time
	mu     sync.RWMutex
	keys   map[string]SigningKey
	signer SigningKey
	// creds caches credentials by key for a few seconds so each statement
	// batch does not cost a database round trip; revocation clears it.
	creds sync.Map // key -> cachedCredential
	// launchEnded, when set, answers whether a launch session has ended
	// (SetLaunchSessionCheck).
	launchEnded func(ctx context.Context, sessionID string) (bool, error)

	// keyReload bounds reloads of the signing keys for unknown key ids.
	keyReload *reloader
	// credKeys is every LRS credential key there is (revoked ones too),
	// so that an unknown key is refused without a database read; nil
	// until first loaded. credStale forces the next miss to reload it
	// whatever the budget (after missed kv messages). credReload bounds
	// reloads for unknown keys.
	credMu     sync.RWMutex
	credKeys   map[string]struct{}
	credStale  bool
	credReload *reloader
}

type cachedCredential struct {
	cred    Credential
	expires time.Time
}

// NewService returns a Service over store. Call LoadKeys before issuing or
// verifying tokens.
func NewService(store Store, cache kv.Store, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.SessionTTL == 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.ReloadInterval <= 0 {
		opts.ReloadInterval = DefaultReloadInterval
	}
	return &Service{store: store, kv: cache, opts: opts, now: time.Now, keys: map[string]SigningKey{},
		keyReload: newReloader(opts.ReloadInterval), credReload: newReloader(opts.ReloadInterval), credStale: true}
}

// SetLaunchSessionCheck makes a launch session's own state decide whether
// its launch token is revoked: every revocation ends a session
// (terminated or abandoned), and that state is in the database, so it
// holds while Redis is down and after Redis loses its data, which the
// revocation entries in the cache store alone do not. It costs one
// primary-key read per launch-token request. Tokens naming no session
// fall back to the cache store's entries. Call it while wiring, before
// the Service serves requests.
func (s *Service) SetLaunchSessionCheck(ended func(ctx context.Context, sessionID string) (bool, error)) {
	s.launchEnded = ended
}

// Store returns the service's store, for components that read auth data.
func (s *Service) Store() Store { return s.store }

// LoadKeys reads the signing keys, creating the first one if there is none.
func (s *Service) LoadKeys(ctx context.Context) error {
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	if len(keys) == 0 {
		if _, err := s.RotateKey(ctx); err != nil {
			return err
		}
		return nil
	}
	s.setKeys(keys)
	return nil
}

func (s *Service) setKeys(keys []SigningKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = map[string]SigningKey{}
	var newest SigningKey
	for _, k := range keys {
		s.keys[k.KID] = k
		if k.RetiredAt == nil && (newest.KID == "" || k.CreatedAt.After(newest.CreatedAt)) {
			newest = k
		}
	}
	s.signer = newest
}

// RotateKey makes a new signing key the one that signs. Older keys keep
// verifying the tokens they signed until those expire.
func (s *Service) RotateKey(ctx context.Context) (string, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	k := SigningKey{KID: "k" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12], Private: priv, CreatedAt: s.now().UTC()}
	if err := s.store.AddSigningKey(ctx, k); err != nil {
		return "", fmt.Errorf("store signing key: %w", err)
	}
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return "", err
	}
	s.setKeys(keys)
	// Other replicas load it at once, so they accept its tokens and sign
	// with it; if the message is lost, they do within keyRefresh, or when
	// a token names it (within the reload budget).
	if err := s.kv.Publish(ctx, SigningKeysChannel, []byte(k.KID)); err != nil {
		s.opts.Logger.Warn("signing key added; other replicas load it within a minute", "err", err)
	}
	return k.KID, nil
}

// SigningKeysChannel tells every replica that the signing keys changed.
const SigningKeysChannel = "auth:signing-keys"

// CredentialCreatedChannel carries the key of each new LRS credential to
// every replica, so that it is known there at once.
const CredentialCreatedChannel = "auth:credential-created"

// keyRefresh is how often each replica re-reads the signing keys anyway,
// so that one rotated where no kv message reaches (the CLI beside an
// embedded server) signs everywhere soon.
const keyRefresh = time.Minute

// reloadKeys reads the signing keys again.
func (s *Service) reloadKeys(ctx context.Context) error {
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	if len(keys) > 0 {
		s.setKeys(keys)
	}
	return nil
}

// Sign issues a JWT for claims, filling issuer, issue time and id.
func (s *Service) Sign(c Claims, ttl time.Duration) (string, error) {
	s.mu.RLock()
	k := s.signer
	s.mu.RUnlock()
	if k.KID == "" {
		return "", errors.New("no signing key loaded")
	}
	now := s.now()
	c.Issuer = s.opts.Issuer
	c.IssuedAt = jwt.NewNumericDate(now)
	c.ExpiresAt = jwt.NewNumericDate(now.Add(ttl))
	if c.ID == "" {
		c.ID = uuid.NewString()
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = k.KID
	return t.SignedString(k.Private)
}

// Verify checks a JWT's signature, issuer and expiry and returns its claims.
// A token signed by a key this replica has not seen yet (rotated by another
// replica, whose message has not arrived) triggers a reload of the keys,
// within a budget (Options.ReloadInterval).
func (s *Service) Verify(ctx context.Context, token string) (*Claims, error) {
	var c Claims
	keyFunc := func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		s.mu.RLock()
		k, ok := s.keys[kid]
		s.mu.RUnlock()
		if !ok {
			// Perhaps a key another replica has just made; look, within
			// the reload budget, since anyone can send any kid.
			if ran, err := s.keyReload.run(ctx, false, s.reloadKeys); ran && err == nil {
				s.mu.RLock()
				k, ok = s.keys[kid]
				s.mu.RUnlock()
			}
		}
		if !ok {
			return nil, errors.New("unknown key id")
		}
		return k.Private.Public(), nil
	}
	_, err := jwt.ParseWithClaims(token, &c, keyFunc,
		jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer(s.opts.Issuer),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.now))
	if err != nil {
		return nil, errs.Wrap(errs.Unauthorized, err, "token is invalid or expired")
	}
	return &c, nil
}

// HashSecret hashes a credential secret. Secrets are 256-bit random
// values, so a fast hash is safe and keeps Basic auth cheap per request.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte("reach-credential:" + secret))
	return h[:]
}

// CredentialAuthority is the xAPI authority recorded for statements a
// credential writes.
func (s *Service) CredentialAuthority(c Credential) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"objectType": "Agent",
		"name":       c.Name,
		"account":    map[string]string{"homePage": s.opts.Issuer, "name": c.Key},
	})
	return b
}

// credentialByKey returns a live credential, from the short cache when fresh.
func (s *Service) credentialByKey(ctx context.Context, key string) (Credential, error) {
	if v, ok := s.creds.Load(key); ok {
		cc := v.(cachedCredential)
		if s.now().Before(cc.expires) {
			return cc.cred, nil
		}
	}
	known, err := s.credentialKeyKnown(ctx, key)
	if err != nil {
		return Credential{}, err
	}
	if !known {
		return Credential{}, errs.E(errs.NotFound, "no credential %q", key)
	}
	c, err := s.store.CredentialByKey(ctx, key)
	if err != nil {
		return Credential{}, err
	}
	s.creds.Store(key, cachedCredential{cred: c, expires: s.now().Add(credentialCacheTTL)})
	return c, nil
}

// credentialKeyKnown reports whether key is a credential's, from the set
// of keys, reloading it (within the budget) when key is not in it: a
// credential made on another replica whose message has not arrived.
func (s *Service) credentialKeyKnown(ctx context.Context, key string) (bool, error) {
	s.credMu.RLock()
	_, ok := s.credKeys[key]
	stale := s.credStale
	s.credMu.RUnlock()
	if ok {
		return true, nil
	}
	ran, err := s.credReload.run(ctx, stale, s.reloadCredentialKeys)
	if err != nil {
		return false, err
	}
	if !ran {
		return false, nil
	}
	s.credMu.RLock()
	_, ok = s.credKeys[key]
	s.credMu.RUnlock()
	return ok, nil
}

func (s *Service) reloadCredentialKeys(ctx context.Context) error {
	keys, err := s.store.CredentialKeys(ctx)
	if err != nil {
		return err
	}
	set := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		set[k] = struct{}{}
	}
	s.credMu.Lock()
	s.credKeys, s.credStale = set, false
	s.credMu.Unlock()
	return nil
}

// addCredentialKey records a new credential's key.
func (s *Service) addCredentialKey(key string) {
	s.credMu.Lock()
	defer s.credMu.Unlock()
	if s.credKeys != nil {
		s.credKeys[key] = struct{}{}
	}
}

// FollowKeyChanges keeps this replica's signing keys and credential keys
// in step with the others', until ctx ends: a rotated signing key or a
// new credential is known here as soon as its kv message arrives, and
// the signing keys are re-read every minute in case one was lost. When
// the subscription fails or ends it tries again every retry; until then
// the reload budget bounds how late a new key can be noticed.
func (s *Service) FollowKeyChanges(ctx context.Context, retry time.Duration) {
	go s.follow(ctx, CredentialCreatedChannel, retry, 0, func() {
		// Whatever was created while unsubscribed: reload on the next miss.
		s.credMu.Lock()
		s.credStale = true
		s.credMu.Unlock()
	}, func(key []byte) { s.addCredentialKey(string(key)) })
	reload := func() {
		if _, err := s.keyReload.run(ctx, true, s.reloadKeys); err != nil && ctx.Err() == nil {
			s.opts.Logger.Warn("reload signing keys", "err", err)
		}
	}
	s.follow(ctx, SigningKeysChannel, retry, keyRefresh, reload, func([]byte) { reload() })
}

// follow subscribes to channel until ctx ends, calling onSubscribe each
// time the subscription is made, onMsg for each message and, when every
// is set, onSubscribe again every so often.
func (s *Service) follow(ctx context.Context, channel string, retry, every time.Duration, onSubscribe func(), onMsg func([]byte)) {
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	for ctx.Err() == nil {
		ch, err := s.kv.Subscribe(ctx, channel)
		if err == nil {
			onSubscribe()
		loop:
			for {
				select {
				case msg, ok := <-ch:
					if !ok {
						break loop
					}
					onMsg(msg)
				case <-tick:
					onSubscribe()
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(retry):
		}
	}
}

// credentialCacheTTL bounds how long a replica may go on accepting a
// credential another replica revoked, should the revocation message be
// lost.
const credentialCacheTTL = 5 * time.Second

// CredentialRevokedChannel carries the key of each revoked credential to
// every replica.
const CredentialRevokedChannel = "auth:credential-revoked"

// FollowRevocations drops cached credentials as other replicas revoke
// them, until ctx ends. When the subscription cannot be made or ends (the
// cache store is down), it tries again every retry; meanwhile the cache
// lifetime bounds how stale a credential can be.
func (s *Service) FollowRevocations(ctx context.Context, retry time.Duration) {
	for ctx.Err() == nil {
		ch, err := s.kv.Subscribe(ctx, CredentialRevokedChannel)
		if err == nil {
			// Whatever was revoked while unsubscribed: start afresh.
			s.creds.Clear()
			for key := range ch {
				s.creds.Delete(string(key))
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(retry):
		}
	}
}

// CheckCredential verifies a key and secret and returns the live credential.
func (s *Service) CheckCredential(ctx context.Context, key, secret string) (Credential, error) {
	bad := errs.E(errs.Unauthorized, "unknown key or wrong secret")
	if key == "" || secret == "" || len(key) > 128 || len(secret) > 256 {
		return Credential{}, bad
	}
	c, err := s.credentialByKey(ctx, key)
	if errs.Is(err, errs.NotFound) {
		return Credential{}, bad
	}
	if err != nil {
		return Credential{}, err
	}
	if subtle.ConstantTimeCompare(c.SecretHash, HashSecret(secret)) != 1 {
		return Credential{}, bad
	}
	if c.RevokedAt != nil {
		return Credential{}, errs.E(errs.Unauthorized, "credential has been revoked")
	}
	return c, nil
}

func (s *Service) credentialPrincipal(c Credential) Principal {
	return Principal{Kind: KindCredential, BoroughID: c.BoroughID, Subject: c.ID, Scopes: c.Scopes,
		Authority: s.CredentialAuthority(c)}
}

// AuthenticateXAPI authenticates an /xapi/ request: HTTP Basic with a
// credential's key and secret, or a Bearer token (client-credentials or
// launch token).
func (s *Service) AuthenticateXAPI(r *http.Request) (Principal, error) {
	h := r.Header.Get("Authorization")
	if key, secret, ok := r.BasicAuth(); ok {
		c, err := s.CheckCredential(r.Context(), key, secret)
		if err != nil {
			return Principal{}, err
		}
		return s.credentialPrincipal(c), nil
	}
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		p, err := s.AuthenticateToken(r.Context(), strings.TrimSpace(tok))
		if err != nil {
			return Principal{}, err
		}
		if p.Kind == KindUser {
			return Principal{}, errs.E(errs.Forbidden, "a sign-in token cannot be used for /xapi; use LRS credentials")
		}
		return p, nil
	}
	if h == "" {
		return Principal{}, errs.E(errs.Unauthorized, "authorization required: HTTP Basic with an LRS key and secret, or a Bearer token")
	}
	return Principal{}, errs.E(errs.Unauthorized, "unsupported Authorization scheme; use Basic or Bearer")
}

// AuthenticateToken verifies any Reach bearer token and returns its
// principal, checking that its session or credential is still live.
func (s *Service) AuthenticateToken(ctx context.Context, token string) (Principal, error) {
	c, err := s.Verify(ctx, token)
	if err != nil {
		return Principal{}, err
	}
	switch c.Type {
	case TokenSession:
		sess, err := s.liveSession(ctx, c.SessionID)
		if err != nil {
			return Principal{}, err
		}
		return Principal{Kind: KindUser, BoroughID: sess.BoroughID, Subject: c.Subject, Role: c.Role, SessionID: sess.ID}, nil
	case TokenClient:
		cred, err := s.credentialByKey(ctx, c.Subject)
		if err != nil || cred.RevokedAt != nil {
			return Principal{}, errs.E(errs.Unauthorized, "credential has been revoked")
		}
		p := s.credentialPrincipal(cred)
		p.Scopes = c.Scopes
		return p, nil
	case TokenLaunch:
		var revoked bool
		if s.launchEnded != nil && c.SessionID != "" {
			ended, err := s.launchEnded(ctx, c.SessionID)
			if err != nil {
				return Principal{}, errs.Wrap(errs.Unavailable, err, "cannot check the launch token now; try again")
			}
			revoked = ended
		} else {
			// A cache store that cannot answer lets the token through:
			// without a session to look at there is nothing better.
			revoked, _ = s.isRevoked(ctx, c.ID)
		}
		if revoked {
			return Principal{}, errs.E(errs.Unauthorized, "launch token has been revoked")
		}
		if err := s.checkLaunchLearner(ctx, c.Actor); err != nil {
			return Principal{}, err
		}
		return Principal{Kind: KindLaunch, BoroughID: c.Borough, Subject: c.ID, Scopes: c.Scopes, Actor: c.Actor,
			Authority: c.Authority, Registration: c.Registration, ActivityID: c.ActivityID, SessionID: c.SessionID}, nil
	}
	return Principal{}, errs.E(errs.Unauthorized, "unknown token type")
}

// checkLaunchLearner refuses a launch token whose learner's account is no
// longer active (deactivated or erased). The account is read from the
// database on every request, not from a cache, so deactivating or erasing
// a learner ends every launch token of theirs at once on every replica,
// whatever room issued it (cmi5, tincan, SCORM, a dispatch) and whether
// or not its session still exists: erasure deletes the sessions, and a
// token naming a session that is gone must not come back to life. Reach
// issues launch tokens only for its own learners, whose agent is an
// account on the issuer; a token naming another agent (none is issued)
// has no account to check.
func (s *Service) checkLaunchLearner(ctx context.Context, actor json.RawMessage) error {
	userID := s.learnerOfAgent(actor)
	if userID == "" {
		return nil
	}
	u, err := s.store.UserByID(ctx, userID)
	switch {
	case errs.Is(err, errs.NotFound):
		return errs.E(errs.Unauthorized, "launch token has been revoked: the learner's account no longer exists")
	case err != nil:
		return errs.Wrap(errs.Unavailable, err, "cannot check the launch token now; try again")
	case u.Status != StatusActive:
		return errs.E(errs.Unauthorized, "launch token has been revoked: the learner's account is %s", u.Status)
	}
	return nil
}

// learnerOfAgent is the user id of a learner agent Reach issued (an
// account whose homePage is the issuer), or "".
func (s *Service) learnerOfAgent(actor json.RawMessage) string {
	if len(actor) == 0 {
		return ""
	}
	var a struct {
		Account *struct {
			HomePage string `json:"homePage"`
			Name     string `json:"name"`
		} `json:"account"`
	}
	if json.Unmarshal(actor, &a) != nil || a.Account == nil {
		return ""
	}
	if strings.TrimRight(a.Account.HomePage, "/") != strings.TrimRight(s.opts.Issuer, "/") {
		return ""
	}
	return a.Account.Name
}

// IssueClientToken exchanges a credential for a bearer token (OAuth 2.0
// client-credentials grant). Requested scopes must be within the
// credential's; none requested means all of them.
func (s *Service) IssueClientToken(ctx context.Context, key, secret string, requested []Scope) (string, []Scope, error) {
	c, err := s.CheckCredential(ctx, key, secret)
	if err != nil {
		return "", nil, err
	}
	granted := c.Scopes
	if len(requested) > 0 {
		cp := Principal{Scopes: c.Scopes}
		for _, r := range requested {
			if !cp.Has(r) {
				return "", nil, errs.E(errs.Forbidden, "scope %q exceeds the credential's scopes", r)
			}
		}
		granted = requested
	}
	tok, err := s.Sign(Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: c.Key}, Type: TokenClient,
		Borough: c.BoroughID, Scopes: granted}, ClientTokenTTL)
	return tok, granted, err
}

// LaunchGrant describes what a launch token lets content do.
type LaunchGrant struct {
	BoroughID    string
	Actor        json.RawMessage
	Registration string
	ActivityID   string
	SessionID    string
	Scopes       []Scope
	TTL          time.Duration
}

// IssueLaunchToken mints a token limited to one learner, registration and
// activity tree.
func (s *Service) IssueLaunchToken(g LaunchGrant) (string, string, error) {
	id := uuid.NewString()
	authority, _ := json.Marshal(map[string]any{"objectType": "Agent", "name": "Reach player",
		"account": map[string]string{"homePage": s.opts.Issuer, "name": "launch"}})
	tok, err := s.Sign(Claims{RegisteredClaims: jwt.RegisteredClaims{ID: id}, Type: TokenLaunch, Borough: g.BoroughID,
		Scopes: g.Scopes, Actor: g.Actor, Authority: authority, Registration: g.Registration, ActivityID: g.ActivityID,
		SessionID: g.SessionID}, g.TTL)
	return tok, id, err
}

// RevokeToken revokes a launch token by id until ttl has passed.
func (s *Service) RevokeToken(ctx context.Context, id string, ttl time.Duration) error {
	return s.kv.Set(ctx, "revoked-token:"+id, []byte("1"), ttl)
}

func (s *Service) isRevoked(ctx context.Context, id string) (bool, error) {
	_, err := s.kv.Get(ctx, "revoked-token:"+id)
	if errors.Is(err, kv.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (s *Service) liveSession(ctx context.Context, id string) (Session, error) {
	cacheKey := "session:" + id
	if b, err := s.kv.Get(ctx, cacheKey); err == nil {
		var sess Session
		if json.Unmarshal(b, &sess) == nil {
			return sess, nil
		}
	}
	sess, err := s.store.SessionByID(ctx, id)
	if err != nil {
		return Session{}, errs.E(errs.Unauthorized, "session has ended; sign in again")
	}
	if sess.RevokedAt != nil || !s.now().Before(sess.ExpiresAt) {
		return Session{}, errs.E(errs.Unauthorized, "session has ended; sign in again")
	}
	if b, err := json.Marshal(sess); err == nil {
		_ = s.kv.Set(ctx, cacheKey, b, time.Minute)
	}
	return sess, nil
}

// Login checks a person's email and password in a borough (empty borough
// id for platform admins) and starts a session. It answers the same error
// for an unknown email and a wrong password.
func (s *Service) Login(ctx context.Context, boroughID, email, password string) (User, string, Session, error) {
	bad := errs.E(errs.Unauthorized, "email or password is wrong")
	u, err := s.store.UserByEmail(ctx, boroughID, NormalizeEmail(email))
	if errs.Is(err, errs.NotFound) {
		// Spend the same time as a real check so timing does not reveal
		// which emails have accounts.
		VerifyPassword(dummyHash, password)
		return User{}, "", Session{}, bad
	}
	if err != nil {
		return User{}, "", Session{}, err
	}
	if !VerifyPassword(u.PasswordHash, password) {
		return User{}, "", Session{}, bad
	}
	if u.Status != StatusActive {
		return User{}, "", Session{}, errs.E(errs.Forbidden, "this account is %s", u.Status)
	}
	now := s.now().UTC()
	sess := Session{ID: uuid.NewString(), UserID: u.ID, BoroughID: u.BoroughID, CreatedAt: now, ExpiresAt: now.Add(s.opts.SessionTTL)}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return User{}, "", Session{}, err
	}
	tok, err := s.Sign(Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: u.ID}, Type: TokenSession,
		Borough: u.BoroughID, Role: u.Role, SessionID: sess.ID}, s.opts.SessionTTL)
	return u, tok, sess, err
}

var dummyHash, _ = HashPassword("not-a-real-password-for-timing")

// FailLogin answers as Login does for a wrong password, after spending the
// same time on a password check, for a sign-in that fails before any
// account is looked up (an unknown borough): timing then tells it apart
// from no other failure.
func (s *Service) FailLogin(password string) error {
	VerifyPassword(dummyHash, password)
	return errs.E(errs.Unauthorized, "email or password is wrong")
}

// Logout ends a session on every replica at once.
func (s *Service) Logout(ctx context.Context, sessionID string) error {
	if err := s.store.RevokeSession(ctx, sessionID, s.now().UTC()); err != nil {
		return err
	}
	err := s.kv.Delete(ctx, "session:"+sessionID)
	if errors.Is(err, kv.ErrUnavailable) {
		// The database has the session revoked, which is what counts:
		// while Redis is down no replica reads the cached copy, and that
		// copy (kept for a minute by liveSession) expires soon after.
		s.opts.Logger.Warn("signed out while the session cache is unavailable", "err", err)
		return nil
	}
	return err
}

// NormalizeEmail lower-cases and trims an email address.
func NormalizeEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

// ValidateEmail rejects strings that are not a plain email address.
func ValidateEmail(e string) error {
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || !strings.Contains(e, "@") {
		return errs.E(errs.Invalid, "%q is not a valid email address", e)
	}
	return nil
}
