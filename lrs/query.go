package lrs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
)

// Format is the statements resource's format parameter.
type Format string

// The formats.
const (
	FormatExact     Format = "exact"
	FormatIDs       Format = "ids"
	FormatCanonical Format = "canonical"
)

// DefaultLimit and MaxLimit bound a page of statements.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Query is a GET on the statements resource, parsed and validated.
type Query struct {
	StatementID       string
	VoidedStatementID string
	Agent             *Actor
	Verb              string
	Activity          string
	Registration      string
	RelatedActivities bool
	RelatedAgents     bool
	Since, Until      time.Time
	Limit             int
	Format            Format
	Attachments       bool
	Ascending         bool
	// Version is the xAPI version the reader negotiated; a 1.0.x reader
	// gets statements stored under 2.0 converted (ForReader). It is not
	// part of a more token: each page is rendered for the request that
	// fetches it.
	Version Version

	// params are the filter parameters as given, carried in more tokens.
	params url.Values
	cursor int64
	maxSeq int64
}

var queryParams = map[string]bool{
	"statementId": true, "voidedStatementId": true, "agent": true, "verb": true, "activity": true,
	"registration": true, "related_activities": true, "related_agents": true, "since": true,
	"until": true, "limit": true, "format": true, "attachments": true, "ascending": true,
}

// ParseQuery validates the statements resource's GET parameters. Unknown
// parameters are rejected, as are statementId or voidedStatementId
// combined with anything but format and attachments.
func ParseQuery(params url.Values) (Query, error) {
	q := Query{Format: FormatExact, params: url.Values{}}
	for k, vs := range params {
		if !queryParams[k] {
			return Query{}, errs.E(errs.Invalid, "unknown parameter %q for the statements resource", k)
		}
		if len(vs) > 1 {
			return Query{}, errs.E(errs.Invalid, "parameter %q is given more than once", k)
		}
		if k != "format" && k != "attachments" {
			q.params[k] = vs
		}
	}
	get := params.Get
	has := func(k string) bool { _, ok := params[k]; return ok }
	for _, k := range []string{"statementId", "voidedStatementId"} {
		if !has(k) {
			continue
		}
		id := get(k)
		if !IsUUID(id) {
			return Query{}, errs.E(errs.Invalid, "%s must be a UUID, got %q", k, id)
		}
		for other := range params {
			if other != k && other != "format" && other != "attachments" {
				return Query{}, errs.E(errs.Invalid, "%s cannot be combined with %s", k, other)
			}
		}
		if k == "statementId" {
			q.StatementID = strings.ToLower(id)
		} else {
			q.VoidedStatementID = strings.ToLower(id)
		}
	}
	if has("agent") {
		a, err := ParseActor([]byte(get("agent")))
		if err != nil {
			return Query{}, errs.E(errs.Invalid, "agent parameter: %s", errs.MessageOf(err))
		}
		if !a.IsIdentified() {
			return Query{}, errs.E(errs.Invalid, "agent parameter must identify an Agent or Group")
		}
		q.Agent = &a
	}
	if has("verb") {
		if q.Verb = get("verb"); !isIRI(q.Verb) {
			return Query{}, errs.E(errs.Invalid, "verb must be an IRI, got %q", q.Verb)
		}
	}
	if has("activity") {
		if q.Activity = get("activity"); !isIRI(q.Activity) {
			return Query{}, errs.E(errs.Invalid, "activity must be an IRI, got %q", q.Activity)
		}
	}
	if has("registration") {
		if q.Registration = get("registration"); !IsUUID(q.Registration) {
			return Query{}, errs.E(errs.Invalid, "registration must be a UUID, got %q", q.Registration)
		}
		q.Registration = strings.ToLower(q.Registration)
	}
	var err error
	if q.RelatedActivities, err = boolParam(params, "related_activities"); err != nil {
		return Query{}, err
	}
	if q.RelatedAgents, err = boolParam(params, "related_agents"); err != nil {
		return Query{}, err
	}
	if q.Attachments, err = boolParam(params, "attachments"); err != nil {
		return Query{}, err
	}
	if q.Ascending, err = boolParam(params, "ascending"); err != nil {
		return Query{}, err
	}
	for _, k := range []string{"since", "until"} {
		if !has(k) {
			continue
		}
		t, err := ParseTimestamp(get(k))
		if err != nil {
			return Query{}, errs.E(errs.Invalid, "%s: %s", k, errs.MessageOf(err))
		}
		if k == "since" {
			q.Since = t
		} else {
			q.Until = t
		}
	}
	q.Limit = DefaultLimit
	if has("limit") {
		n, err := strconv.Atoi(get("limit"))
		if err != nil || n < 0 {
			return Query{}, errs.E(errs.Invalid, "limit must be a non-negative integer, got %q", get("limit"))
		}
		if n == 0 || n > MaxLimit {
			n = MaxLimit
		}
		q.Limit = n
	}
	if has("format") {
		switch f := Format(get("format")); f {
		case FormatExact, FormatIDs, FormatCanonical:
			q.Format = f
		default:
			return Query{}, errs.E(errs.Invalid, `format must be "ids", "exact" or "canonical", got %q`, f)
		}
	}
	return q, nil
}

func boolParam(params url.Values, k string) (bool, error) {
	vs, ok := params[k]
	if !ok {
		return false, nil
	}
	switch vs[0] {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errs.E(errs.Invalid, `%s must be "true" or "false", got %q`, k, vs[0])
}

// moreToken is what a more IRL carries: the original filters and where
// the next page starts.
type moreToken struct {
	P string `json:"p"`
	C int64  `json:"c"`
	M int64  `json:"m"`
	F string `json:"f,omitempty"`
	A bool   `json:"a,omitempty"`
}

// ParseMore rebuilds the query a more token continues.
func ParseMore(token string) (Query, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return Query{}, errs.E(errs.Invalid, "more token is malformed")
	}
	var t moreToken
	if err := json.Unmarshal(raw, &t); err != nil {
		return Query{}, errs.E(errs.Invalid, "more token is malformed")
	}
	params, err := url.ParseQuery(t.P)
	if err != nil {
		return Query{}, errs.E(errs.Invalid, "more token is malformed")
	}
	if t.F != "" {
		params.Set("format", t.F)
	}
	if t.A {
		params.Set("attachments", "true")
	}
	q, err := ParseQuery(params)
	if err != nil {
		return Query{}, err
	}
	q.cursor, q.maxSeq = t.C, t.M
	return q, nil
}

func (q Query) moreToken(cursor int64) string {
	t := moreToken{P: q.params.Encode(), C: cursor, M: q.maxSeq, A: q.Attachments}
	if q.Format != FormatExact {
		t.F = string(q.Format)
	}
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Result is the answer to a statements query.
type Result struct {
	// Statements are the statements, rendered in the query's format.
	Statements []json.RawMessage
	// Single is true when the query named one statement (statementId or
	// voidedStatementId): the answer is that statement, not a
	// StatementResult.
	Single bool
	// More is the token for the next page, or "".
	More string
	// LastModified is the latest stored time of the statements of a
	// query page (zero for a single statement or an empty page).
	LastModified time.Time
	// Attachments lists the hashes of the statements' attachments whose
	// bytes the LRS holds, when the query asked for attachments.
	Attachments []string
}

// Query answers a GET on the statements resource.
func (s *Service) Query(ctx context.Context, p auth.Principal, q Query, langs []string) (Result, error) {
	// A principal that may read only its own statements sees those it is
	// the authority of, or, when it is limited to one learner (a launch
	// token), those whose actor or object is that learner.
	mine, mineKind := "", TermAuthority
	switch {
	case p.CanReadAll():
	case p.Has(auth.ScopeStatementsReadMine) && len(p.Actor) > 0:
		a, err := ParseActor(p.Actor)
		if err != nil {
			return Result{}, errs.Wrap(errs.Internal, err, "principal actor")
		}
		mine, mineKind = a.Key(), TermAgent
	case p.Has(auth.ScopeStatementsReadMine):
		_, key, err := principalAuthority(p)
		if err != nil {
			return Result{}, err
		}
		mine = key
	default:
		return Result{}, errs.E(errs.Forbidden, "these credentials may not read statements (scope statements/read)")
	}
	if q.StatementID != "" || q.VoidedStatementID != "" {
		id, voided := q.StatementID, false
		if id == "" {
			id, voided = q.VoidedStatementID, true
		}
		body, err := s.store.GetStatement(ctx, p.BoroughID, id, voided)
		if err != nil {
			return Result{}, err
		}
		if mine != "" && !readableBy(body, mine, mineKind) {
			return Result{}, errs.E(errs.NotFound, "no statement %s", id)
		}
		out, atts, err := render(body, q.Format, langs, q.Attachments, q.Version)
		if err != nil {
			return Result{}, err
		}
		return Result{Statements: []json.RawMessage{out}, Single: true, Attachments: atts}, nil
	}
	sq := StoreQuery{Since: q.Since, Until: q.Until, Ascending: q.Ascending, Limit: q.Limit, Cursor: q.cursor, MaxSeq: q.maxSeq}
	// Terms go most selective first (registration, agent, activity, then
	// verb): the store walks the first one's index.
	if q.Registration != "" {
		sq.Terms = append(sq.Terms, Term{TermRegistration, q.Registration})
	}
	if q.Agent != nil {
		k := TermAgent
		if q.RelatedAgents {
			k = TermRelatedAgent
		}
		sq.Terms = append(sq.Terms, Term{k, q.Agent.Key()})
	}
	if mine != "" {
		sq.Terms = append(sq.Terms, Term{mineKind, mine})
	}
	switch {
	case q.Activity != "" && q.Verb != "" && !q.RelatedActivities:
		sq.Terms = append(sq.Terms, Term{TermVerbActivity, VerbActivity(q.Verb, q.Activity)})
	default:
		if q.Activity != "" {
			k := TermActivity
			if q.RelatedActivities {
				k = TermRelatedActivity
			}
			sq.Terms = append(sq.Terms, Term{k, q.Activity})
		}
		if q.Verb != "" {
			sq.Terms = append(sq.Terms, Term{TermVerb, q.Verb})
		}
	}
	if sq.MaxSeq == 0 {
		max, err := s.store.MaxSeq(ctx)
		if err != nil {
			return Result{}, err
		}
		sq.MaxSeq = max
		q.maxSeq = max
	}
	rows, err := s.store.QueryStatements(ctx, p.BoroughID, sq)
	if err != nil {
		return Result{}, err
	}
	res := Result{Statements: make([]json.RawMessage, 0, len(rows))}
	if len(rows) > q.Limit {
		rows = rows[:q.Limit]
		res.More = q.moreToken(rows[len(rows)-1].Seq)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if r.Stored.After(res.LastModified) {
			res.LastModified = r.Stored
		}
		out, atts, err := render(r.Body, q.Format, langs, q.Attachments, q.Version)
		if err != nil {
			return Result{}, err
		}
		res.Statements = append(res.Statements, out)
		for _, a := range atts {
			if !seen[a] {
				seen[a] = true
				res.Attachments = append(res.Attachments, a)
			}
		}
	}
	return res, nil
}

// readableBy reports whether a stored statement is one a read/mine
// principal may see: by authority, or by actor or object agent.
func readableBy(body []byte, key string, kind TermKind) bool {
	var st struct {
		Authority json.RawMessage `json:"authority"`
		Actor     json.RawMessage `json:"actor"`
		Object    json.RawMessage `json:"object"`
	}
	if json.Unmarshal(body, &st) != nil {
		return false
	}
	if kind == TermAgent {
		for _, raw := range []json.RawMessage{st.Actor, st.Object} {
			if a, err := ParseActor(raw); err == nil && a.Key() == key {
				return true
			}
		}
		return false
	}
	a, err := ParseActor(st.Authority)
	if err != nil {
		return false
	}
	if a.Key() == key {
		return true
	}
	for _, m := range a.Member {
		if m.Key() == key {
			return true
		}
	}
	return false
}

// render returns a stored statement in the requested format for a reader
// of version ver (see ForReader) and, when wanted, the hashes of its
// attachments that travel as parts.
func render(body []byte, f Format, langs []string, wantAtts bool, ver Version) (json.RawMessage, []string, error) {
	if f == FormatExact && !wantAtts {
		out, err := ForReader(body, ver)
		return out, nil, err
	}
	tree, err := decodeJSON(body)
	if err != nil {
		return nil, nil, errs.Wrap(errs.Internal, err, "stored statement")
	}
	m, _ := tree.(map[string]any)
	var atts []string
	if wantAtts {
		atts = attachmentHashes(m)
		if sub, ok := m["object"].(map[string]any); ok && sub["objectType"] == "SubStatement" {
			atts = append(atts, attachmentHashes(sub)...)
		}
	}
	switch f {
	case FormatIDs:
		if ver.is1() {
			downgradeTree(m)
		}
		idsFormat(m)
	case FormatCanonical:
		if ver.is1() {
			downgradeTree(m)
		}
		canonicalFormat(m, langs)
	case FormatExact:
		out, err := ForReader(body, ver)
		return out, atts, err
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, nil, errs.Wrap(errs.Internal, err, "render statement")
	}
	return out, atts, nil
}

func attachmentHashes(m map[string]any) []string {
	var out []string
	list, _ := m["attachments"].([]any)
	for _, a := range list {
		am, _ := a.(map[string]any)
		if h, ok := am["sha2"].(string); ok {
			out = append(out, strings.ToLower(h))
		}
	}
	return out
}

// idsFormat reduces Agents, Groups, Activities and Verbs to their
// identifiers, in place.
func idsFormat(m map[string]any) {
	for _, k := range []string{"actor", "authority"} {
		if v, ok := m[k].(map[string]any); ok {
			m[k] = idsActor(v)
		}
	}
	if v, ok := m["verb"].(map[string]any); ok {
		m["verb"] = map[string]any{"id": v["id"]}
	}
	if o, ok := m["object"].(map[string]any); ok {
		switch o["objectType"] {
		case "Agent", "Group":
			m["object"] = idsActor(o)
		case "SubStatement":
			idsFormat(o)
		case "StatementRef":
		default:
			m["object"] = map[string]any{"id": o["id"]}
		}
	}
	if c, ok := m["context"].(map[string]any); ok {
		for _, k := range []string{"instructor", "team"} {
			if v, ok := c[k].(map[string]any); ok {
				c[k] = idsActor(v)
			}
		}
		if ca, ok := c["contextActivities"].(map[string]any); ok {
			for k, lv := range ca {
				list, _ := lv.([]any)
				for i, a := range list {
					if am, ok := a.(map[string]any); ok {
						list[i] = map[string]any{"id": am["id"]}
					}
				}
				ca[k] = list
			}
		}
		for _, k := range []string{"contextAgents", "contextGroups"} {
			list, _ := c[k].([]any)
			for _, item := range list {
				im, _ := item.(map[string]any)
				for _, mk := range []string{"agent", "group"} {
					if v, ok := im[mk].(map[string]any); ok {
						im[mk] = idsActor(v)
					}
				}
			}
		}
	}
}

func idsActor(m map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range []string{"objectType", "mbox", "mbox_sha1sum", "openid", "account"} {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	_, hasIFI := out["mbox"]
	for _, k := range []string{"mbox_sha1sum", "openid", "account"} {
		if _, ok := out[k]; ok {
			hasIFI = true
		}
	}
	if members, ok := m["member"].([]any); ok && !hasIFI {
		list := make([]any, 0, len(members))
		for _, mem := range members {
			if mm, ok := mem.(map[string]any); ok {
				list = append(list, idsActor(mm))
			}
		}
		out["member"] = list
	}
	return out
}

// canonicalFormat keeps one language in every language map: the first of
// langs the map has, else "und", else any one (the first in order).
func canonicalFormat(v any, langs []string) {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			switch k {
			case "display", "name", "description":
				if lm, ok := child.(map[string]any); ok && isLangMap(lm) {
					t[k] = pickLanguage(lm, langs)
					continue
				}
			case "extensions":
				continue
			}
			canonicalFormat(child, langs)
		}
	case []any:
		for _, c := range t {
			canonicalFormat(c, langs)
		}
	}
}

func isLangMap(m map[string]any) bool {
	for k, v := range m {
		if _, ok := v.(string); !ok || !IsLanguageTag(k) {
			return false
		}
	}
	return true
}

func pickLanguage(lm map[string]any, langs []string) map[string]any {
	if len(lm) <= 1 {
		return lm
	}
	for _, want := range langs {
		for k, v := range lm {
			if strings.EqualFold(k, want) {
				return map[string]any{k: v}
			}
		}
		// A request for "en" is served by "en-GB" and the like.
		for k, v := range lm {
			if strings.HasPrefix(strings.ToLower(k), strings.ToLower(want)+"-") {
				return map[string]any{k: v}
			}
		}
	}
	if v, ok := lm["und"]; ok {
		return map[string]any{"und": v}
	}
	keys := sortedKeys(lm)
	return map[string]any{keys[0]: lm[keys[0]]}
}

// ParseAcceptLanguage returns the language ranges of an Accept-Language
// header, most preferred first.
func ParseAcceptLanguage(h string) []string {
	type ranked struct {
		tag string
		q   float64
	}
	var list []ranked
	for _, part := range strings.Split(h, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		tag, qs, _ := strings.Cut(part, ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(qs), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if tag = strings.TrimSpace(tag); tag != "*" && q > 0 {
			list = append(list, ranked{tag, q})
		}
	}
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && list[j].q > list[j-1].q; j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
	out := make([]string, len(list))
	for i, r := range list {
		out[i] = r.tag
	}
	return out
}
