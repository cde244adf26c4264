package lrs

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/reach-london/reach/internal/errs"
)

// MaxDocumentSize is the largest document the document resources accept.
// Content keeps bookmarks and small settings here; anything near this size
// is a mistake better refused than stored.
const MaxDocumentSize = 16 << 20

// Limits on identifiers, so a document's key always fits a database index.
const (
	maxActivityIDLen = 1024
	maxDocIDLen      = 512
	maxAgentKeyLen   = 768
)

// DocumentRequest is one request to a document resource: which resource,
// its query parameters exactly as received (an empty value counts as
// absent), the concurrency headers and the xAPI version the client speaks.
type DocumentRequest struct {
	Kind DocumentKind
	// Version is the request's X-Experience-API-Version.
	Version Version

	ActivityID   string // activityId
	Agent        string // agent, as JSON
	Registration string // registration
	ID           string // stateId or profileId
	Since        string // since, for listings

	IfMatch     string
	IfNoneMatch string

	// LimitAgent, when set, is the only Agent (as JSON) whose State and
	// Agent Profile documents the request may touch: a launch token is
	// given to content for one learner and must not reach another's.
	LimitAgent json.RawMessage
}

// DocumentService applies the xAPI rules for the State, Activity Profile
// and Agent Profile resources on top of a DocumentStore. Every method works
// within one borough; documents of other boroughs are invisible to it.
type DocumentService struct {
	store DocumentStore
	now   func() time.Time
}

// NewDocumentService returns a service storing documents in store.
func NewDocumentService(store DocumentStore) *DocumentService {
	return &DocumentService{store: store, now: time.Now}
}

// Get returns the single document the request names (it must carry a
// stateId or profileId).
func (s *DocumentService) Get(ctx context.Context, borough string, r DocumentRequest) (Document, error) {
	key, err := r.key(true)
	if err != nil {
		return Document{}, err
	}
	if err := requireBorough(borough); err != nil {
		return Document{}, err
	}
	doc, found, err := s.store.GetDocument(ctx, borough, key)
	if err != nil {
		return Document{}, errs.Wrap(errs.Internal, err, "read document")
	}
	if !found {
		return Document{}, errs.E(errs.NotFound, "no %s document with %s %q", r.Kind.noun(), r.Kind.idParam(), r.ID)
	}
	return doc, nil
}

// List returns the ids of the documents the request's scope holds, updated
// after its since parameter if given, and the latest update among them.
func (s *DocumentService) List(ctx context.Context, borough string, r DocumentRequest) ([]string, time.Time, error) {
	key, err := r.key(false)
	if err != nil {
		return nil, time.Time{}, err
	}
	var since time.Time
	if r.Since != "" {
		if since, err = ParseTimestamp(r.Since); err != nil {
			return nil, time.Time{}, errs.E(errs.Invalid, "since parameter must be an ISO 8601 timestamp such as 2024-05-01T12:00:00Z, got %q", clipForMessage(r.Since))
		}
	}
	if err := requireBorough(borough); err != nil {
		return nil, time.Time{}, err
	}
	scope := key.Scope()
	// A listing that names no registration covers the states of every
	// registration, as a client resuming an activity expects.
	scope.AnyRegistration = r.Kind == StateDocument && r.Registration == ""
	ids, last, err := s.store.ListDocumentIDs(ctx, borough, scope, since.UTC())
	if err != nil {
		return nil, time.Time{}, errs.Wrap(errs.Internal, err, "list documents")
	}
	if ids == nil {
		ids = []string{}
	}
	return ids, last, nil
}

// Put stores content as the document the request names, replacing any
// document there, subject to the concurrency rules of the request's xAPI
// version.
func (s *DocumentService) Put(ctx context.Context, borough string, r DocumentRequest, contentType string, content []byte) error {
	key, err := r.key(true)
	if err != nil {
		return err
	}
	contentType, err = checkDocumentContent(contentType, content)
	if err != nil {
		return err
	}
	if err := requireBorough(borough); err != nil {
		return err
	}
	return s.modify(ctx, borough, key, func(cur *Document) (*Document, error) {
		if err := r.checkPreconditions(cur); err != nil {
			return nil, err
		}
		if r.IfMatch == "" && r.IfNoneMatch == "" {
			if err := r.checkUnconditionalPut(cur); err != nil {
				return nil, err
			}
		}
		return s.newDocument(key, contentType, content), nil
	})
}

// Post merges content into the document the request names: with no
// document there it stores content as Put would; otherwise both the stored
// document and content must be JSON objects, and content's top-level
// properties replace the stored ones of the same name.
func (s *DocumentService) Post(ctx context.Context, borough string, r DocumentRequest, contentType string, content []byte) error {
	key, err := r.key(true)
	if err != nil {
		return err
	}
	contentType, err = checkDocumentContent(contentType, content)
	if err != nil {
		return err
	}
	isJSON := isJSONMediaType(contentType)
	var incoming map[string]json.RawMessage
	if isJSON {
		if incoming, err = decodeJSONObject(content); err != nil {
			return errs.E(errs.Invalid, "body must be a JSON object to be merged: %s", errs.MessageOf(err))
		}
	}
	if err := requireBorough(borough); err != nil {
		return err
	}
	return s.modify(ctx, borough, key, func(cur *Document) (*Document, error) {
		if err := r.checkPreconditions(cur); err != nil {
			return nil, err
		}
		if cur == nil {
			return s.newDocument(key, contentType, content), nil
		}
		if !cur.IsJSON() {
			return nil, errs.E(errs.Invalid, "the stored %s document is not application/json, so it cannot be merged; PUT to replace it", r.Kind.noun())
		}
		if !isJSON {
			return nil, errs.E(errs.Invalid, "the stored %s document is JSON; POST merges only an application/json body holding a JSON object (got Content-Type %q)", r.Kind.noun(), clipForMessage(contentType))
		}
		stored, err := decodeJSONObject(cur.Content)
		if err != nil {
			return nil, errs.E(errs.Invalid, "the stored %s document is not a JSON object, so it cannot be merged; PUT to replace it", r.Kind.noun())
		}
		// The merge is one level deep: a property present in both takes
		// the posted value whole, even when both values are objects.
		for k, v := range incoming {
			stored[k] = v
		}
		merged, err := json.Marshal(stored)
		if err != nil {
			return nil, errs.Wrap(errs.Internal, err, "merge documents")
		}
		// The stored Content-Type stands (it may carry a charset).
		return s.newDocument(key, cur.ContentType, merged), nil
	})
}

// Delete deletes the document the request names. A State request without
// a stateId deletes every state of the activity and agent (and
// registration, if given). Deleting a document that does not exist is not
// an error, unless If-Match says the client expected one.
func (s *DocumentService) Delete(ctx context.Context, borough string, r DocumentRequest) error {
	if r.Kind == StateDocument && r.ID == "" {
		key, err := r.key(false)
		if err != nil {
			return err
		}
		if err := requireBorough(borough); err != nil {
			return err
		}
		scope := key.Scope()
		scope.AnyRegistration = r.Registration == ""
		if _, err := s.store.DeleteDocuments(ctx, borough, scope); err != nil {
			return errs.Wrap(errs.Internal, err, "delete documents")
		}
		return nil
	}
	key, err := r.key(true)
	if err != nil {
		return err
	}
	if err := requireBorough(borough); err != nil {
		return err
	}
	return s.modify(ctx, borough, key, func(cur *Document) (*Document, error) {
		if err := r.checkPreconditions(cur); err != nil {
			return nil, err
		}
		return nil, nil
	})
}

// EraseAgent deletes every State and Agent Profile document of agent in
// the borough, for learner erasure, and says how many went. An Agent known
// by mbox is also erased under the mbox_sha1sum of that address.
func (s *DocumentService) EraseAgent(ctx context.Context, borough string, agent Actor) (int, error) {
	if err := requireBorough(borough); err != nil {
		return 0, err
	}
	key := agent.Key()
	if key == "" {
		return 0, errs.E(errs.Invalid, "agent to erase must have an mbox, mbox_sha1sum, openid or account")
	}
	keys := []string{key}
	if agent.Mbox != "" {
		for _, m := range []string{agent.Mbox, strings.ToLower(agent.Mbox)} {
			sum := sha1.Sum([]byte(m))
			if k := "sha1:" + hex.EncodeToString(sum[:]); !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	n, err := s.store.DeleteAgentDocuments(ctx, borough, keys)
	if err != nil {
		return 0, errs.Wrap(errs.Internal, err, "erase agent documents")
	}
	return int(n), nil
}

func (s *DocumentService) modify(ctx context.Context, borough string, key DocumentKey, fn func(cur *Document) (*Document, error)) error {
	err := s.store.ModifyDocument(ctx, borough, key, fn)
	if err != nil {
		// Errors from fn are already classified for the client.
		var e *errs.Error
		if errors.As(err, &e) {
			return err
		}
		return errs.Wrap(errs.Internal, err, "write document")
	}
	return nil
}

func (s *DocumentService) newDocument(key DocumentKey, contentType string, content []byte) *Document {
	return &Document{
		Key:         key,
		ContentType: contentType,
		Content:     content,
		ETag:        ETagOf(content),
		Updated:     s.now().UTC().Truncate(time.Microsecond),
	}
}

// key validates the request's parameters for its resource and returns the
// document key they name; withID says whether the stateId or profileId is
// required.
func (r DocumentRequest) key(withID bool) (DocumentKey, error) {
	k := DocumentKey{Kind: r.Kind}
	idName := "profileId"
	if r.Kind == StateDocument {
		idName = "stateId"
	}
	for _, f := range []struct{ name, value string }{
		{"activityId parameter", r.ActivityID}, {"agent parameter", r.Agent},
		{"registration parameter", r.Registration}, {idName + " parameter", r.ID},
	} {
		if err := CheckText(f.name, f.value); err != nil {
			return k, err
		}
	}
	switch r.Kind {
	case StateDocument, ActivityProfileDocument:
		if r.ActivityID == "" {
			return k, errs.E(errs.Invalid, "activityId parameter is required")
		}
		if !isIRI(r.ActivityID) {
			return k, errs.E(errs.Invalid, "activityId parameter must be an absolute IRI, got %q", clipForMessage(r.ActivityID))
		}
		if len(r.ActivityID) > maxActivityIDLen {
			return k, errs.E(errs.Invalid, "activityId parameter is longer than %d bytes", maxActivityIDLen)
		}
		k.ActivityID = r.ActivityID
	case AgentProfileDocument:
	default:
		return k, errs.E(errs.Internal, "unknown document kind %q", r.Kind)
	}
	if r.Kind == StateDocument || r.Kind == AgentProfileDocument {
		agentKey, err := parseAgentParam(r.Agent)
		if err != nil {
			return k, err
		}
		if len(r.LimitAgent) > 0 {
			limit, err := ParseActor(r.LimitAgent)
			if err != nil || limit.Key() != agentKey {
				return k, errs.E(errs.Forbidden, "these credentials may only use the documents of their own learner")
			}
		}
		k.AgentKey = agentKey
	}
	if r.Kind == StateDocument && r.Registration != "" {
		if !IsUUID(r.Registration) {
			return k, errs.E(errs.Invalid, "registration parameter must be a UUID, got %q", clipForMessage(r.Registration))
		}
		k.Registration = strings.ToLower(r.Registration)
	}
	if withID {
		if r.ID == "" {
			return k, errs.E(errs.Invalid, "%s parameter is required", r.Kind.idParam())
		}
		if len(r.ID) > maxDocIDLen {
			return k, errs.E(errs.Invalid, "%s parameter is longer than %d bytes", r.Kind.idParam(), maxDocIDLen)
		}
		if !utf8.ValidString(r.ID) {
			return k, errs.E(errs.Invalid, "%s parameter is not valid UTF-8", r.Kind.idParam())
		}
		k.ID = r.ID
	}
	return k, nil
}

// parseAgentParam validates the agent parameter, an Agent (or identified
// Group) as JSON, and returns its canonical key.
func parseAgentParam(raw string) (string, error) {
	if raw == "" {
		return "", errs.E(errs.Invalid, "agent parameter is required")
	}
	v, err := decodeJSON([]byte(raw))
	if err != nil {
		return "", errs.E(errs.Invalid, "agent parameter is not valid JSON: %s", clipForMessage(raw))
	}
	if err := checkText([]byte(raw), v, "agent parameter"); err != nil {
		return "", err
	}
	a, err := actorFromJSON(v, "agent parameter")
	if err != nil {
		return "", err
	}
	key := a.Key()
	if key == "" {
		return "", errs.E(errs.Invalid, "agent parameter must be an Agent or an identified Group, not an anonymous Group")
	}
	if len(key) > maxAgentKeyLen {
		return "", errs.E(errs.Invalid, "agent parameter's identifier is longer than %d bytes", maxAgentKeyLen)
	}
	return key, nil
}

// checkPreconditions applies If-Match and If-None-Match (RFC 7232 §3.1,
// §3.2) to the current document, nil when there is none.
func (r DocumentRequest) checkPreconditions(cur *Document) error {
	if r.IfMatch != "" && !etagListMatches(r.IfMatch, cur, false) {
		if cur == nil {
			return errs.E(errs.PreconditionFailed, "If-Match precondition failed: there is no such %s document", r.Kind.noun())
		}
		return errs.E(errs.PreconditionFailed, "If-Match precondition failed: the %s document has changed; GET it again for its current ETag", r.Kind.noun())
	}
	if r.IfNoneMatch != "" && etagListMatches(r.IfNoneMatch, cur, true) {
		return errs.E(errs.PreconditionFailed, "If-None-Match precondition failed: the %s document already exists; GET it for its current ETag and send that in If-Match", r.Kind.noun())
	}
	return nil
}

// checkUnconditionalPut applies the rules for a PUT carrying neither
// If-Match nor If-None-Match. The profile resources require one of them
// (xAPI 1.0.3 Communication §3.1): replacing an existing profile blind is a
// 409 Conflict, and creating one without saying so is refused as a bad
// request, which the 1.0.3 conformance suite checks. The State resource
// may be written without them, except that under xAPI 2.0 an existing
// state is not replaced blind: the 2.0.0 conformance suite (4.1.4
// Concurrency) requires 409 there too.
func (r DocumentRequest) checkUnconditionalPut(cur *Document) error {
	conflict := errs.E(errs.Conflict, "a %s document with this %s already exists; GET it, then PUT again with its ETag in If-Match (or POST to merge)", r.Kind.noun(), r.Kind.idParam())
	switch r.Kind {
	case ActivityProfileDocument, AgentProfileDocument:
		if cur != nil {
			return conflict
		}
		return errs.E(errs.Invalid, "PUT to the %s resource needs an If-Match header (to replace a document you have read) or If-None-Match: * (to create a new one)", r.Kind.noun())
	case StateDocument:
		if cur != nil && r.Version.Is2() {
			return conflict
		}
	}
	return nil
}

// etagListMatches evaluates an If-Match or If-None-Match header value
// against cur: "*" matches any existing document; otherwise one of the
// listed entity tags must equal cur's. If-Match compares strongly, so a
// weak tag never matches there; If-None-Match compares weakly.
func etagListMatches(header string, cur *Document, weak bool) bool {
	if cur == nil {
		return false
	}
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" {
			return true
		}
		if strings.HasPrefix(tag, "W/") {
			if !weak {
				continue
			}
			tag = tag[2:]
		}
		// Clients should quote entity tags; an unquoted one is accepted
		// rather than failing a request over punctuation.
		tag = strings.TrimSuffix(strings.TrimPrefix(tag, `"`), `"`)
		if tag != "" && strings.EqualFold(tag, cur.ETag) {
			return true
		}
	}
	return false
}

// checkDocumentContent checks a PUT or POST body and returns the Content-Type to
// store it under.
func checkDocumentContent(contentType string, content []byte) (string, error) {
	if len(content) > MaxDocumentSize {
		return "", errs.E(errs.TooLarge, "document is larger than %d bytes", MaxDocumentSize)
	}
	contentType = strings.TrimSpace(contentType)
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	if isJSONMediaType(contentType) && !json.Valid(content) {
		return "", errs.E(errs.Invalid, "body is sent as application/json but is not valid JSON")
	}
	return contentType, nil
}

// decodeJSONObject decodes data as a JSON object, keeping each property's value
// as raw JSON so that numbers and nesting survive a merge unchanged.
func decodeJSONObject(data []byte) (map[string]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errs.E(errs.Invalid, "not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil {
		return nil, errs.E(errs.Invalid, "not valid JSON: %s", jsonErrText(err))
	}
	if dec.More() {
		return nil, errs.E(errs.Invalid, "data after the JSON object")
	}
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	return m, nil
}

func requireBorough(borough string) error {
	if borough == "" {
		return errs.E(errs.Forbidden, "these credentials belong to no borough")
	}
	return nil
}

func (k DocumentKind) noun() string {
	switch k {
	case StateDocument:
		return "state"
	case ActivityProfileDocument:
		return "activity profile"
	case AgentProfileDocument:
		return "agent profile"
	}
	return "document"
}

func (k DocumentKind) idParam() string {
	if k == StateDocument {
		return "stateId"
	}
	return "profileId"
}

// clipForMessage shortens a client's value for echoing in an error message.
func clipForMessage(s string) string {
	if len(s) <= 100 {
		return s
	}
	cut := 100
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
