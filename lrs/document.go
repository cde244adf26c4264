package lrs

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"mime"
	"strings"
	"time"
)

// The document resources (xAPI 1.0.3 §2.2–2.7 of the Communication part,
// IEEE 9274.1.1 §4.1.6.2, 4.1.6.5, 4.1.6.6) hold opaque documents that
// learning content keeps beside its statements: State (per activity, agent
// and optional registration), Activity Profile (per activity) and Agent
// Profile (per agent). This file holds the model and the storage contract;
// document_service.go holds the rules.

// DocumentKind says which document resource a document belongs to.
type DocumentKind string

// The document resources.
const (
	StateDocument           DocumentKind = "state"
	ActivityProfileDocument DocumentKind = "activity_profile"
	AgentProfileDocument    DocumentKind = "agent_profile"
)

// DocumentScope names the set of documents one listing or bulk delete
// covers: every field that applies to the kind, all but the document id.
type DocumentScope struct {
	Kind DocumentKind
	// ActivityID is set for State and Activity Profile documents.
	ActivityID string
	// AgentKey is the canonical key (Actor.Key) of the agent, set for
	// State and Agent Profile documents.
	AgentKey string
	// Registration is the lowercase registration UUID of a State document,
	// or "" for a state kept outside any registration.
	Registration string
	// AnyRegistration widens a State scope to every registration, for
	// listings and deletes that name no registration.
	AnyRegistration bool
}

// DocumentKey identifies one document within a borough.
type DocumentKey struct {
	Kind         DocumentKind
	ActivityID   string
	AgentKey     string
	Registration string
	// ID is the stateId or profileId.
	ID string
}

// Scope returns the scope that holds k (with exactly k's registration).
func (k DocumentKey) Scope() DocumentScope {
	return DocumentScope{Kind: k.Kind, ActivityID: k.ActivityID, AgentKey: k.AgentKey, Registration: k.Registration}
}

// Document is one stored document: its bytes exactly as received (or as
// merged), their media type, and the validators clients see.
type Document struct {
	Key         DocumentKey
	ContentType string
	Content     []byte
	// ETag is the lowercase hexadecimal SHA-1 of Content, without quotes
	// (xAPI 1.0.3 §3.1 requires SHA-1; 2.0 leaves the algorithm open).
	ETag string
	// Updated is when the document was last written, in UTC.
	Updated time.Time
}

// QuotedETag returns the ETag as an HTTP entity tag, enclosed in quotes.
func (d Document) QuotedETag() string { return `"` + d.ETag + `"` }

// MatchesIfNoneMatch reports whether an If-None-Match header value names
// this document ("*" or one of its entity tags, compared weakly), so that
// a conditional GET can be answered 304 Not Modified.
func (d Document) MatchesIfNoneMatch(header string) bool { return etagListMatches(header, &d, true) }

// IsJSON reports whether the document was stored as application/json.
func (d Document) IsJSON() bool { return isJSONMediaType(d.ContentType) }

// DocumentStore keeps documents, each borough's apart from every other's.
// Implementations: lrs/sqlstore (SQLite and PostgreSQL).
type DocumentStore interface {
	// GetDocument returns the document at key; found is false when there
	// is none.
	GetDocument(ctx context.Context, borough string, key DocumentKey) (doc Document, found bool, err error)
	// ModifyDocument runs fn on the current document at key (nil if none)
	// inside one transaction that no other write to key can interleave
	// with. A non-nil result replaces or creates the document; a nil
	// result deletes it; an error from fn aborts with nothing changed and
	// is returned as it is.
	ModifyDocument(ctx context.Context, borough string, key DocumentKey, fn func(cur *Document) (*Document, error)) error
	// ListDocumentIDs returns the ids of the documents in scope updated
	// strictly after since (every one when since is zero), in id order,
	// and the latest Updated among them (zero when there are none).
	ListDocumentIDs(ctx context.Context, borough string, scope DocumentScope, since time.Time) (ids []string, lastModified time.Time, err error)
	// DeleteDocuments deletes every document in scope and says how many.
	DeleteDocuments(ctx context.Context, borough string, scope DocumentScope) (int64, error)
	// DeleteAgentDocuments deletes every State and Agent Profile document
	// of any of the agent keys in the borough and says how many.
	DeleteAgentDocuments(ctx context.Context, borough string, agentKeys []string) (int64, error)
}

// ETagOf returns the lowercase hexadecimal SHA-1 of content.
func ETagOf(content []byte) string {
	sum := sha1.Sum(content)
	return hex.EncodeToString(sum[:])
}

// isJSONMediaType reports whether a Content-Type header names
// application/json, whatever its parameters (charset and the like).
func isJSONMediaType(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	return mt == "application/json"
}
