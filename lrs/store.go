package lrs

import (
	"context"
	"time"
)

// FeedEntry is one stored statement as a reader of the whole store, every
// borough in sequence order, gets it: the reports projector reads them
// through its own Feed interface, which lrs/sqlstore implements without
// knowing that reader.
type FeedEntry struct {
	Borough string
	Seq     int64
	Body    []byte
}

// Store keeps one borough's statements apart from every other borough's:
// every method takes the borough id and never reads or writes outside it.
// lrs/sqlstore implements it on SQLite and PostgreSQL.
type Store interface {
	// InsertStatements stores records atomically: all of them or none. A
	// record whose id is already stored with the same content (see
	// Record.Hash and Record.Same) is skipped; with different content the
	// whole call fails with an errs.Conflict error. Voiding records mark their targets voided,
	// unless the target is itself a voiding statement. It returns once
	// the write is durable.
	InsertStatements(ctx context.Context, borough string, recs []*Record) error
	// GetStatement returns the stored JSON of statement id. With voided
	// false a voided statement is not found; with voided true only a
	// voided one is. errs.NotFound if there is none.
	GetStatement(ctx context.Context, borough, id string, voided bool) ([]byte, error)
	// QueryStatements returns up to q.Limit+1 matching statements in the
	// query's order, so the caller can tell whether there are more.
	QueryStatements(ctx context.Context, borough string, q StoreQuery) ([]Row, error)
	// MaxSeq returns the highest statement sequence number stored so
	// far in any borough (0 when empty).
	MaxSeq(ctx context.Context) (int64, error)
	// Activity returns the merged definition recorded for an activity id,
	// or errs.NotFound.
	Activity(ctx context.Context, borough, id string) ([]byte, error)
	// EraseAgent deletes every statement in the borough whose actor,
	// object, authority or context mentions the agent with the given key,
	// records the erasure, and returns how many statements went and the
	// hashes of attachments that no remaining statement of the borough
	// names.
	EraseAgent(ctx context.Context, borough, agentKey string) (n int, orphans []string, err error)
	// AgentNames returns the distinct names the borough's statements give
	// the Agent with the given key (Actor.Key) where it is the actor, the
	// object, the authority, the instructor, an xAPI 2.0 context agent,
	// the actor, object, instructor or a context agent of a SubStatement,
	// or a member of a Group in one of those places, of a team or of a
	// context group. The work is
	// bounded: only the agent's most recent AgentNamesScan statements of
	// each of the agent and related-agent terms are read. Names come in
	// byte order, at most limit of them; none is an empty list, not an
	// error.
	AgentNames(ctx context.Context, borough, agentKey string, limit int) ([]string, error)
}

// AgentNamesScan bounds how many of an agent's statements the store reads
// to answer AgentNames: the most recent this many with the agent as actor
// or object, and as many where it is only related (authority,
// instructor, team, context agent or group, member). Names used only in
// older statements are not found.
const AgentNamesScan = 1000

// Record is a statement ready to store.
type Record struct {
	ID string // lower-case UUID
	// Body is the complete statement JSON as it will be returned.
	Body []byte
	// Hash identifies the submitted bytes: an id stored with the same hash
	// is a harmless resend. With a different hash, Same decides by
	// comparing the statements themselves (a resend may differ in
	// spacing or property order); if it says no, the id is in conflict.
	Hash   string
	Same   func(storedBody []byte) bool
	Stored time.Time
	// Voids is the lower-case id of the statement this one voids, or "".
	Voids string
	// RefID is the id of a statement this one targets with a
	// StatementRef object (including Voids), or "": filters match such a
	// statement when they match its target.
	RefID string
	Terms []Term
	// Definitions are activity definitions to merge into the
	// Activities resource, one per activity id.
	Definitions map[string]map[string]any
}

// TermKind says which query parameter a term answers.
type TermKind int

// The indexed terms of a statement.
const (
	TermAgent           TermKind = 1 // agent: actor, or object when an Agent/Group
	TermRelatedAgent    TermKind = 2 // agent with related_agents=true
	TermVerb            TermKind = 3
	TermActivity        TermKind = 4 // activity: object when an Activity
	TermRelatedActivity TermKind = 5 // activity with related_activities=true
	TermRegistration    TermKind = 6
	TermAuthority       TermKind = 7 // for statements/read/mine
	// TermVerbActivity is verb and activity together (VerbActivity), so
	// the common verb+activity query walks one index range instead of
	// probing the verb for every statement of the activity.
	TermVerbActivity TermKind = 8
	// TermAttachment is the SHA-2 of an attachment the statement names,
	// so erasure can tell which attachment bytes no statement needs.
	TermAttachment TermKind = 9
)

// VerbActivity is the value of a TermVerbActivity term. IRIs contain no
// spaces, so the pair is unambiguous.
func VerbActivity(verb, activity string) string { return verb + " " + activity }

// Term is one indexed value of a statement.
type Term struct {
	Kind  TermKind
	Value string
}

// StoreQuery is a statement query as the store sees it: terms all of which
// must match, a stored-time window and a cursor.
type StoreQuery struct {
	Terms []Term
	// Since and Until bound stored time: Since exclusive, Until inclusive.
	Since, Until time.Time
	Ascending    bool
	Limit        int
	// Cursor is the sequence of the last statement already returned (0
	// for the first page); MaxSeq bounds results to statements that
	// existed when the first page was read (0 for no bound), so paging is
	// stable while statements arrive.
	Cursor int64
	MaxSeq int64
}

// Row is one statement a query returned.
type Row struct {
	Seq    int64
	Stored time.Time
	Body   []byte
}
