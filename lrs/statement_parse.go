package lrs

import (
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/reach-london/reach/internal/errs"
)

// Version is an xAPI version as negotiated by the X-Experience-API-Version
// header; only the major.minor part changes validation.
type Version string

// The versions Reach speaks.
const (
	V103 Version = "1.0.3"
	V200 Version = "2.0.0"
)

// Is2 reports whether v is xAPI 2.0 (IEEE 9274.1.1).
func (v Version) Is2() bool { return strings.HasPrefix(string(v), "2.") }

// VoidedVerb is the verb of a voiding statement.
const VoidedVerb = "http://adlnet.gov/expapi/verbs/voided"

// Attachment describes one attachment of a statement (the metadata in the
// statement; the bytes travel in a multipart part or at fileUrl).
type Attachment struct {
	UsageType   string
	ContentType string
	Length      int64
	SHA2        string
	FileURL     string
}

// SignatureUsageType marks the attachment that carries a statement's JWS.
const SignatureUsageType = "http://adlnet.gov/expapi/attachments/signature"

// Statement is a validated statement. Tree is its JSON as an untyped tree,
// normalised (contextActivities as arrays) and, once the LRS has accepted
// it, completed with id, stored, authority, version and timestamp. The
// other fields are extracted from it for indexing.
type Statement struct {
	ID   string
	Tree map[string]any

	Actor       Actor
	VerbID      string
	Object      Object
	Timestamp   time.Time
	Attachments []Attachment
	// Registration is the context registration, lower-cased, or "".
	Registration string
	// Activities are every activity the statement mentions with the
	// definition given for it (if any), for the Activities resource.
	Activities []ActivityMention
	// Agents are the Agents and identified Groups the statement mentions.
	Agents []Actor
	// RelatedAgentKeys and RelatedActivityIDs are the values matched by
	// related_agents and related_activities; AgentKeys and ActivityIDs
	// those matched without them (actor/object only).
	AgentKeys          []string
	RelatedAgentKeys   []string
	ActivityIDs        []string
	RelatedActivityIDs []string

	// raw is the statement as the client sent it; normalised says the
	// tree no longer matches it (a single context activity became an
	// array); rawHasID says the client gave the id.
	raw        []byte
	normalised bool
	rawHasID   bool
}

// Object is the object of a statement, summarised.
type Object struct {
	Type  string // Activity, Agent, Group, StatementRef or SubStatement
	ID    string // the activity id or referenced statement id
	Actor *Actor // for Agent and Group objects
}

// ActivityMention is an activity found in a statement with the definition
// it was given there (nil when none).
type ActivityMention struct {
	ID         string
	Definition map[string]any
}

// VoidedID returns the id of the statement s voids, or "" if s is not a
// voiding statement.
func (s *Statement) VoidedID() string {
	if s.VerbID == VoidedVerb && s.Object.Type == "StatementRef" {
		return strings.ToLower(s.Object.ID)
	}
	return ""
}

// Limits caps what one statements request may hold, so that a request's
// memory is bounded by its configuration rather than by its sender. A zero
// field means no cap.
type Limits struct {
	// MaxStatements is the most statements one request may hold.
	MaxStatements int
	// MaxStatementBytes is the largest statement, as the JSON sent.
	MaxStatementBytes int64
}

// ParseStatements parses a request body holding one statement or an array
// of statements and validates each under version v, without caps.
func ParseStatements(body []byte, v Version) ([]*Statement, error) {
	return ParseStatementsWithin(body, v, Limits{})
}

// ParseStatementsWithin parses a request body holding one statement or an
// array of statements and validates each under version v, refusing (413)
// a request that breaks lim as soon as it is seen. The array is read one
// statement at a time, and each statement keeps its own bytes as a slice
// of body (stored as sent, plus what the LRS adds, they need no
// re-encoding), so the body is neither copied nor read twice.
func ParseStatementsWithin(body []byte, v Version, lim Limits) ([]*Statement, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '[' {
		if err := checkStatementSize(trimmed, "statement", lim); err != nil {
			return nil, err
		}
		it, err := decodeJSON(trimmed)
		if err != nil {
			return nil, err
		}
		if _, ok := it.(map[string]any); !ok {
			return nil, errs.E(errs.Invalid, "body must be a statement object or an array of statements, got %s", typeName(it))
		}
		s, err := parsedStatement(it, trimmed, "statement", v)
		if err != nil {
			return nil, err
		}
		return []*Statement{s}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // the opening bracket
		return nil, errs.E(errs.Invalid, "body is not valid JSON: %s", jsonErrText(err))
	}
	var out []*Statement
	seen := map[string]bool{}
	for i := 0; dec.More(); i++ {
		path := "statements[" + strconv.Itoa(i) + "]"
		if lim.MaxStatements > 0 && i >= lim.MaxStatements {
			return nil, errs.E(errs.TooLarge, "%s: a request may hold at most %d statements; send smaller batches", path, lim.MaxStatements)
		}
		start := dec.InputOffset()
		var it any
		if err := dec.Decode(&it); err != nil {
			return nil, errs.E(errs.Invalid, "body is not valid JSON: %s", jsonErrText(err))
		}
		// The offsets bracket the value and the comma and spaces before it.
		raw := bytes.TrimLeft(trimmed[start:dec.InputOffset()], ", \t\r\n")
		if err := checkStatementSize(raw, path, lim); err != nil {
			return nil, err
		}
		s, err := parsedStatement(it, raw, path, v)
		if err != nil {
			return nil, err
		}
		if s.ID != "" {
			if seen[s.ID] {
				return nil, invalid(path+".id", "statement id %s appears twice in the batch", s.ID)
			}
			seen[s.ID] = true
		}
		out = append(out, s)
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return nil, errs.E(errs.Invalid, "body is not valid JSON: %s", jsonErrText(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errs.E(errs.Invalid, "body has data after the JSON value")
	}
	if len(out) == 0 {
		return nil, errs.E(errs.Invalid, "body is an empty array; send at least one statement")
	}
	return out, nil
}

// checkStatementSize refuses a statement larger than lim allows.
func checkStatementSize(raw []byte, path string, lim Limits) error {
	if lim.MaxStatementBytes > 0 && int64(len(raw)) > lim.MaxStatementBytes {
		return errs.E(errs.TooLarge, "%s is %d bytes; a statement may have at most %d bytes", path, len(raw), lim.MaxStatementBytes)
	}
	return nil
}

// parsedStatement validates one decoded statement whose JSON is raw.
func parsedStatement(it any, raw []byte, path string, v Version) (*Statement, error) {
	// The decoder turns invalid UTF-8 into U+FFFD and \u0000 into a NUL
	// character; neither may be stored (PostgreSQL refuses both in text,
	// and a replaced character is not what the client sent).
	if err := checkText(raw, it, path); err != nil {
		return nil, err
	}
	s, err := statementFromJSON(it, path, v)
	if err != nil {
		return nil, err
	}
	s.raw = raw
	return s, nil
}

// ParseStatement parses and validates one statement object.
func ParseStatement(body []byte, v Version) (*Statement, error) {
	tree, err := decodeJSON(body)
	if err != nil {
		return nil, err
	}
	return parsedStatement(tree, bytes.TrimSpace(body), "statement", v)
}

// statementFromJSON validates one statement tree. The tree is modified in
// place only to normalise it.
func statementFromJSON(v any, path string, ver Version) (*Statement, error) {
	m, err := asObject(v, path)
	if err != nil {
		return nil, err
	}
	if err := onlyKeys(m, path, "id", "actor", "verb", "object", "result", "context", "timestamp",
		"stored", "authority", "version", "attachments", "objectType"); err != nil {
		return nil, err
	}
	if ot, ok, err := optString(m, "objectType", path); err != nil {
		return nil, err
	} else if ok && ot != "Statement" {
		return nil, invalid(path+".objectType", `must be "Statement" if given, got %q`, ot)
	}
	s := &Statement{Tree: m}
	_, s.rawHasID = m["id"]
	if id, ok, err := optString(m, "id", path); err != nil {
		return nil, err
	} else if ok {
		if !IsUUID(id) {
			return nil, invalid(path+".id", "must be a UUID, got %q", id)
		}
		s.ID = strings.ToLower(id)
	}
	c := &collector{s: s}
	if err := c.statementBody(m, path, ver, false); err != nil {
		return nil, err
	}
	if st, ok, err := optString(m, "stored", path); err != nil {
		return nil, err
	} else if ok {
		if _, err := ParseTimestamp(st); err != nil {
			return nil, invalid(path+".stored", "%s", err.Error())
		}
	}
	if av, ok := m["authority"]; ok {
		a, err := actorFromJSON(av, path+".authority")
		if err != nil {
			return nil, err
		}
		// A Group authority is only the OAuth pairing of an application and
		// a user: anonymous, with exactly two Agents.
		if a.IsGroup() && (a.IsIdentified() || len(a.Member) != 2) {
			return nil, invalid(path+".authority", "a Group authority must be an anonymous Group of exactly two Agents (OAuth consumer and user)")
		}
	}
	if vs, ok, err := optString(m, "version", path); err != nil {
		return nil, err
	} else if ok {
		if !versionAccepted(vs, ver) {
			return nil, invalid(path+".version", "statement version %q is not supported", vs)
		}
	}
	if s.VerbID == VoidedVerb && s.Object.Type != "StatementRef" {
		return nil, invalid(path+".object", "a voiding statement (verb %s) must have a StatementRef object", VoidedVerb)
	}
	c.finish()
	return s, nil
}

var version1RE = regexp.MustCompile(`^1\.0(\.[0-9]+)?$`)
var version2RE = regexp.MustCompile(`^2\.0(\.[0-9]+)?$`)

func versionAccepted(s string, ver Version) bool {
	if version1RE.MatchString(s) {
		return true
	}
	return ver.Is2() && version2RE.MatchString(s)
}

// collector walks a statement and gathers index values as it validates.
type collector struct {
	s            *Statement
	agentKeys    []string
	relAgentKeys []string
	actIDs       []string
	relActIDs    []string
}

func (c *collector) addAgent(a Actor, direct bool) {
	if k := a.Key(); k != "" {
		c.relAgentKeys = append(c.relAgentKeys, k)
		if direct {
			c.agentKeys = append(c.agentKeys, k)
		}
		c.s.Agents = append(c.s.Agents, a)
	}
	// Members of a Group are related to the statement too.
	for _, mem := range a.Member {
		if k := mem.Key(); k != "" {
			c.relAgentKeys = append(c.relAgentKeys, k)
		}
	}
}

func (c *collector) addActivity(id string, def map[string]any, direct bool) {
	c.relActIDs = append(c.relActIDs, id)
	if direct {
		c.actIDs = append(c.actIDs, id)
	}
	c.s.Activities = append(c.s.Activities, ActivityMention{ID: id, Definition: def})
}

func (c *collector) finish() {
	c.s.AgentKeys = dedupe(c.agentKeys)
	c.s.RelatedAgentKeys = dedupe(c.relAgentKeys)
	c.s.ActivityIDs = dedupe(c.actIDs)
	c.s.RelatedActivityIDs = dedupe(c.relActIDs)
}

func dedupe(in []string) []string {
	if len(in) < 2 {
		return in
	}
	seen := make(map[string]bool, len(in))
	out := in[:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// statementBody validates the parts a statement shares with a
// SubStatement: actor, verb, object, result, context, timestamp,
// attachments. sub is true inside a SubStatement.
func (c *collector) statementBody(m map[string]any, path string, ver Version, sub bool) error {
	av, ok := m["actor"]
	if !ok {
		return invalid(path, `property "actor" is required`)
	}
	actor, err := actorFromJSON(av, path+".actor")
	if err != nil {
		return err
	}
	c.addAgent(actor, !sub)
	vv, ok := m["verb"]
	if !ok {
		return invalid(path, `property "verb" is required`)
	}
	verbID, err := verbFromJSON(vv, path+".verb")
	if err != nil {
		return err
	}
	ov, ok := m["object"]
	if !ok {
		return invalid(path, `property "object" is required`)
	}
	obj, err := c.objectFromJSON(ov, path+".object", ver, sub)
	if err != nil {
		return err
	}
	if !sub {
		c.s.Actor = actor
		c.s.VerbID = verbID
		c.s.Object = obj
	}
	if rv, ok := m["result"]; ok {
		if err := resultFromJSON(rv, path+".result"); err != nil {
			return err
		}
	}
	if cv, ok := m["context"]; ok {
		reg, err := c.contextFromJSON(cv, path+".context", ver, obj.Type)
		if err != nil {
			return err
		}
		if !sub {
			c.s.Registration = reg
		}
	}
	if ts, ok, err := optString(m, "timestamp", path); err != nil {
		return err
	} else if ok {
		t, err := ParseTimestamp(ts)
		if err != nil {
			return invalid(path+".timestamp", "%s", err.Error())
		}
		if !sub {
			c.s.Timestamp = t
		}
	}
	if atv, ok := m["attachments"]; ok {
		atts, err := attachmentsFromJSON(atv, path+".attachments")
		if err != nil {
			return err
		}
		if !sub {
			c.s.Attachments = atts
		}
	}
	return nil
}

func verbFromJSON(v any, path string) (string, error) {
	m, err := asObject(v, path)
	if err != nil {
		return "", err
	}
	if err := onlyKeys(m, path, "id", "display"); err != nil {
		return "", err
	}
	id, err := reqString(m, "id", path)
	if err != nil {
		return "", err
	}
	if !isIRI(id) {
		return "", invalid(path+".id", "must be an IRI, got %q", id)
	}
	if d, ok := m["display"]; ok {
		if err := languageMap(d, path+".display"); err != nil {
			return "", err
		}
	}
	return id, nil
}

func (c *collector) objectFromJSON(v any, path string, ver Version, sub bool) (Object, error) {
	m, err := asObject(v, path)
	if err != nil {
		return Object{}, err
	}
	ot, present, err := optString(m, "objectType", path)
	if err != nil {
		return Object{}, err
	}
	if !present {
		ot = "Activity"
	}
	switch ot {
	case "Activity":
		id, def, err := activityFromJSON(m, path)
		if err != nil {
			return Object{}, err
		}
		c.addActivity(id, def, !sub)
		return Object{Type: ot, ID: id}, nil
	case "Agent", "Group":
		a, err := actorFromJSON(m, path)
		if err != nil {
			return Object{}, err
		}
		c.addAgent(a, !sub)
		return Object{Type: ot, Actor: &a}, nil
	case "StatementRef":
		id, err := statementRefFromJSON(m, path)
		if err != nil {
			return Object{}, err
		}
		return Object{Type: ot, ID: id}, nil
	case "SubStatement":
		if sub {
			return Object{}, invalid(path, "a SubStatement cannot contain another SubStatement")
		}
		if err := onlyKeys(m, path, "objectType", "actor", "verb", "object", "result", "context", "timestamp", "attachments"); err != nil {
			return Object{}, err
		}
		if err := c.statementBody(m, path, ver, true); err != nil {
			return Object{}, err
		}
		return Object{Type: ot}, nil
	}
	return Object{}, invalid(path+".objectType", `must be "Activity", "Agent", "Group", "StatementRef" or "SubStatement", got %q`, ot)
}

func statementRefFromJSON(m map[string]any, path string) (string, error) {
	if err := onlyKeys(m, path, "objectType", "id"); err != nil {
		return "", err
	}
	id, err := reqString(m, "id", path)
	if err != nil {
		return "", err
	}
	if !IsUUID(id) {
		return "", invalid(path+".id", "must be a UUID, got %q", id)
	}
	return strings.ToLower(id), nil
}

// activityFromJSON validates an Activity object and returns its id and
// definition (nil when absent).
func activityFromJSON(m map[string]any, path string) (string, map[string]any, error) {
	if err := onlyKeys(m, path, "objectType", "id", "definition"); err != nil {
		return "", nil, err
	}
	id, err := reqString(m, "id", path)
	if err != nil {
		return "", nil, err
	}
	if !isIRI(id) {
		return "", nil, invalid(path+".id", "must be an IRI, got %q", id)
	}
	dv, ok := m["definition"]
	if !ok {
		return id, nil, nil
	}
	def, err := definitionFromJSON(dv, path+".definition")
	if err != nil {
		return "", nil, err
	}
	return id, def, nil
}

var interactionTypes = map[string][]string{
	"true-false":   nil,
	"choice":       {"choices"},
	"fill-in":      nil,
	"long-fill-in": nil,
	"matching":     {"source", "target"},
	"performance":  {"steps"},
	"sequencing":   {"choices"},
	"likert":       {"scale"},
	"numeric":      nil,
	"other":        nil,
}

func definitionFromJSON(v any, path string) (map[string]any, error) {
	m, err := asObject(v, path)
	if err != nil {
		return nil, err
	}
	if err := onlyKeys(m, path, "name", "description", "type", "moreInfo", "interactionType",
		"correctResponsesPattern", "choices", "scale", "source", "target", "steps", "extensions"); err != nil {
		return nil, err
	}
	for _, k := range []string{"name", "description"} {
		if lv, ok := m[k]; ok {
			if err := languageMap(lv, path+"."+k); err != nil {
				return nil, err
			}
		}
	}
	if s, ok, err := optString(m, "type", path); err != nil {
		return nil, err
	} else if ok && !isIRI(s) {
		return nil, invalid(path+".type", "must be an IRI, got %q", s)
	}
	if s, ok, err := optString(m, "moreInfo", path); err != nil {
		return nil, err
	} else if ok && !isIRL(s) {
		return nil, invalid(path+".moreInfo", "must be an IRL, got %q", s)
	}
	it, hasIT, err := optString(m, "interactionType", path)
	if err != nil {
		return nil, err
	}
	var allowedLists []string
	if hasIT {
		lists, known := interactionTypes[it]
		if !known {
			return nil, invalid(path+".interactionType", "unknown interaction type %q", it)
		}
		allowedLists = lists
	}
	if crp, ok := m["correctResponsesPattern"]; ok {
		if !hasIT {
			return nil, invalid(path, `"correctResponsesPattern" requires "interactionType"`)
		}
		list, ok := crp.([]any)
		if !ok {
			return nil, invalid(path+".correctResponsesPattern", "must be an array of strings, got %s", typeName(crp))
		}
		for i, item := range list {
			if _, ok := item.(string); !ok {
				return nil, invalid(path+".correctResponsesPattern["+strconv.Itoa(i)+"]", "must be a string, got %s", typeName(item))
			}
		}
	}
	for _, k := range []string{"choices", "scale", "source", "target", "steps"} {
		lv, ok := m[k]
		if !ok {
			continue
		}
		if !hasIT {
			return nil, invalid(path, "%q requires \"interactionType\"", k)
		}
		permitted := false
		for _, a := range allowedLists {
			if a == k {
				permitted = true
			}
		}
		if !permitted {
			return nil, invalid(path+"."+k, "is not used with interaction type %q", it)
		}
		if err := interactionComponents(lv, path+"."+k); err != nil {
			return nil, err
		}
	}
	if ev, ok := m["extensions"]; ok {
		if err := extensions(ev, path+".extensions"); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func interactionComponents(v any, path string) error {
	list, ok := v.([]any)
	if !ok {
		return invalid(path, "must be an array of interaction components, got %s", typeName(v))
	}
	ids := make(map[string]bool, len(list))
	for i, item := range list {
		p := path + "[" + strconv.Itoa(i) + "]"
		m, err := asObject(item, p)
		if err != nil {
			return err
		}
		if err := onlyKeys(m, p, "id", "description"); err != nil {
			return err
		}
		id, err := reqString(m, "id", p)
		if err != nil {
			return err
		}
		if ids[id] {
			return invalid(p+".id", "interaction component id %q is not unique", id)
		}
		ids[id] = true
		if d, ok := m["description"]; ok {
			if err := languageMap(d, p+".description"); err != nil {
				return err
			}
		}
	}
	return nil
}

// extensions checks an extensions object: keys are IRIs, values any JSON
// (null included, as xAPI allows).
func extensions(v any, path string) error {
	m, err := asObject(v, path)
	if err != nil {
		return err
	}
	for k := range m {
		if !isIRI(k) {
			return invalid(path, "extension key %q must be an IRI", k)
		}
	}
	return nil
}

// langTagRE follows the RFC 5646 Language-Tag grammar closely enough to
// reject what is clearly not a tag, including private-use tags.
var langTagRE = regexp.MustCompile(`^(?:(?:[a-zA-Z]{2,3}(?:-[a-zA-Z]{3}){0,3}|[a-zA-Z]{4,8})(?:-[a-zA-Z]{4})?(?:-(?:[a-zA-Z]{2}|[0-9]{3}))?(?:-(?:[a-zA-Z0-9]{5,8}|[0-9][a-zA-Z0-9]{3}))*(?:-[0-9a-wyzA-WYZ](?:-[a-zA-Z0-9]{2,8})+)*(?:-[xX](?:-[a-zA-Z0-9]{1,8})+)?|[xX](?:-[a-zA-Z0-9]{1,8})+|i-[a-zA-Z]{2,8})$`)

// IsLanguageTag reports whether s is an RFC 5646 language tag.
func IsLanguageTag(s string) bool { return langTagRE.MatchString(s) }

func languageMap(v any, path string) error {
	m, err := asObject(v, path)
	if err != nil {
		return err
	}
	for k, val := range m {
		if !IsLanguageTag(k) {
			return invalid(path, "%q is not an RFC 5646 language tag", k)
		}
		if _, ok := val.(string); !ok {
			return invalid(path+"."+k, "must be a string, got %s", typeName(val))
		}
	}
	return nil
}

func resultFromJSON(v any, path string) error {
	m, err := asObject(v, path)
	if err != nil {
		return err
	}
	if err := onlyKeys(m, path, "score", "success", "completion", "response", "duration", "extensions"); err != nil {
		return err
	}
	if sv, ok := m["score"]; ok {
		if err := scoreFromJSON(sv, path+".score"); err != nil {
			return err
		}
	}
	for _, k := range []string{"success", "completion"} {
		if bv, ok := m[k]; ok {
			if _, ok := bv.(bool); !ok {
				return invalid(path+"."+k, "must be true or false, got %s", typeName(bv))
			}
		}
	}
	if _, _, err := optString(m, "response", path); err != nil {
		return err
	}
	if d, ok, err := optString(m, "duration", path); err != nil {
		return err
	} else if ok && !IsDuration(d) {
		return invalid(path+".duration", "must be an ISO 8601 duration, got %q", d)
	}
	if ev, ok := m["extensions"]; ok {
		return extensions(ev, path+".extensions")
	}
	return nil
}

func scoreFromJSON(v any, path string) error {
	m, err := asObject(v, path)
	if err != nil {
		return err
	}
	if err := onlyKeys(m, path, "scaled", "raw", "min", "max"); err != nil {
		return err
	}
	nums := map[string]float64{}
	for _, k := range []string{"scaled", "raw", "min", "max"} {
		nv, ok := m[k]
		if !ok {
			continue
		}
		n, ok := nv.(json.Number)
		if !ok {
			return invalid(path+"."+k, "must be a number, got %s", typeName(nv))
		}
		f, err := n.Float64()
		if err != nil {
			return invalid(path+"."+k, "is not a usable number")
		}
		nums[k] = f
	}
	if s, ok := nums["scaled"]; ok && (s < -1 || s > 1) {
		return invalid(path+".scaled", "must be between -1 and 1, got %v", s)
	}
	minV, hasMin := nums["min"]
	maxV, hasMax := nums["max"]
	if hasMin && hasMax && maxV <= minV {
		return invalid(path+".max", "must be greater than min")
	}
	if raw, ok := nums["raw"]; ok {
		if hasMin && raw < minV {
			return invalid(path+".raw", "must not be less than min")
		}
		if hasMax && raw > maxV {
			return invalid(path+".raw", "must not be greater than max")
		}
	}
	return nil
}

var contextActivityKeys = []string{"parent", "grouping", "category", "other"}

// contextFromJSON validates a context and returns its registration.
func (c *collector) contextFromJSON(v any, path string, ver Version, objectType string) (string, error) {
	m, err := asObject(v, path)
	if err != nil {
		return "", err
	}
	allowed := []string{"registration", "instructor", "team", "contextActivities", "revision", "platform", "language", "statement", "extensions"}
	if ver.Is2() {
		allowed = append(allowed, "contextAgents", "contextGroups")
	}
	if err := onlyKeys(m, path, allowed...); err != nil {
		return "", err
	}
	reg, ok, err := optString(m, "registration", path)
	if err != nil {
		return "", err
	}
	if ok && !IsUUID(reg) {
		return "", invalid(path+".registration", "must be a UUID, got %q", reg)
	}
	if iv, ok := m["instructor"]; ok {
		a, err := actorFromJSON(iv, path+".instructor")
		if err != nil {
			return "", err
		}
		c.addAgent(a, false)
	}
	if tv, ok := m["team"]; ok {
		a, err := actorFromJSON(tv, path+".team")
		if err != nil {
			return "", err
		}
		if !a.IsGroup() {
			return "", invalid(path+".team", "must be a Group")
		}
		c.addAgent(a, false)
	}
	if cav, ok := m["contextActivities"]; ok {
		ca, err := asObject(cav, path+".contextActivities")
		if err != nil {
			return "", err
		}
		if err := onlyKeys(ca, path+".contextActivities", contextActivityKeys...); err != nil {
			return "", err
		}
		for _, k := range contextActivityKeys {
			lv, ok := ca[k]
			if !ok {
				continue
			}
			p := path + ".contextActivities." + k
			list, isList := lv.([]any)
			if !isList {
				// A single activity is allowed on input; the LRS
				// always returns an array.
				list = []any{lv}
				ca[k] = list
				c.s.normalised = true
			}
			for i, item := range list {
				ip := p + "[" + strconv.Itoa(i) + "]"
				am, err := asObject(item, ip)
				if err != nil {
					return "", err
				}
				if ot, ok, err := optString(am, "objectType", ip); err != nil {
					return "", err
				} else if ok && ot != "Activity" {
					return "", invalid(ip+".objectType", `must be "Activity", got %q`, ot)
				}
				id, def, err := activityFromJSON(am, ip)
				if err != nil {
					return "", err
				}
				c.addActivity(id, def, false)
			}
		}
	}
	for _, k := range []string{"revision", "platform"} {
		if _, ok, err := optString(m, k, path); err != nil {
			return "", err
		} else if ok && objectType != "Activity" {
			return "", invalid(path+"."+k, "may only be used when the statement's object is an Activity")
		}
	}
	if l, ok, err := optString(m, "language", path); err != nil {
		return "", err
	} else if ok && !IsLanguageTag(l) {
		return "", invalid(path+".language", "%q is not an RFC 5646 language tag", l)
	}
	if sv, ok := m["statement"]; ok {
		sm, err := asObject(sv, path+".statement")
		if err != nil {
			return "", err
		}
		ot, err := reqString(sm, "objectType", path+".statement")
		if err != nil {
			return "", err
		}
		if ot != "StatementRef" {
			return "", invalid(path+".statement.objectType", `must be "StatementRef", got %q`, ot)
		}
		if _, err := statementRefFromJSON(sm, path+".statement"); err != nil {
			return "", err
		}
	}
	if ev, ok := m["extensions"]; ok {
		if err := extensions(ev, path+".extensions"); err != nil {
			return "", err
		}
	}
	if ver.Is2() {
		if err := c.contextAgentsFromJSON(m, path, "contextAgents", "contextAgent", "agent"); err != nil {
			return "", err
		}
		if err := c.contextAgentsFromJSON(m, path, "contextGroups", "contextGroup", "group"); err != nil {
			return "", err
		}
	}
	return strings.ToLower(reg), nil
}

// contextAgentsFromJSON validates xAPI 2.0's contextAgents / contextGroups.
func (c *collector) contextAgentsFromJSON(m map[string]any, path, key, objectType, member string) error {
	v, ok := m[key]
	if !ok {
		return nil
	}
	p := path + "." + key
	list, ok := v.([]any)
	if !ok {
		return invalid(p, "must be an array, got %s", typeName(v))
	}
	for i, item := range list {
		ip := p + "[" + strconv.Itoa(i) + "]"
		im, err := asObject(item, ip)
		if err != nil {
			return err
		}
		if err := onlyKeys(im, ip, "objectType", member, "relevantTypes"); err != nil {
			return err
		}
		ot, err := reqString(im, "objectType", ip)
		if err != nil {
			return err
		}
		if ot != objectType {
			return invalid(ip+".objectType", "must be %q, got %q", objectType, ot)
		}
		av, ok := im[member]
		if !ok {
			return invalid(ip, "property %q is required", member)
		}
		a, err := actorFromJSON(av, ip+"."+member)
		if err != nil {
			return err
		}
		if member == "agent" && a.IsGroup() {
			return invalid(ip+".agent", "must be an Agent")
		}
		if member == "group" && !a.IsGroup() {
			return invalid(ip+".group", "must be a Group")
		}
		c.addAgent(a, false)
		if rv, ok := im["relevantTypes"]; ok {
			rl, ok := rv.([]any)
			if !ok || len(rl) == 0 {
				return invalid(ip+".relevantTypes", "must be a non-empty array of IRIs")
			}
			for j, r := range rl {
				rs, ok := r.(string)
				if !ok || !isIRI(rs) {
					return invalid(ip+".relevantTypes["+strconv.Itoa(j)+"]", "must be an IRI")
				}
			}
		}
	}
	return nil
}

func attachmentsFromJSON(v any, path string) ([]Attachment, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, invalid(path, "must be an array, got %s", typeName(v))
	}
	out := make([]Attachment, 0, len(list))
	for i, item := range list {
		p := path + "[" + strconv.Itoa(i) + "]"
		m, err := asObject(item, p)
		if err != nil {
			return nil, err
		}
		if err := onlyKeys(m, p, "usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"); err != nil {
			return nil, err
		}
		var a Attachment
		if a.UsageType, err = reqString(m, "usageType", p); err != nil {
			return nil, err
		}
		if !isIRI(a.UsageType) {
			return nil, invalid(p+".usageType", "must be an IRI, got %q", a.UsageType)
		}
		dv, ok := m["display"]
		if !ok {
			return nil, invalid(p, `property "display" is required`)
		}
		if err := languageMap(dv, p+".display"); err != nil {
			return nil, err
		}
		if dv, ok := m["description"]; ok {
			if err := languageMap(dv, p+".description"); err != nil {
				return nil, err
			}
		}
		if a.ContentType, err = reqString(m, "contentType", p); err != nil {
			return nil, err
		}
		if !mimeRE.MatchString(a.ContentType) {
			return nil, invalid(p+".contentType", "must be an Internet Media Type, got %q", a.ContentType)
		}
		lv, ok := m["length"]
		if !ok {
			return nil, invalid(p, `property "length" is required`)
		}
		n, ok := lv.(json.Number)
		if !ok {
			return nil, invalid(p+".length", "must be an integer, got %s", typeName(lv))
		}
		if a.Length, err = strconv.ParseInt(n.String(), 10, 64); err != nil || a.Length < 0 {
			return nil, invalid(p+".length", "must be a non-negative integer, got %s", n.String())
		}
		if a.SHA2, err = reqString(m, "sha2", p); err != nil {
			return nil, err
		}
		if !sha2RE.MatchString(a.SHA2) {
			return nil, invalid(p+".sha2", "must be a hexadecimal SHA-2 hash")
		}
		a.SHA2 = strings.ToLower(a.SHA2)
		if u, ok, err := optString(m, "fileUrl", p); err != nil {
			return nil, err
		} else if ok {
			if !isIRL(u) {
				return nil, invalid(p+".fileUrl", "must be an IRL, got %q", u)
			}
			a.FileURL = u
		}
		out = append(out, a)
	}
	return out, nil
}

var mimeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\s*;.*)?$`)

// sha2RE accepts the hex lengths of SHA-224, -256, -384 and -512.
var sha2RE = regexp.MustCompile(`^(?:[0-9a-fA-F]{56}|[0-9a-fA-F]{64}|[0-9a-fA-F]{96}|[0-9a-fA-F]{128})$`)

var durationRE = regexp.MustCompile(`^P(?:[0-9]+(?:[.,][0-9]+)?W|(?:[0-9]+(?:[.,][0-9]+)?Y)?(?:[0-9]+(?:[.,][0-9]+)?M)?(?:[0-9]+(?:[.,][0-9]+)?D)?(?:T(?:[0-9]+(?:[.,][0-9]+)?H)?(?:[0-9]+(?:[.,][0-9]+)?M)?(?:[0-9]+(?:[.,][0-9]+)?S)?)?)$`)

// IsDuration reports whether s is an ISO 8601 duration such as PT1H30M.
func IsDuration(s string) bool {
	if !durationRE.MatchString(s) || s == "P" || strings.HasSuffix(s, "T") {
		return false
	}
	return true
}

var timestampRE = regexp.MustCompile(`^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?(Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)?$`)

// ParseTimestamp parses an ISO 8601 combined date and time as xAPI uses
// it. An offset of -00, -0000 or -00:00 is rejected (RFC 3339 reserves it
// for unknown offsets); a missing offset is read as UTC.
func ParseTimestamp(s string) (time.Time, error) {
	sm := timestampRE.FindStringSubmatch(s)
	if sm == nil {
		return time.Time{}, errs.E(errs.Invalid, "%q is not an ISO 8601 timestamp", s)
	}
	off := sm[8]
	if strings.HasPrefix(off, "-") && strings.Trim(off[1:], "0:") == "" {
		return time.Time{}, errs.E(errs.Invalid, "%q has a negative zero offset, which is not allowed", s)
	}
	atoi := func(x string) int { n, _ := strconv.Atoi(x); return n }
	loc := time.UTC
	if off != "" && off != "Z" && off != "z" {
		digits := strings.ReplaceAll(off[1:], ":", "")
		h := atoi(digits[:2])
		mm := 0
		if len(digits) == 4 {
			mm = atoi(digits[2:])
		}
		if h > 23 || mm > 59 {
			return time.Time{}, errs.E(errs.Invalid, "%q has an invalid offset", s)
		}
		secs := h*3600 + mm*60
		if off[0] == '-' {
			secs = -secs
		}
		loc = time.FixedZone("", secs)
	}
	nanos := 0
	if frac := sm[7]; frac != "" {
		f := (frac[1:] + "000000000")[:9]
		nanos = atoi(f)
	}
	y, mo, d, hh, mi, ss := atoi(sm[1]), atoi(sm[2]), atoi(sm[3]), atoi(sm[4]), atoi(sm[5]), atoi(sm[6])
	if mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mi > 59 || ss > 60 {
		return time.Time{}, errs.E(errs.Invalid, "%q is not a valid date and time", s)
	}
	t := time.Date(y, time.Month(mo), d, hh, mi, ss, nanos, loc)
	if t.Day() != d {
		return time.Time{}, errs.E(errs.Invalid, "%q is not a valid date", s)
	}
	return t.UTC(), nil
}
