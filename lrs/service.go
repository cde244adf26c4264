package lrs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/blob"
	"github.com/reach-london/reach/internal/errs"
)

// Service is the statements half of the LRS: it checks what a principal
// may do, completes statements with the LRS's own properties, keeps
// attachments in the blob store and statements in the Store.
type Service struct {
	store Store
	blobs blob.Store
	now   func() time.Time
	hook  StatementHook
}

// NewService returns a Service over store, keeping attachment bytes in
// blobs.
func NewService(store Store, blobs blob.Store) *Service {
	return &Service{store: store, blobs: blobs, now: time.Now}
}

// StatementHook lets another room hold statements to its own rules (the
// cmi5 LMS holds statements sent with launch tokens to cmi5's) on every
// path that stores them: POST, PUT and batches alike, each statement
// parsed once.
type StatementHook interface {
	// Before runs after the LRS's own permission checks and before
	// anything is stored. An error rejects the whole batch and is the
	// answer; done, if not nil, runs once the write is over, stored or not
	// (it releases what Before holds, such as a lock).
	Before(ctx context.Context, p auth.Principal, stmts []*Statement) (done func(), err error)
	// After runs once the batch is committed and before the writer is
	// answered, so the writer's next request sees what it did. The
	// statements are stored whatever it does; it reports its own failures.
	After(ctx context.Context, p auth.Principal, stmts []*Statement)
}

// SetHook makes h follow every batch s stores. Set it before s serves.
func (s *Service) SetHook(h StatementHook) { s.hook = h }

// Part is one attachment's bytes from a multipart/mixed request, already
// checked against the hash its part header declared.
type Part struct {
	SHA2        string // lower-case hex
	ContentType string
	Data        []byte
}

// StoredFormat is how the LRS renders stored times: UTC with millisecond
// precision, which is also the precision of the since/until filters.
const StoredFormat = "2006-01-02T15:04:05.000Z07:00"

// Store stores a batch of statements with their attachment parts, all or
// nothing, and returns their ids in order.
func (s *Service) Store(ctx context.Context, p auth.Principal, stmts []*Statement, parts []Part, ver Version) ([]string, error) {
	if !p.Has(auth.ScopeStatementsWrite) {
		return nil, errs.E(errs.Forbidden, "these credentials may not write statements (scope statements/write)")
	}
	if p.BoroughID == "" {
		return nil, errs.E(errs.Forbidden, "these credentials belong to no borough")
	}
	if s.hook != nil {
		done, err := s.hook.Before(ctx, p, stmts)
		if err != nil {
			return nil, err
		}
		if done != nil {
			defer done()
		}
	}
	if err := checkLaunchLimits(p, stmts); err != nil {
		return nil, err
	}
	if err := checkParts(stmts, parts); err != nil {
		return nil, err
	}
	for i, st := range stmts {
		if err := verifySignature(st, parts); err != nil {
			return nil, errs.Wrap(errs.Invalid, err, "statement %d: signature: %s", i, errs.MessageOf(err))
		}
	}
	authority, authorityKey, err := principalAuthority(p)
	if err != nil {
		return nil, err
	}
	// The bytes go to the blob store first: a statement is never
	// acknowledged while an attachment it names is missing.
	for _, part := range parts {
		if err := s.putAttachment(ctx, p.BoroughID, part); err != nil {
			return nil, err
		}
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	recs := make([]*Record, len(stmts))
	ids := make([]string, len(stmts))
	for i, st := range stmts {
		rec, err := buildRecord(st, authority, authorityKey, ver, now)
		if err != nil {
			return nil, err
		}
		recs[i] = rec
		ids[i] = st.ID
	}
	if err := s.store.InsertStatements(ctx, p.BoroughID, recs); err != nil {
		return nil, err
	}
	if s.hook != nil {
		// The bookkeeping is owed even if the client has gone.
		s.hook.After(context.WithoutCancel(ctx), p, stmts)
	}
	return ids, nil
}

// Records completes statements as Store would and returns the records
// without storing them, for bulk loaders that write through the store's
// own bulk path (sqlstore.Store.CopyStatements).
func (s *Service) Records(p auth.Principal, stmts []*Statement, ver Version) ([]*Record, error) {
	authority, authorityKey, err := principalAuthority(p)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	recs := make([]*Record, len(stmts))
	for i, st := range stmts {
		if recs[i], err = buildRecord(st, authority, authorityKey, ver, now); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

// Put stores one statement under the id given in the request's
// statementId parameter. Storing the same statement again is a no-op;
// storing different content under a stored id is a conflict.
func (s *Service) Put(ctx context.Context, p auth.Principal, id string, st *Statement, parts []Part, ver Version) error {
	if !IsUUID(id) {
		return errs.E(errs.Invalid, "statementId must be a UUID, got %q", id)
	}
	if st.ID == "" {
		st.ID = normaliseID(id)
		st.Tree["id"] = id
	} else if st.ID != normaliseID(id) {
		return errs.E(errs.Invalid, "statementId parameter %s does not match the statement's id %s", id, st.ID)
	}
	_, err := s.Store(ctx, p, []*Statement{st}, parts, ver)
	return err
}

func normaliseID(id string) string { return string(bytes.ToLower([]byte(id))) }

// checkLaunchLimits keeps a principal limited to one learner (a launch
// token given to content) to statements about that learner, and one
// limited to a registration to that registration.
func checkLaunchLimits(p auth.Principal, stmts []*Statement) error {
	actorKey := ""
	if len(p.Actor) > 0 {
		a, err := ParseActor(p.Actor)
		if err != nil {
			return errs.Wrap(errs.Internal, err, "principal actor")
		}
		actorKey = a.Key()
	}
	for i, st := range stmts {
		if actorKey != "" && st.Actor.Key() != actorKey {
			return errs.E(errs.Forbidden, "statement %d: these credentials may only send statements whose actor is their learner", i)
		}
		if p.Registration != "" && st.Registration != "" && st.Registration != normaliseID(p.Registration) {
			return errs.E(errs.Forbidden, "statement %d: these credentials may only send statements for registration %s", i, p.Registration)
		}
	}
	return nil
}

// principalAuthority returns the authority recorded on statements the
// principal writes, as a JSON tree and IFI key.
func principalAuthority(p auth.Principal) ([]byte, string, error) {
	if len(p.Authority) == 0 {
		return nil, "", errs.E(errs.Forbidden, "these credentials have no authority agent")
	}
	tree, err := decodeJSON(p.Authority)
	if err != nil {
		return nil, "", errs.Wrap(errs.Internal, err, "principal authority")
	}
	a, err := actorFromJSON(tree, "authority")
	if err != nil {
		return nil, "", errs.Wrap(errs.Internal, err, "principal authority")
	}
	key := a.Key()
	if key == "" && len(a.Member) > 0 {
		key = a.Member[0].Key()
	}
	// Compact, so it can be spliced into stored statements as is.
	compact, err := json.Marshal(tree)
	if err != nil {
		return nil, "", errs.Wrap(errs.Internal, err, "principal authority")
	}
	return compact, key, nil
}

// SameStatement reports whether a statement submitted again (submitted,
// as the client sent it) is the one already stored (stored, as the LRS
// keeps it): equal once the properties the LRS sets are set aside and both
// are normalised.
func SameStatement(submitted, stored []byte) bool {
	a, err1 := ParseStatement(submitted, V200)
	b, err2 := decodeJSON(stored)
	if err1 != nil || err2 != nil {
		return false
	}
	sm, ok := b.(map[string]any)
	if !ok {
		return false
	}
	am := a.Tree
	for _, k := range []string{"stored", "authority", "id"} {
		delete(am, k)
		delete(sm, k)
	}
	for _, k := range []string{"version", "timestamp"} {
		if _, ok := am[k]; !ok {
			delete(sm, k)
		}
	}
	x, err1 := json.Marshal(am)
	y, err2 := json.Marshal(sm)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// buildRecord completes st with the LRS's properties and derives what the
// store indexes. authority is the authority's JSON.
func buildRecord(st *Statement, authority []byte, authorityKey string, ver Version, now time.Time) (*Record, error) {
	tree := st.Tree
	_, hadStored := tree["stored"]
	_, hadAuthority := tree["authority"]
	_, hasVersion := tree["version"]
	_, hasTimestamp := tree["timestamp"]
	if st.ID == "" {
		id := uuid.NewString()
		st.ID = id
		tree["id"] = id
	}
	submitted := st.raw
	if submitted == nil || st.normalised {
		enc, err := json.Marshal(tree)
		if err != nil {
			return nil, errs.Wrap(errs.Internal, err, "encode statement")
		}
		submitted = enc
	}
	stored := now.Format(StoredFormat)
	version := "1.0.0"
	if ver.Is2() {
		version = "2.0.0"
	}
	var body []byte
	if st.raw != nil && !st.normalised && !hadStored && !hadAuthority {
		// The common case: the statement as sent, with the LRS's
		// properties appended before its closing brace.
		raw := bytes.TrimRight(st.raw, " \t\r\n")
		b := make([]byte, 0, len(raw)+len(authority)+160)
		b = append(b, raw[:len(raw)-1]...)
		if !st.rawHasID {
			idJSON, _ := json.Marshal(tree["id"])
			b = append(b, `,"id":`...)
			b = append(b, idJSON...)
		}
		b = append(b, `,"stored":"`+stored+`","authority":`...)
		b = append(b, authority...)
		if !hasVersion {
			b = append(b, `,"version":"`+version+`"`...)
		}
		if !hasTimestamp {
			b = append(b, `,"timestamp":"`+stored+`"`...)
		}
		body = append(b, '}')
	} else {
		delete(tree, "stored")
		delete(tree, "authority")
		tree["stored"] = stored
		tree["authority"] = json.RawMessage(authority)
		if !hasVersion {
			tree["version"] = version
		}
		if !hasTimestamp {
			tree["timestamp"] = stored
		}
		enc, err := json.Marshal(tree)
		if err != nil {
			return nil, errs.Wrap(errs.Internal, err, "encode statement")
		}
		body = enc
	}
	sum := sha256.Sum256(submitted)
	rec := &Record{
		ID:     st.ID,
		Body:   body,
		Hash:   hex.EncodeToString(sum[:]),
		Same:   func(storedBody []byte) bool { return SameStatement(submitted, storedBody) },
		Stored: now,
		Voids:  st.VoidedID(),
	}
	if st.Object.Type == "StatementRef" {
		rec.RefID = st.Object.ID
	}
	add := func(k TermKind, vals ...string) {
		for _, v := range vals {
			rec.Terms = append(rec.Terms, Term{Kind: k, Value: v})
		}
	}
	// The related kinds hold only values the direct kinds lack; the store
	// matches a related filter against both.
	add(TermAgent, st.AgentKeys...)
	related := st.RelatedAgentKeys
	if authorityKey != "" {
		add(TermAuthority, authorityKey)
		related = append(append([]string(nil), related...), authorityKey)
	}
	add(TermRelatedAgent, without(dedupe(related), st.AgentKeys)...)
	add(TermVerb, st.VerbID)
	add(TermActivity, st.ActivityIDs...)
	for _, a := range st.ActivityIDs {
		add(TermVerbActivity, VerbActivity(st.VerbID, a))
	}
	add(TermRelatedActivity, without(st.RelatedActivityIDs, st.ActivityIDs)...)
	if st.Registration != "" {
		add(TermRegistration, st.Registration)
	}
	var hashes []string
	for _, a := range st.Attachments {
		hashes = append(hashes, a.SHA2)
	}
	add(TermAttachment, dedupe(hashes)...)
	for _, m := range st.Activities {
		if m.Definition == nil {
			continue
		}
		if rec.Definitions == nil {
			rec.Definitions = map[string]map[string]any{}
		}
		rec.Definitions[m.ID] = MergeDefinition(rec.Definitions[m.ID], m.Definition)
	}
	return rec, nil
}

// without returns the values of list not in drop.
func without(list, drop []string) []string {
	out := make([]string, 0, len(list))
	for _, v := range list {
		keep := true
		for _, d := range drop {
			if v == d {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, v)
		}
	}
	return out
}

// MergeDefinition merges an activity definition seen in a new statement
// into the one already known: language maps gain or replace languages,
// other properties take the newer value.
func MergeDefinition(old, newer map[string]any) map[string]any {
	if old == nil {
		return newer
	}
	out := make(map[string]any, len(old)+len(newer))
	for k, v := range old {
		out[k] = v
	}
	for k, v := range newer {
		switch k {
		case "name", "description":
			om, ok1 := out[k].(map[string]any)
			nm, ok2 := v.(map[string]any)
			if ok1 && ok2 {
				merged := make(map[string]any, len(om)+len(nm))
				for lk, lv := range om {
					merged[lk] = lv
				}
				for lk, lv := range nm {
					merged[lk] = lv
				}
				out[k] = merged
				continue
			}
		case "extensions":
			om, ok1 := out[k].(map[string]any)
			nm, ok2 := v.(map[string]any)
			if ok1 && ok2 {
				merged := make(map[string]any, len(om)+len(nm))
				for ek, ev := range om {
					merged[ek] = ev
				}
				for ek, ev := range nm {
					merged[ek] = ev
				}
				out[k] = merged
				continue
			}
		}
		out[k] = v
	}
	return out
}

// checkParts matches attachment parts to the statements' attachments: each
// attachment without a fileUrl needs a part with its hash, and every part
// must belong to some attachment.
func checkParts(stmts []*Statement, parts []Part) error {
	have := make(map[string]bool, len(parts))
	for _, p := range parts {
		have[p.SHA2] = true
	}
	used := make(map[string]bool, len(parts))
	for i, st := range stmts {
		for j, a := range st.Attachments {
			if have[a.SHA2] {
				used[a.SHA2] = true
				continue
			}
			if a.FileURL == "" {
				return errs.E(errs.Invalid, "statement %d attachment %d has no fileUrl and no multipart part with sha2 %s", i, j, a.SHA2)
			}
			if a.UsageType == SignatureUsageType {
				return errs.E(errs.Invalid, "statement %d: the signature attachment must be sent as a part", i)
			}
		}
	}
	for _, p := range parts {
		if !used[p.SHA2] {
			return errs.E(errs.Invalid, "multipart part with hash %s matches no attachment of any statement", p.SHA2)
		}
	}
	return nil
}

func attachmentKey(borough, sha2 string) string {
	return "lrs/" + borough + "/attachments/" + sha2
}

func (s *Service) putAttachment(ctx context.Context, borough string, p Part) error {
	if s.blobs == nil {
		return errs.E(errs.Unavailable, "attachment storage is not configured")
	}
	key := attachmentKey(borough, p.SHA2)
	if _, err := s.blobs.Stat(ctx, key); err == nil {
		return nil // content-addressed: the same bytes are already there
	} else if !errors.Is(err, blob.ErrNotFound) {
		return blobErr(err)
	}
	if err := s.blobs.Put(ctx, key, bytes.NewReader(p.Data), int64(len(p.Data)), p.ContentType); err != nil {
		return blobErr(err)
	}
	return nil
}

func blobErr(err error) error {
	if errors.Is(err, blob.ErrUnavailable) {
		return errs.Wrap(errs.Unavailable, err, "attachment storage is unavailable; try again later")
	}
	return errs.Wrap(errs.Internal, err, "attachment storage")
}

// OpenAttachment opens the stored bytes of an attachment by its hash.
func (s *Service) OpenAttachment(ctx context.Context, p auth.Principal, sha2 string) (blob.Object, error) {
	if s.blobs == nil {
		return nil, errs.E(errs.NotFound, "no attachment %s", sha2)
	}
	obj, err := s.blobs.Open(ctx, attachmentKey(p.BoroughID, sha2))
	if errors.Is(err, blob.ErrNotFound) {
		return nil, errs.E(errs.NotFound, "no attachment %s", sha2)
	}
	if err != nil {
		return nil, blobErr(err)
	}
	return obj, nil
}

// Activity returns the Activities resource's answer for id: the activity
// with the definition merged from every statement that defined it.
func (s *Service) Activity(ctx context.Context, p auth.Principal, id string) (map[string]any, error) {
	if !p.Has(auth.ScopeStatementsRead) && !p.Has(auth.ScopeStatementsReadMine) && !p.Has(auth.ScopeDefine) {
		return nil, errs.E(errs.Forbidden, "these credentials may not read activities")
	}
	if !isIRI(id) {
		return nil, errs.E(errs.Invalid, "activityId must be an IRI, got %q", id)
	}
	out := map[string]any{"objectType": "Activity", "id": id}
	def, err := s.store.Activity(ctx, p.BoroughID, id)
	if errs.Is(err, errs.NotFound) {
		// xAPI 2.0: with no definition known, still answer with the
		// Activity, identified by its id.
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	tree, err := decodeJSON(def)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "stored definition")
	}
	out["definition"] = tree
	return out, nil
}

// MaxPersonNames caps the names of a Person the Agents resource returns.
const MaxPersonNames = 100

// Person returns the Agents resource's answer for agent: the agent's
// identifier with every name the borough's statements give it (see
// Store.AgentNames: the most recent statements only, at most
// MaxPersonNames names in byte order). An agent the borough has no named
// statements of comes back as asked (xAPI 1.0.3 §7.6: a Person is always
// returned). Only a principal that may read every statement of the
// borough, or one limited to this very learner, learns the stored names:
// to others they could reveal what statements they may not read say.
func (s *Service) Person(ctx context.Context, p auth.Principal, agent Actor) (Person, error) {
	if !p.Has(auth.ScopeStatementsRead) && !p.Has(auth.ScopeStatementsReadMine) && !p.Has(auth.ScopeProfile) {
		return Person{}, errs.E(errs.Forbidden, "these credentials may not read agents")
	}
	person := PersonOf(agent)
	key := agent.Key()
	if key == "" || agent.IsGroup() || !mayKnowAgent(p, key) {
		return person, nil
	}
	names, err := s.store.AgentNames(ctx, p.BoroughID, key, MaxPersonNames)
	if err != nil {
		return Person{}, err
	}
	if len(names) > 0 {
		person.Name = names
	}
	return person, nil
}

// mayKnowAgent reports whether p may learn what the borough's statements
// say of the agent with the given key.
func mayKnowAgent(p auth.Principal, key string) bool {
	if p.CanReadAll() {
		return true
	}
	if len(p.Actor) == 0 {
		return false
	}
	a, err := ParseActor(p.Actor)
	return err == nil && a.Key() == key
}

// EraseAgent deletes one learner's statements in a borough (GDPR
// erasure), and the attachments only they named, and returns how many
// statements were removed. The store records that the erasure happened.
func (s *Service) EraseAgent(ctx context.Context, borough string, agent Actor) (int, error) {
	key := agent.Key()
	if key == "" {
		return 0, errs.E(errs.Invalid, "the agent to erase must have an identifier")
	}
	n, orphans, err := s.store.EraseAgent(ctx, borough, key)
	if err != nil {
		return 0, err
	}
	// Attachment bytes may hold the learner's work: those no remaining
	// statement names go too.
	for _, h := range orphans {
		if s.blobs == nil {
			break
		}
		if err := s.blobs.Delete(ctx, attachmentKey(borough, h)); err != nil {
			return n, errs.Wrap(errs.Unavailable, err, "the statements were erased but attachment storage failed while deleting their attachments")
		}
	}
	return n, nil
}

// sortedKeys returns m's keys in order, for deterministic writes.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
