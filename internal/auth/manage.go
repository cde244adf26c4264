package auth

import (
	"context"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/reach-london/reach/internal/errs"
)

// LondonBoroughs names the 32 London boroughs and the City of London by
// slug, so `reach borough create SLUG` can fill the display name.
var LondonBoroughs = map[string]string{
	"barking-and-dagenham": "Barking and Dagenham", "barnet": "Barnet", "bexley": "Bexley", "brent": "Brent",
	"bromley": "Bromley", "camden": "Camden", "city-of-london": "City of London", "croydon": "Croydon",
	"ealing": "Ealing", "enfield": "Enfield", "greenwich": "Greenwich", "hackney": "Hackney",
	"hammersmith-and-fulham": "Hammersmith and Fulham", "haringey": "Haringey", "harrow": "Harrow",
	"havering": "Havering", "hillingdon": "Hillingdon", "hounslow": "Hounslow", "islington": "Islington",
	"kensington-and-chelsea": "Kensington and Chelsea", "kingston-upon-thames": "Kingston upon Thames",
	"lambeth": "Lambeth", "lewisham": "Lewisham", "merton": "Merton", "newham": "Newham",
	"redbridge": "Redbridge", "richmond-upon-thames": "Richmond upon Thames", "southwark": "Southwark",
	"sutton": "Sutton", "tower-hamlets": "Tower Hamlets", "waltham-forest": "Waltham Forest",
	"wandsworth": "Wandsworth", "westminster": "Westminster", "london": "London",
}

// reservedSlugs name admin pages that sit where a borough's slug would
// (/admin/{slug}/), so no borough may take them.
var reservedSlugs = map[string]bool{"signin": true, "signout": true, "password": true, "boroughs": true,
	"audit": true, "reports": true, "static": true, "api": true}

// ValidSlug reports whether s can name a borough in URLs.
func ValidSlug(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' || reservedSlugs[s] {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// SlugFrom makes a short name for web addresses from a borough's name:
// lower case, runs of other characters as one hyphen ("Tower Hamlets"
// gives "tower-hamlets"). It may return "" or something ValidSlug refuses
// (a name with no letters or digits, or too long); CreateBorough says why.
func SlugFrom(name string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			hyphen = false
			continue
		}
		hyphen = true
	}
	return b.String()
}

// CreateBorough adds a tenant. name defaults to the borough's official name
// for known slugs.
func (s *Service) CreateBorough(ctx context.Context, actor, slug, name string) (Borough, error) {
	if !ValidSlug(slug) {
		if reservedSlugs[slug] {
			return Borough{}, errs.E(errs.Invalid, "borough slug %q is reserved for an admin page; choose another", slug)
		}
		return Borough{}, errs.E(errs.Invalid, "the short name %q can have only lower-case letters, digits and hyphens (such as tower-hamlets), at most 63 characters, with no hyphen at the start or end", slug)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = LondonBoroughs[slug]
	}
	if name == "" {
		return Borough{}, errs.E(errs.Invalid, "borough %q is not a London borough; give its display name", slug)
	}
	if utf8.RuneCountInString(name) > 100 {
		return Borough{}, errs.E(errs.Invalid, "borough name must be at most 100 characters")
	}
	b := Borough{ID: uuid.NewString(), Slug: slug, Name: name, CreatedAt: s.now().UTC()}
	if err := s.store.CreateBorough(ctx, b); err != nil {
		return Borough{}, err
	}
	s.audit(ctx, b.ID, actor, "borough.create", b.Slug, map[string]any{"name": name})
	return b, nil
}

// NewUser describes an account to create.
type NewUser struct {
	// ID, if set, is the account's id: a UUID the caller chose so it could
	// record the account before making it (a dispatch's LMS learner). It
	// is generated when empty.
	ID         string
	BoroughID  string
	Email      string
	Name       string
	Role       Role
	Profession string
	// Password, if empty, is generated and returned once; the account
	// must change it at first sign-in.
	Password string
}

// CreateUser adds an account and returns it with the password to hand over
// when one was generated.
func (s *Service) CreateUser(ctx context.Context, actor string, n NewUser) (User, string, error) {
	email := NormalizeEmail(n.Email)
	if err := ValidateEmail(email); err != nil {
		return User{}, "", err
	}
	id := n.ID
	if id == "" {
		id = uuid.NewString()
	} else if u, err := uuid.Parse(id); err != nil || u.String() != id {
		return User{}, "", errs.E(errs.Invalid, "user id %q is not a lower-case UUID", id)
	}
	if !n.Role.Valid() {
		return User{}, "", errs.E(errs.Invalid, "role %q must be learner, borough_admin or platform_admin", n.Role)
	}
	if n.Role == RolePlatformAdmin {
		n.BoroughID = ""
	} else if n.BoroughID == "" {
		return User{}, "", errs.E(errs.Invalid, "a %s belongs to a borough", n.Role)
	} else if _, err := s.store.BoroughByID(ctx, n.BoroughID); err != nil {
		return User{}, "", err
	}
	name := strings.TrimSpace(n.Name)
	if utf8.RuneCountInString(name) > 200 {
		return User{}, "", errs.E(errs.Invalid, "name must be at most 200 characters")
	}
	generated := ""
	password := n.Password
	if password == "" {
		generated = RandomToken(15)
		password = generated
	} else if err := CheckPassword(password, email, name); err != nil {
		return User{}, "", err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return User{}, "", errs.E(errs.Invalid, "%s", err.Error())
	}
	u := User{ID: id, BoroughID: n.BoroughID, Email: email, Name: name, Role: n.Role,
		Profession: n.Profession, Status: StatusActive, PasswordHash: hash, MustChange: generated != "",
		CreatedAt: s.now().UTC()}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return User{}, "", err
	}
	s.audit(ctx, u.BoroughID, actor, "user.create", u.Email, map[string]any{"role": u.Role})
	return u, generated, nil
}

// ChangePassword sets a new password after checking the current one, and
// ends every other session of the account at once on every replica:
// whoever else was signed in with the old password is signed out.
// keepSession (the session that asked, if any) stays signed in.
func (s *Service) ChangePassword(ctx context.Context, userID, keepSession, current, next string) error {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if !VerifyPassword(u.PasswordHash, current) {
		return errs.E(errs.Forbidden, "current password is wrong")
	}
	if next == current {
		return errs.E(errs.Invalid, "new password must differ from the current one")
	}
	if err := CheckPassword(next, u.Email, u.Name); err != nil {
		return err
	}
	hash, err := HashPassword(next)
	if err != nil {
		return errs.E(errs.Invalid, "%s", err.Error())
	}
	u.PasswordHash, u.MustChange = hash, false
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return err
	}
	s.audit(ctx, u.BoroughID, u.ID, "user.password_change", u.Email, nil)
	return s.endSessionsExcept(ctx, u.ID, keepSession)
}

// ResetPassword gives an account a new generated one-time password, to
// hand over out of band (there is no mail system), and ends every session
// of the account at once on every replica: whoever was signed in, with the
// old password or not, must sign in with the new one, and must then
// choose their own. boroughID is "" for a platform admin.
func (s *Service) ResetPassword(ctx context.Context, actor, boroughID, email string) (User, string, error) {
	u, err := s.store.UserByEmail(ctx, boroughID, NormalizeEmail(email))
	if err != nil {
		return User{}, "", err
	}
	if IsErased(u) {
		return User{}, "", errs.E(errs.Conflict, "this account has been erased")
	}
	password := RandomToken(15)
	hash, err := HashPassword(password)
	if err != nil {
		return User{}, "", err
	}
	u.PasswordHash, u.MustChange = hash, true
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return User{}, "", err
	}
	s.audit(ctx, u.BoroughID, actor, "user.password_reset", u.ID, nil)
	return u, password, s.EndSessions(ctx, u.ID)
}

// CreateCredential issues an LRS key and secret for a borough. The secret
// is returned once and only its hash is kept.
func (s *Service) CreateCredential(ctx context.Context, actor, boroughID, name string, scopes []Scope) (Credential, string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Credential{}, "", errs.E(errs.Invalid, "credential name is required")
	}
	if utf8.RuneCountInString(name) > 100 {
		return Credential{}, "", errs.E(errs.Invalid, "credential name must be at most 100 characters")
	}
	if len(scopes) == 0 {
		return Credential{}, "", errs.E(errs.Invalid, "at least one scope is required")
	}
	if _, err := s.store.BoroughByID(ctx, boroughID); err != nil {
		return Credential{}, "", err
	}
	secret := RandomToken(32)
	c := Credential{ID: uuid.NewString(), BoroughID: boroughID, Name: name, Key: "rk_" + RandomToken(12),
		SecretHash: HashSecret(secret), Scopes: scopes, CreatedAt: s.now().UTC()}
	if err := s.store.CreateCredential(ctx, c); err != nil {
		return Credential{}, "", err
	}
	// Known here at once, and on other replicas as soon as the message
	// arrives (or at their next reload for an unknown key).
	s.addCredentialKey(c.Key)
	if err := s.kv.Publish(ctx, CredentialCreatedChannel, []byte(c.Key)); err != nil {
		s.opts.Logger.Warn("credential created; other replicas may refuse it for a few seconds", "err", err)
	}
	s.audit(ctx, boroughID, actor, "credential.create", c.Key, map[string]any{"name": name, "scopes": scopes})
	return c, secret, nil
}

// RevokeCredential stops a credential working on every replica.
func (s *Service) RevokeCredential(ctx context.Context, actor, boroughID, id string) error {
	creds, err := s.store.ListCredentials(ctx, boroughID)
	if err != nil {
		return err
	}
	for _, c := range creds {
		if c.ID == id {
			if err := s.store.RevokeCredential(ctx, boroughID, id, s.now().UTC()); err != nil {
				return err
			}
			s.creds.Delete(c.Key)
			// Other replicas drop their cached copy at once; if the
			// message is lost (Redis down) their cache expires within
			// credentialCacheTTL.
			if err := s.kv.Publish(ctx, CredentialRevokedChannel, []byte(c.Key)); err != nil {
				s.opts.Logger.Warn("credential revoked; other replicas notice within the cache lifetime", "err", err)
			}
			s.audit(ctx, boroughID, actor, "credential.revoke", c.Key, nil)
			return nil
		}
	}
	return errs.E(errs.NotFound, "no credential %q in this borough", id)
}

// Bootstrap prepares an empty installation: the default borough and a
// first platform admin. It returns the admin's one-time password when it
// created the admin, and "" when the installation was already set up.
func (s *Service) Bootstrap(ctx context.Context, boroughSlug, adminEmail string) (string, error) {
	if _, err := s.store.BoroughBySlug(ctx, boroughSlug); errs.Is(err, errs.NotFound) {
		if _, err := s.CreateBorough(ctx, "system", boroughSlug, ""); err != nil {
			return "", err
		}
	} else if err != nil {
		return "", err
	}
	n, err := s.store.CountUsers(ctx, RolePlatformAdmin)
	if err != nil || n > 0 {
		return "", err
	}
	_, password, err := s.CreateUser(ctx, "system", NewUser{Email: adminEmail, Name: "Platform admin", Role: RolePlatformAdmin})
	return password, err
}

// BoroughBySlug finds a borough by its URL slug.
func (s *Service) BoroughBySlug(ctx context.Context, slug string) (Borough, error) {
	return s.store.BoroughBySlug(ctx, slug)
}

// Audit records an admin action; failures are logged, not returned, so an
// action that succeeded is not reported as failed.
func (s *Service) Audit(ctx context.Context, boroughID, actor, action, target string, details map[string]any) {
	s.audit(ctx, boroughID, actor, action, target, details)
}

func (s *Service) audit(ctx context.Context, boroughID, actor, action, target string, details map[string]any) {
	var raw json.RawMessage
	if details != nil {
		raw, _ = json.Marshal(details)
	}
	if err := s.store.AppendAudit(ctx, AuditEntry{BoroughID: boroughID, Actor: actor, Action: action, Target: target,
		Details: raw, At: s.now().UTC()}); err != nil {
		s.opts.Logger.ErrorContext(ctx, "audit log write failed", "action", action, "err", err)
	}
}
