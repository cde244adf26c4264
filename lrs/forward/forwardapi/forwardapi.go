// Package forwardapi holds the statement-forwarding admin API's request
// and answer types. It imports nothing of Reach's, so lrs/forward (which
// serves them) and the Go client (which sends and reads them) share one
// declaration.
package forwardapi

import "time"

// Filter selects the statements a target receives. An empty list does not
// filter; with both lists a statement must match both. A statement matches
// an activity when it is the object or a context activity; a statement
// that references another (voiding, StatementRef) matches what its target
// matches, so voiding statements follow the statements they void.
type Filter struct {
	Verbs      []string `json:"verbs"`
	Activities []string `json:"activities"`
}

// Target is an external LRS a borough forwards statements to. Secret is
// the Basic secret or the Bearer token: it is stored (sealed, where a
// secrets key is set; see internal/secretbox), used to sign in to the
// target, and never shown (json:"-").
type Target struct {
	ID        string    `json:"id"`
	BoroughID string    `json:"boroughId"`
	Name      string    `json:"name"`
	Endpoint  string    `json:"endpoint"`
	Version   string    `json:"version"`
	AuthType  string    `json:"authType"`
	AuthKey   string    `json:"authKey,omitempty"`
	Secret    string    `json:"-"`
	Filter    Filter    `json:"filter"`
	Enabled   bool      `json:"enabled"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// State is a target's delivery progress, kept beside it.
type State struct {
	// Cursor is the sequence number up to which every statement of the
	// borough has been delivered or found not to match.
	Cursor          int64      `json:"cursor"`
	Delivered       int64      `json:"delivered"`
	LastDeliveredAt *time.Time `json:"lastDeliveredAt"`
	LastAttemptAt   *time.Time `json:"lastAttemptAt"`
	LastError       string     `json:"lastError"`
	// Attempts counts failures since the last success.
	Attempts    int        `json:"attempts"`
	NextRetryAt *time.Time `json:"nextRetryAt"`
}

// Status is what the status API and metrics show for a target.
type Status struct {
	Target
	State
	// Lag is how many matching statements are stored but not delivered.
	Lag int64 `json:"lag"`
	// OldestUndeliveredAt is when the oldest of them was stored.
	OldestUndeliveredAt *time.Time `json:"oldestUndeliveredAt"`
	// OldestUndeliveredSeconds is its age at the time of asking.
	OldestUndeliveredSeconds float64 `json:"oldestUndeliveredSeconds"`
}

// Input is what an admin sets on a target. Nil fields keep their current
// value on update; on create, Name, Endpoint and the auth fields are
// required.
type Input struct {
	Name       *string   `json:"name"`
	Endpoint   *string   `json:"endpoint"`
	Version    *string   `json:"version"`
	AuthType   *string   `json:"authType"`
	AuthKey    *string   `json:"authKey"`
	Secret     *string   `json:"secret"`
	Verbs      *[]string `json:"verbs"`
	Activities *[]string `json:"activities"`
	Enabled    *bool     `json:"enabled"`
	// Backfill, on create only, sends the statements already stored too;
	// otherwise the target receives statements stored from now on.
	Backfill bool `json:"backfill"`
}

// TestResult says how a target answered a test statement. It never
// holds what the target sent back: Message is one of three sentences
// (accepted, answered with a status, could not be reached), and Status is
// the HTTP status when there was an answer, 0 otherwise.
type TestResult struct {
	OK          bool   `json:"ok"`
	Status      int    `json:"status"`
	Message     string `json:"message"`
	StatementID string `json:"statementId"`
}
