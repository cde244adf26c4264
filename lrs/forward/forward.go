// Package forward sends a borough's statements on to other Learning Record
// Stores. It adds nothing to the ingest path: statements are already
// durable rows numbered by a monotonically assigned sequence, so each
// target keeps a durable cursor (the last sequence it has been given) and
// a worker reads the statements past it, filters them, POSTs them with
// their original ids (the target deduplicates) and moves the cursor only
// after the target accepted them. Delivery is at least once; nothing is
// lost when the target, Redis or this server is down.
package forward

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs/forward/forwardapi"
)

// Auth kinds a target accepts.
const (
	AuthBasic  = "basic"
	AuthBearer = "bearer"
)

// xAPI versions a target may speak.
const (
	Version103 = "1.0.3"
	Version200 = "2.0.0"
)

// MaxFilterValues bounds each filter list, so a feed query stays a
// reasonable size.
const MaxFilterValues = 100

// The admin API's request and answer types are declared in forwardapi,
// which imports nothing of Reach's, so the Go client shares them.
type (
	Filter     = forwardapi.Filter
	Target     = forwardapi.Target
	State      = forwardapi.State
	Status     = forwardapi.Status
	Input      = forwardapi.Input
	TestResult = forwardapi.TestResult
)

// Entry is one statement read from the feed.
type Entry struct {
	Seq    int64
	ID     string
	Stored time.Time
	Body   json.RawMessage
}

// Store keeps targets and their state and reads the statement feed.
// lrs/sqlstore implements it on SQLite and PostgreSQL.
type Store interface {
	CreateTarget(ctx context.Context, t Target, cursor int64) error
	// UpdateTarget replaces a target's settings (not its state);
	// errs.NotFound if it is not in t.BoroughID.
	UpdateTarget(ctx context.Context, t Target) error
	DeleteTarget(ctx context.Context, borough, id string) error
	// Target returns one target of a borough; errs.NotFound otherwise.
	Target(ctx context.Context, borough, id string) (Target, State, error)
	// Targets lists a borough's targets by name, or every borough's
	// when borough is "".
	Targets(ctx context.Context, borough string) ([]Target, []State, error)

	// Feed returns up to limit statements of the borough matching f
	// with after < seq <= upTo, in seq order, voided or not.
	Feed(ctx context.Context, borough string, f Filter, after, upTo int64, limit int) ([]Entry, error)
	// Pending counts the statements of the borough matching f with seq
	// after after, and returns when the oldest was stored.
	Pending(ctx context.Context, borough string, f Filter, after int64) (int64, time.Time, error)
	// Seqs returns up to limit statement sequence numbers above after, in
	// every borough, in order: the worker looks for gaps in them.
	Seqs(ctx context.Context, after int64, limit int) ([]int64, error)
	// MaxSeq is the highest statement sequence number visible now.
	MaxSeq(ctx context.Context) (int64, error)

	// Lease makes owner the one deliverer of target id until until,
	// if nobody else holds an unexpired lease; it reports whether it did.
	Lease(ctx context.Context, id, owner string, now, until time.Time) (bool, error)
	// Release gives up owner's lease.
	Release(ctx context.Context, id, owner string) error
	// Advance moves the cursor from from to to and records delivered
	// statements, in one transaction, only while owner holds the lease
	// and the cursor is still from; it reports whether it did.
	Advance(ctx context.Context, id, owner string, from, to int64, delivered int, at time.Time) (bool, error)
	// Fail records a failed attempt and when to retry.
	Fail(ctx context.Context, id, owner, msg string, attempts int, at, next time.Time) error
	// Skip moves the cursor from from to to for an admin, whoever holds
	// the lease, and clears the failure so delivery resumes at once; it
	// reports whether the cursor was still from.
	Skip(ctx context.Context, id string, from, to int64) (bool, error)
}

// Auditor records admin actions; auth.Service implements it.
type Auditor interface {
	Audit(ctx context.Context, boroughID, actor, action, target string, details map[string]any)
}

// Service manages targets for admins.
type Service struct {
	store  Store
	audit  Auditor
	sender *Sender
	now    func() time.Time
	// testWait bounds a test statement's wait for an answer; a test
	// that gets none answers only after it, whatever the cause.
	testWait time.Duration
}

// TestWait is how long a test statement waits for the target's answer.
// A test that gets no HTTP answer reports so only once this has passed,
// so that a closed port (refused at once), a filtered one (silent) and a
// refused address take the same time.
const TestWait = 5 * time.Second

// NewService returns a Service over store, recording changes with audit
// and sending test statements with sender (a Sender with the default
// Guard when nil), whose Guard also checks endpoints as they are set.
func NewService(store Store, audit Auditor, sender *Sender) *Service {
	if sender == nil {
		sender = NewSender(Guard{}, nil)
	}
	return &Service{store: store, audit: audit, sender: sender, now: time.Now, testWait: TestWait}
}

// checkEndpoint refuses an endpoint whose host the sender's Guard would
// refuse to connect to, so that the admin learns it now rather than from
// failing deliveries.
func (s *Service) checkEndpoint(ctx context.Context, endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return errs.E(errs.Invalid, "endpoint must be an http or https URL, got %q", endpoint)
	}
	port := uint16(80)
	if u.Scheme == "https" {
		port = 443
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return errs.E(errs.Invalid, "endpoint has an invalid port %q", p)
		}
		port = uint16(n)
	}
	if err := s.sender.guard.CheckHost(ctx, u.Hostname(), port); err != nil {
		return errs.E(errs.Invalid, "endpoint host %q: %v", u.Hostname(), err)
	}
	return nil
}

var iriRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:\S+$`)

// apply validates in and applies it to t.
func apply(t *Target, in Input, creating bool) error {
	if in.Name != nil {
		t.Name = strings.TrimSpace(*in.Name)
	}
	if t.Name == "" {
		return errs.E(errs.Invalid, "name is required")
	}
	if utf8.RuneCountInString(t.Name) > 100 {
		return errs.E(errs.Invalid, "name must be at most 100 characters")
	}
	if in.Endpoint != nil {
		t.Endpoint = strings.TrimSpace(*in.Endpoint)
	}
	if t.Endpoint == "" {
		return errs.E(errs.Invalid, "endpoint is required: the target LRS's xAPI base URL, e.g. https://lrs.example.org/xapi/")
	}
	u, err := url.Parse(t.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errs.E(errs.Invalid, "endpoint must be an http or https URL, got %q", t.Endpoint)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errs.E(errs.Invalid, "endpoint must not hold credentials, a query or a fragment; give credentials in authType, authKey and secret")
	}
	if !strings.HasSuffix(t.Endpoint, "/") {
		t.Endpoint += "/"
	}
	if in.Version != nil {
		t.Version = *in.Version
	}
	if t.Version == "" {
		t.Version = Version103
	}
	if t.Version != Version103 && t.Version != Version200 {
		return errs.E(errs.Invalid, "version must be %q or %q, got %q", Version103, Version200, t.Version)
	}
	if in.AuthType != nil {
		if *in.AuthType != t.AuthType && in.Secret == nil && !creating {
			return errs.E(errs.Invalid, "changing authType needs a new secret")
		}
		t.AuthType = *in.AuthType
	}
	if in.AuthKey != nil {
		t.AuthKey = strings.TrimSpace(*in.AuthKey)
	}
	if in.Secret != nil {
		t.Secret = *in.Secret
	}
	switch t.AuthType {
	case AuthBasic:
		if t.AuthKey == "" || t.Secret == "" {
			return errs.E(errs.Invalid, "basic auth needs authKey and secret")
		}
		if strings.Contains(t.AuthKey, ":") {
			return errs.E(errs.Invalid, "authKey must not contain a colon")
		}
	case AuthBearer:
		if t.Secret == "" {
			return errs.E(errs.Invalid, "bearer auth needs the token in secret")
		}
		t.AuthKey = ""
	case "":
		return errs.E(errs.Invalid, "authType is required: %q or %q", AuthBasic, AuthBearer)
	default:
		return errs.E(errs.Invalid, "authType must be %q or %q, got %q", AuthBasic, AuthBearer, t.AuthType)
	}
	if strings.ContainsAny(t.Secret, "\r\n") || strings.ContainsAny(t.AuthKey, "\r\n") {
		return errs.E(errs.Invalid, "authKey and secret must not contain line breaks")
	}
	if in.Verbs != nil {
		v, err := iris("verbs", *in.Verbs)
		if err != nil {
			return err
		}
		t.Filter.Verbs = v
	}
	if in.Activities != nil {
		a, err := iris("activities", *in.Activities)
		if err != nil {
			return err
		}
		t.Filter.Activities = a
	}
	if in.Enabled != nil {
		t.Enabled = *in.Enabled
	}
	return nil
}

// iris validates and deduplicates a filter list.
func iris(field string, in []string) ([]string, error) {
	if len(in) > MaxFilterValues {
		return nil, errs.E(errs.Invalid, "%s may list at most %d IRIs", field, MaxFilterValues)
	}
	out := make([]string, 0, len(in))
	seen := map[string]bool{}
	for _, v := range in {
		if !iriRE.MatchString(v) || strings.ContainsAny(v, "<>\"{}|\\^`") {
			return nil, errs.E(errs.Invalid, "%s: %q is not an IRI", field, v)
		}
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out, nil
}

// Create adds a target to a borough. actor is who asked, for the audit log.
func (s *Service) Create(ctx context.Context, actor, borough string, in Input) (Target, error) {
	now := s.now().UTC()
	t := Target{ID: uuid.NewString(), BoroughID: borough, Enabled: true, CreatedAt: now, UpdatedAt: now,
		Filter: Filter{Verbs: []string{}, Activities: []string{}}}
	if err := apply(&t, in, true); err != nil {
		return Target{}, err
	}
	if err := s.checkEndpoint(ctx, t.Endpoint); err != nil {
		return Target{}, err
	}
	var cursor int64
	if !in.Backfill {
		// Statements being stored at this very moment may or may not
		// be sent; everything stored after this answer is.
		max, err := s.store.MaxSeq(ctx)
		if err != nil {
			return Target{}, err
		}
		cursor = max
	}
	if err := s.store.CreateTarget(ctx, t, cursor); err != nil {
		return Target{}, err
	}
	s.audit.Audit(ctx, borough, actor, "forwarding.create", t.ID, auditDetails(t, map[string]any{"backfill": in.Backfill}))
	return t, nil
}

func auditDetails(t Target, extra map[string]any) map[string]any {
	d := map[string]any{"name": t.Name, "endpoint": t.Endpoint, "version": t.Version, "authType": t.AuthType,
		"verbs": t.Filter.Verbs, "activities": t.Filter.Activities, "enabled": t.Enabled}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

// Update changes a target's settings; its cursor stays where it is.
func (s *Service) Update(ctx context.Context, actor, borough, id string, in Input) (Target, error) {
	t, _, err := s.store.Target(ctx, borough, id)
	if err != nil {
		return Target{}, err
	}
	if in.Backfill {
		return Target{}, errs.E(errs.Invalid, "backfill applies only when creating a target")
	}
	if err := apply(&t, in, false); err != nil {
		return Target{}, err
	}
	if err := s.checkEndpoint(ctx, t.Endpoint); err != nil {
		return Target{}, err
	}
	t.UpdatedAt = s.now().UTC()
	if err := s.store.UpdateTarget(ctx, t); err != nil {
		return Target{}, err
	}
	extra := map[string]any{}
	if in.Secret != nil {
		extra["secretChanged"] = true
	}
	s.audit.Audit(ctx, borough, actor, "forwarding.update", t.ID, auditDetails(t, extra))
	return t, nil
}

// SetEnabled pauses (false) or resumes (true) a target.
func (s *Service) SetEnabled(ctx context.Context, actor, borough, id string, enabled bool) (Target, error) {
	t, _, err := s.store.Target(ctx, borough, id)
	if err != nil {
		return Target{}, err
	}
	t.Enabled = enabled
	t.UpdatedAt = s.now().UTC()
	if err := s.store.UpdateTarget(ctx, t); err != nil {
		return Target{}, err
	}
	action := "forwarding.pause"
	if enabled {
		action = "forwarding.resume"
	}
	s.audit.Audit(ctx, borough, actor, action, t.ID, map[string]any{"name": t.Name})
	return t, nil
}

// Delete removes a target and its state.
func (s *Service) Delete(ctx context.Context, actor, borough, id string) error {
	t, _, err := s.store.Target(ctx, borough, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteTarget(ctx, borough, id); err != nil {
		return err
	}
	s.audit.Audit(ctx, borough, actor, "forwarding.delete", id, map[string]any{"name": t.Name, "endpoint": t.Endpoint})
	return nil
}

// Status returns one target with its delivery state and lag.
func (s *Service) Status(ctx context.Context, borough, id string) (Status, error) {
	t, st, err := s.store.Target(ctx, borough, id)
	if err != nil {
		return Status{}, err
	}
	return s.status(ctx, t, st)
}

// Statuses lists a borough's targets (every borough's for "") with their
// state and lag.
func (s *Service) Statuses(ctx context.Context, borough string) ([]Status, error) {
	ts, sts, err := s.store.Targets(ctx, borough)
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(ts))
	for i := range ts {
		st, err := s.status(ctx, ts[i], sts[i])
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func (s *Service) status(ctx context.Context, t Target, st State) (Status, error) {
	n, oldest, err := s.store.Pending(ctx, t.BoroughID, t.Filter, st.Cursor)
	if err != nil {
		return Status{}, err
	}
	out := Status{Target: t, State: st, Lag: n}
	if n > 0 && !oldest.IsZero() {
		o := oldest.UTC()
		out.OldestUndeliveredAt = &o
		out.OldestUndeliveredSeconds = max(0, s.now().Sub(oldest).Seconds())
	}
	return out, nil
}

// SendTest sends one test statement, made up for the purpose, to a target
// and reports how it answered. Nothing about delivery state changes.
// Every failure to get an answer reads the same and takes the same time
// (testWait), so the test cannot tell a closed port from an open one
// that does not speak HTTP, a silent one or a refused address.
func (s *Service) SendTest(ctx context.Context, actor, borough, id, homePage string) (TestResult, error) {
	t, _, err := s.store.Target(ctx, borough, id)
	if err != nil {
		return TestResult{}, err
	}
	sid := uuid.NewString()
	stmt := map[string]any{
		"id":        sid,
		"actor":     map[string]any{"objectType": "Agent", "name": "Reach forwarding test", "account": map[string]any{"homePage": homePage, "name": "forwarding-test"}},
		"verb":      map[string]any{"id": "http://adlnet.gov/expapi/verbs/experienced", "display": map[string]any{"en": "experienced"}},
		"object":    map[string]any{"objectType": "Activity", "id": strings.TrimRight(homePage, "/") + "/forwarding/test", "definition": map[string]any{"name": map[string]any{"en": "Reach forwarding test"}}},
		"timestamp": s.now().UTC().Format("2006-01-02T15:04:05.000Z"),
	}
	body, _ := json.Marshal([]any{stmt})
	res := TestResult{StatementID: sid}
	start := time.Now()
	tctx, cancel := context.WithTimeout(ctx, s.testWait)
	code, err := s.sender.Post(tctx, t, body)
	cancel()
	res.Status = code
	switch {
	case err == nil:
		res.OK, res.Message = true, "The target accepted the test statement."
	case code != 0:
		res.Message = fmt.Sprintf("The target answered HTTP %d %s.", code, http.StatusText(code))
	default:
		res.Message = fmt.Sprintf("Reach %s, or it did not answer within %v.", Unreachable, s.testWait)
		select {
		case <-time.After(time.Until(start.Add(s.testWait))):
		case <-ctx.Done():
		}
	}
	s.audit.Audit(ctx, borough, actor, "forwarding.test", t.ID, map[string]any{"ok": res.OK, "status": code})
	return res, nil
}

// Skip gives up on the next statement waiting for a target, typically
// one the target refuses: the cursor moves past it and delivery goes on
// with the rest. It returns the skipped statement's id; the audit log
// records it, since that statement will not reach the target.
func (s *Service) Skip(ctx context.Context, actor, borough, id string) (string, error) {
	t, st, err := s.store.Target(ctx, borough, id)
	if err != nil {
		return "", err
	}
	max, err := s.store.MaxSeq(ctx)
	if err != nil {
		return "", err
	}
	next, err := s.store.Feed(ctx, borough, t.Filter, st.Cursor, max, 1)
	if err != nil {
		return "", err
	}
	if len(next) == 0 {
		return "", errs.E(errs.Conflict, "no statement is waiting for this target")
	}
	ok, err := s.store.Skip(ctx, t.ID, st.Cursor, next[0].Seq)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", errs.E(errs.Conflict, "the target's cursor moved meanwhile; look at its status and try again")
	}
	s.audit.Audit(ctx, borough, actor, "forwarding.skip", t.ID, map[string]any{"name": t.Name, "statement": next[0].ID})
	return next[0].ID, nil
}
