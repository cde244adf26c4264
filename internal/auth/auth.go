// Package auth holds Reach's tenancy and identity: boroughs, accounts and
// their roles, LRS credentials, sign-in sessions, and the signed tokens
// (JWTs) that carry all of them. Storage sits behind the Store interface;
// internal/auth/authsql implements it for SQLite and PostgreSQL.
package auth

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"time"
)

// Borough is a tenant: one London borough (or the City of London).
type Borough struct {
	ID        string    `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
}

// Role is what an account may do.
type Role string

// The account roles.
const (
	RoleLearner       Role = "learner"
	RoleBoroughAdmin  Role = "borough_admin"
	RolePlatformAdmin Role = "platform_admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	return r == RoleLearner || r == RoleBoroughAdmin || r == RolePlatformAdmin
}

// Account statuses.
const (
	StatusActive      = "active"
	StatusInvited     = "invited"
	StatusDeactivated = "deactivated"
)

// User is a person with an account. Platform admins belong to no borough
// (BoroughID is empty).
type User struct {
	ID           string    `json:"id"`
	BoroughID    string    `json:"boroughId,omitempty"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	Role         Role      `json:"role"`
	Profession   string    `json:"profession,omitempty"`
	Status       string    `json:"status"`
	PasswordHash string    `json:"-"`
	MustChange   bool      `json:"mustChangePassword"`
	CreatedAt    time.Time `json:"createdAt"`
}

// Credential is a key/secret pair an LMS uses against /xapi/ (HTTP Basic,
// or exchanged for a bearer token). Only a hash of the secret is stored.
type Credential struct {
	ID         string     `json:"id"`
	BoroughID  string     `json:"boroughId"`
	Name       string     `json:"name"`
	Key        string     `json:"key"`
	SecretHash []byte     `json:"-"`
	Scopes     []Scope    `json:"scopes"`
	CreatedAt  time.Time  `json:"createdAt"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
}

// SigningKey is an Ed25519 key that signs Reach's JWTs. The newest active
// key signs; retired keys still verify until tokens they signed expire.
type SigningKey struct {
	KID       string
	Private   ed25519.PrivateKey
	CreatedAt time.Time
	RetiredAt *time.Time
}

// Session is one sign-in; revoking it ends the tokens issued for it.
type Session struct {
	ID        string
	UserID    string
	BoroughID string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// AuditEntry records who changed what, for the admin audit log.
type AuditEntry struct {
	ID        int64           `json:"id"`
	BoroughID string          `json:"boroughId,omitempty"`
	Actor     string          `json:"actor"`
	Action    string          `json:"action"`
	Target    string          `json:"target"`
	Details   json.RawMessage `json:"details,omitempty"`
	At        time.Time       `json:"at"`
}

// Store persists auth's entities. Lookups of absent rows return an
// errs.NotFound error; duplicates an errs.Conflict error.
type Store interface {
	CreateBorough(ctx context.Context, b Borough) error
	BoroughBySlug(ctx context.Context, slug string) (Borough, error)
	BoroughByID(ctx context.Context, id string) (Borough, error)
	ListBoroughs(ctx context.Context) ([]Borough, error)

	CreateUser(ctx context.Context, u User) error
	UpdateUser(ctx context.Context, u User) error
	UserByEmail(ctx context.Context, boroughID, email string) (User, error)
	UserByID(ctx context.Context, id string) (User, error)
	CountUsers(ctx context.Context, role Role) (int, error)

	CreateCredential(ctx context.Context, c Credential) error
	CredentialByKey(ctx context.Context, key string) (Credential, error)
	// CredentialKeys lists the key of every credential, revoked or not.
	CredentialKeys(ctx context.Context) ([]string, error)
	ListCredentials(ctx context.Context, boroughID string) ([]Credential, error)
	RevokeCredential(ctx context.Context, boroughID, id string, at time.Time) error

	SigningKeys(ctx context.Context) ([]SigningKey, error)
	AddSigningKey(ctx context.Context, k SigningKey) error
	RetireSigningKeys(ctx context.Context, exceptKID string, at time.Time) error

	CreateSession(ctx context.Context, s Session) error
	SessionByID(ctx context.Context, id string) (Session, error)
	RevokeSession(ctx context.Context, id string, at time.Time) error
	// RevokeUserSessions revokes every live session of the user but the
	// one named except ("" for none) and returns their ids.
	RevokeUserSessions(ctx context.Context, userID, except string, at time.Time) ([]string, error)

	AppendAudit(ctx context.Context, e AuditEntry) error
	ListAudit(ctx context.Context, boroughID string, limit int) ([]AuditEntry, error)
}
