package manifest

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// CMI5File is the cmi5 course structure's name at the package root.
const CMI5File = "cmi5.xml"

// CMI5Namespace is the target namespace of CourseStructure.xsd; every
// element the schema defines must be in it (elementFormDefault="qualified").
const CMI5Namespace = "https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd"

// xsiNamespace attributes (xsi:schemaLocation and friends) are allowed on
// any element by XML Schema itself.
const xsiNamespace = "http://www.w3.org/2001/XMLSchema-instance"

// cmi5LaunchParams are the query parameter names the LMS adds at launch
// (cmi5 8.1); an AU URL that already carries one is refused (8.1.0.0-6).
var cmi5LaunchParams = []string{"endpoint", "fetch", "actor", "registration", "activityId"}

// The rules of the cmi5 specification a course structure can break, as
// numbered in its requirement list (CATAPULT requirements.json). Error
// messages end with the rule, so an author can look it up.
const (
	ruleXSD            = "CourseStructure.xsd, cmi5 13.2.0.0-1"
	ruleIRI            = "cmi5 3.0.0.0-1: IRIs must be fully qualified"
	ruleBlockUnique    = "cmi5 13.1.2.0-1: ids must be unique in the course structure"
	ruleObjectiveUniq  = "cmi5 13.1.3.0-1: ids must be unique in the course structure"
	ruleAUUnique       = "cmi5 13.1.4.0-1: ids must be unique in the course structure"
	ruleURL            = "cmi5 13.1.4.0-2: the url must conform to RFC 1738"
	ruleQueryConflict  = "cmi5 8.1.0.0-6"
	ruleObjectiveRef   = "cmi5 13.1.3: an objective reference must name an objective of the course structure"
	ruleStandaloneURL  = "cmi5 14.2.0.0-1: a course structure without a zip must use fully qualified URLs"
	ruleReachHTTPOnly  = "Reach launches AUs in a web browser"
	rulePackagePath    = "cmi5 14.1.0.0-3: a url is fully qualified or relative to the package root"
	xsdCourseOrder     = "<title>, <description>"
	xsdStructureOrder  = "<course>, <objectives>?, then <au> and <block> elements"
	xsdBlockOrder      = "<title>, <description>, <objectives>?, then <au> and <block> elements"
	xsdAUOrder         = "<title>, <description>, <objectives>?, <url>, <launchParameters>?, <entitlementKey>?"
	xsdTextOrder       = "one or more <langstring>"
	xsdObjectivesOrder = "one or more <objective>"
)

// ParseCMI5 parses a cmi5 course structure. The document is checked
// against CourseStructure.xsd (cmi5 §14: namespace, element order,
// required elements and attributes, attribute types, extension elements
// only in other namespaces and only where the schema has a wildcard) and
// against the import rules of the cmi5 specification's LMS requirements
// (§3, §8.1, §13): ids are fully qualified IRIs and unique, objective
// references name declared objectives, AU URLs conform to RFC 1738 and
// do not carry the launch parameters the LMS adds. Each error names the
// element and the rule it breaks. Leading and trailing whitespace of every
// value is removed (13.1.0.0-1).
func ParseCMI5(data []byte) (*Manifest, error) {
	root, err := parseTree(CMI5File, data)
	if err != nil {
		return nil, err
	}
	p := &cmi5Parser{ids: map[string]string{}, declared: map[string]bool{}}
	if root.Name.Local != "courseStructure" || root.Name.Space != CMI5Namespace {
		if strings.EqualFold(root.Name.Local, "courseStructure") {
			return nil, p.errf("<"+root.Name.Local+">", "is in namespace %q; a cmi5 course structure is <courseStructure xmlns=%q> (%s)", root.Name.Space, CMI5Namespace, ruleXSD)
		}
		return nil, p.errf("", "root element is <%s>; a cmi5 course structure starts with <courseStructure xmlns=%q> (%s)", root.Name.Local, CMI5Namespace, ruleXSD)
	}
	m := &Manifest{Type: TypeCMI5}
	var refs []objectiveRef
	err = p.sequence(root, "<courseStructure>", xsdStructureOrder, []step{
		{names: []string{"course"}, min: 1, max: 1, fn: func(n *node) error { return p.course(n, &m.Course) }},
		{names: []string{"objectives"}, max: 1, fn: func(n *node) error {
			objs, err := p.objectives(n)
			m.Course.Objectives = objs
			return err
		}},
		{names: []string{"au", "block"}, min: 1, max: -1, fn: func(n *node) error {
			return p.member(n, &m.Course.Blocks, &m.Course.AUs, &refs)
		}},
	})
	if err != nil {
		return nil, err
	}
	if err := p.attrs(root, "<courseStructure>", nil, true); err != nil {
		return nil, err
	}
	// References are checked once every objective is known; the schema
	// puts <objectives> first, so this is only for the error's wording.
	for _, r := range refs {
		if !p.declared[r.id] {
			return nil, p.errf(r.where, "<objective idref=%q> names no objective declared in <courseStructure><objectives> (%s)", r.id, ruleObjectiveRef)
		}
	}
	return m, nil
}

type cmi5Parser struct {
	ids      map[string]string // id → where it was first used, for duplicate errors
	declared map[string]bool
	seq      int
}

type objectiveRef struct{ id, where string }

func (p *cmi5Parser) errf(where, format string, args ...any) error {
	return &Error{File: CMI5File, Where: where, Msg: fmt.Sprintf(format, args...)}
}

// step is one particle of an XSD sequence: elements of the cmi5 namespace
// named names, between min and max times (max -1: unbounded).
type step struct {
	names    []string
	min, max int
	fn       func(*node) error
}

func (s step) matches(n *node) bool {
	if n.Name.Space != CMI5Namespace {
		return false
	}
	for _, name := range s.names {
		if n.Name.Local == name {
			return true
		}
	}
	return false
}

func (s step) label() string {
	var out []string
	for _, n := range s.names {
		out = append(out, "<"+n+">")
	}
	return strings.Join(out, " or ")
}

// sequence checks n's children against steps in order, followed by the
// schema's trailing wildcard (xs:any namespace="##other"): anything after
// the last step must be an element of another namespace. Character data
// other than whitespace is refused (element-only content).
func (p *cmi5Parser) sequence(n *node, where, order string, steps []step) error {
	if strings.TrimSpace(n.Text) != "" {
		return p.errf(where, "has text %q outside its child elements (%s)", abbreviate(strings.TrimSpace(n.Text)), ruleXSD)
	}
	kids := n.Children
	i := 0
	for _, st := range steps {
		count := 0
		for i < len(kids) && (st.max < 0 || count < st.max) && st.matches(kids[i]) {
			if err := st.fn(kids[i]); err != nil {
				return err
			}
			i++
			count++
		}
		if count < st.min {
			if i < len(kids) {
				return p.errf(where, "found %s where %s is expected; the children must be %s, in that order (%s)", describe(kids[i]), st.label(), order, ruleXSD)
			}
			return p.errf(where, "has no %s; the children must be %s, in that order (%s)", st.label(), order, ruleXSD)
		}
	}
	for ; i < len(kids); i++ {
		if err := p.extension(kids[i], where, order); err != nil {
			return err
		}
	}
	return nil
}

// extension checks an element found where the schema's wildcard is: it
// must be in a namespace other than cmi5's (and not in no namespace).
func (p *cmi5Parser) extension(k *node, where, order string) error {
	switch k.Name.Space {
	case CMI5Namespace:
		return p.errf(where, "%s is not allowed here; the children must be %s, in that order, then extension elements of other namespaces (%s)", describe(k), order, ruleXSD)
	case "":
		return p.errf(where, "%s has no namespace; extension elements must be in a namespace of their own, and cmi5 elements in %q (%s)", describe(k), CMI5Namespace, ruleXSD)
	}
	return nil
}

func describe(n *node) string {
	if n.Name.Space == CMI5Namespace || n.Name.Space == "" {
		return "<" + n.Name.Local + ">"
	}
	return fmt.Sprintf("<%s xmlns=%q>", n.Name.Local, n.Name.Space)
}

func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// attrs checks n's attributes: unqualified ones must be in allowed (the
// schema's declared attributes); attributes of other namespaces are
// allowed where the schema has xs:anyAttribute namespace="##other"
// (anyOther), xsi: ones always, and none in the cmi5 namespace.
func (p *cmi5Parser) attrs(n *node, where string, allowed []string, anyOther bool) error {
	for _, a := range n.Attrs {
		switch {
		case a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns"):
			continue // namespace declarations are not attributes to the schema
		case a.Name.Space == xsiNamespace:
			continue
		case a.Name.Space == "":
			ok := false
			for _, name := range allowed {
				if a.Name.Local == name {
					ok = true
				}
			}
			if !ok {
				return p.errf(where, "attribute %s is not allowed here (%s)", a.Name.Local, ruleXSD)
			}
		case a.Name.Space == CMI5Namespace || !anyOther:
			return p.errf(where, "attribute %s (namespace %q) is not allowed here (%s)", a.Name.Local, a.Name.Space, ruleXSD)
		}
	}
	return nil
}

// collapse applies the XSD whiteSpace="collapse" facet (anyURI, decimal,
// language): runs of whitespace become one space, and the ends are trimmed.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// idAttr reads a required IRI id attribute (xs:anyURI, and a fully
// qualified IRI by cmi5 3.0.0.0-1).
func (p *cmi5Parser) idAttr(n *node, el, attr string) (string, error) {
	raw, ok := plainAttr(n, attr)
	if !ok {
		return "", p.errf(where(el, "", ""), "attribute %s is missing (%s)", attr, ruleXSD)
	}
	v := collapse(raw)
	if err := checkIRI(v); err != nil {
		return "", p.errf(where(el, "", ""), "attribute %s %q is not a fully qualified IRI: %v (%s)", attr, v, err, ruleIRI)
	}
	return v, nil
}

// plainAttr returns the unqualified attribute name, case-sensitively as the
// schema requires.
func plainAttr(n *node, name string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

var iriScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.\-]*:`)

// checkIRI accepts an absolute IRI (RFC 3987): a scheme, then characters
// an IRI may hold, with well-formed percent-escapes. Relative references
// ("w3id.org/x", "/x", "#x") are refused, as cmi5 3.0.0.0-1 requires.
func checkIRI(v string) error {
	if v == "" {
		return fmt.Errorf("it is empty")
	}
	if !iriScheme.MatchString(v) {
		return fmt.Errorf("it has no scheme (such as https:)")
	}
	if err := checkURIChars(v, true); err != nil {
		return err
	}
	rest := v[strings.Index(v, ":")+1:]
	if rest == "" {
		return fmt.Errorf("nothing follows the scheme")
	}
	if _, err := url.Parse(v); err != nil {
		return fmt.Errorf("it does not parse")
	}
	return nil
}

// checkURIChars refuses characters no URI (RFC 1738/3986) or, when iri,
// IRI (RFC 3987) may hold literally, and malformed percent-escapes.
func checkURIChars(v string, iri bool) error {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c <= 0x20 || c == 0x7f:
			if c == ' ' {
				return fmt.Errorf("it contains a space (write %%20)")
			}
			return fmt.Errorf("it contains a control character")
		case c >= 0x80:
			if !iri {
				return fmt.Errorf("it contains a non-ASCII character (percent-encode it)")
			}
		case strings.IndexByte(`<>"{}|\^`+"`", c) >= 0:
			return fmt.Errorf("it contains %q, which must be percent-encoded", string(c))
		case c == '%':
			if i+2 >= len(v) || !isHex(v[i+1]) || !isHex(v[i+2]) {
				return fmt.Errorf("it has a %% not followed by two hex digits")
			}
		}
	}
	if strings.Count(v, "#") > 1 {
		return fmt.Errorf("it has more than one #")
	}
	return nil
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func (p *cmi5Parser) unique(el, id, rule string) error {
	if prev, ok := p.ids[id]; ok {
		return p.errf(el, "id %q is already used by %s (%s)", id, prev, rule)
	}
	p.ids[id] = el
	return nil
}

// text reads a textType element (title, description): one or more
// <langstring> with an optional xs:language lang attribute, then
// extension elements. It returns the preferred language's string.
func (p *cmi5Parser) text(n *node, where string) (string, error) {
	where += " <" + n.Name.Local + ">"
	if err := p.attrs(n, where, nil, true); err != nil {
		return "", err
	}
	err := p.sequence(n, where, xsdTextOrder, []step{{names: []string{"langstring"}, min: 1, max: -1, fn: func(ls *node) error {
		if len(ls.Children) > 0 {
			return p.errf(where+" <langstring>", "contains the element %s; a langstring holds only text (%s)", describe(ls.Children[0]), ruleXSD)
		}
		if err := p.attrs(ls, where+" <langstring>", []string{"lang"}, true); err != nil {
			return err
		}
		if lang, ok := plainAttr(ls, "lang"); ok && !xsLanguage.MatchString(collapse(lang)) {
			return p.errf(where+" <langstring>", "attribute lang %q is not a language tag such as en-GB (xs:language, %s)", lang, ruleXSD)
		}
		return nil
	}}})
	if err != nil {
		return "", err
	}
	return langString(n, "langstring"), nil
}

var xsLanguage = regexp.MustCompile(`^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$`)

func (p *cmi5Parser) course(n *node, c *Course) error {
	id, err := p.idAttr(n, "course", "id")
	if err != nil {
		return err
	}
	el := where("course", "id", id)
	if err := p.unique(el, id, ruleAUUnique); err != nil {
		return err
	}
	if err := p.attrs(n, el, []string{"id"}, true); err != nil {
		return err
	}
	c.ID = id
	return p.sequence(n, el, xsdCourseOrder, []step{
		{names: []string{"title"}, min: 1, max: 1, fn: func(t *node) (err error) { c.Title, err = p.text(t, el); return }},
		{names: []string{"description"}, min: 1, max: 1, fn: func(t *node) (err error) { c.Description, err = p.text(t, el); return }},
	})
}

// objectives reads the course's objective definitions (objectivesType):
// each <objective id> holds exactly one <title> and one <description>, in
// either order (xs:all), and nothing else.
func (p *cmi5Parser) objectives(n *node) ([]Objective, error) {
	const at = "<courseStructure> <objectives>"
	if err := p.attrs(n, at, nil, true); err != nil {
		return nil, err
	}
	var out []Objective
	err := p.sequence(n, at, xsdObjectivesOrder, []step{{names: []string{"objective"}, min: 1, max: -1, fn: func(o *node) error {
		id, err := p.idAttr(o, "objective", "id")
		if err != nil {
			return err
		}
		el := where("objective", "id", id)
		if err := p.unique(el, id, ruleObjectiveUniq); err != nil {
			return err
		}
		if err := p.attrs(o, el, []string{"id"}, false); err != nil {
			return err
		}
		if strings.TrimSpace(o.Text) != "" {
			return p.errf(el, "has text outside its child elements (%s)", ruleXSD)
		}
		obj := Objective{ID: id}
		seen := map[string]bool{}
		for _, k := range o.Children {
			if k.Name.Space != CMI5Namespace || (k.Name.Local != "title" && k.Name.Local != "description") {
				return p.errf(el, "%s is not allowed; an objective holds one <title> and one <description> (%s)", describe(k), ruleXSD)
			}
			if seen[k.Name.Local] {
				return p.errf(el, "has more than one <%s> (%s)", k.Name.Local, ruleXSD)
			}
			seen[k.Name.Local] = true
			s, err := p.text(k, el)
			if err != nil {
				return err
			}
			if k.Name.Local == "title" {
				obj.Title = s
			} else {
				obj.Description = s
			}
		}
		for _, need := range []string{"title", "description"} {
			if !seen[need] {
				return p.errf(el, "has no <%s> (%s)", need, ruleXSD)
			}
		}
		p.declared[id] = true
		out = append(out, obj)
		return nil
	}}})
	return out, err
}

// objectiveRefs reads a block's or AU's <objectives> (referencesObjectivesType):
// empty <objective idref> elements, then extension elements.
func (p *cmi5Parser) objectiveRefs(n *node, el string, refs *[]objectiveRef) ([]Objective, error) {
	at := el + " <objectives>"
	if err := p.attrs(n, at, nil, true); err != nil {
		return nil, err
	}
	var out []Objective
	err := p.sequence(n, at, xsdObjectivesOrder, []step{{names: []string{"objective"}, min: 1, max: -1, fn: func(o *node) error {
		if len(o.Children) > 0 || strings.TrimSpace(o.Text) != "" {
			return p.errf(at, "<objective> references an objective and must be empty (%s)", ruleXSD)
		}
		if err := p.attrs(o, at+" <objective>", []string{"idref"}, false); err != nil {
			return err
		}
		raw, ok := plainAttr(o, "idref")
		if !ok {
			return p.errf(at+" <objective>", "has no idref (%s)", ruleObjectiveRef)
		}
		id := collapse(raw)
		if err := checkIRI(id); err != nil {
			return p.errf(at+" <objective>", "attribute idref %q is not a fully qualified IRI: %v (%s)", id, err, ruleIRI)
		}
		*refs = append(*refs, objectiveRef{id: id, where: el})
		out = append(out, Objective{ID: id})
		return nil
	}}})
	return out, err
}

// member reads one <au> or <block> of a level.
func (p *cmi5Parser) member(n *node, blocks *[]Block, aus *[]AU, refs *[]objectiveRef) error {
	if n.Name.Local == "au" {
		au, err := p.au(n, refs)
		if err != nil {
			return err
		}
		*aus = append(*aus, au)
		return nil
	}
	b, err := p.block(n, refs)
	if err != nil {
		return err
	}
	*blocks = append(*blocks, b)
	return nil
}

func (p *cmi5Parser) block(n *node, refs *[]objectiveRef) (Block, error) {
	id, err := p.idAttr(n, "block", "id")
	if err != nil {
		return Block{}, err
	}
	el := where("block", "id", id)
	if err := p.unique(el, id, ruleBlockUnique); err != nil {
		return Block{}, err
	}
	if err := p.attrs(n, el, []string{"id"}, true); err != nil {
		return Block{}, err
	}
	p.seq++
	b := Block{ID: id, Seq: p.seq}
	err = p.sequence(n, el, xsdBlockOrder, []step{
		{names: []string{"title"}, min: 1, max: 1, fn: func(t *node) (err error) { b.Title, err = p.text(t, el); return }},
		{names: []string{"description"}, min: 1, max: 1, fn: func(t *node) (err error) { b.Description, err = p.text(t, el); return }},
		{names: []string{"objectives"}, max: 1, fn: func(t *node) (err error) { b.Objectives, err = p.objectiveRefs(t, el, refs); return }},
		{names: []string{"au", "block"}, min: 1, max: -1, fn: func(k *node) error { return p.member(k, &b.Blocks, &b.AUs, refs) }},
	})
	return b, err
}

func (p *cmi5Parser) au(n *node, refs *[]objectiveRef) (AU, error) {
	id, err := p.idAttr(n, "au", "id")
	if err != nil {
		return AU{}, err
	}
	el := where("au", "id", id)
	if err := p.unique(el, id, ruleAUUnique); err != nil {
		return AU{}, err
	}
	if err := p.attrs(n, el, []string{"id", "moveOn", "masteryScore", "launchMethod", "activityType"}, true); err != nil {
		return AU{}, err
	}
	p.seq++
	au := AU{ID: id, Kind: KindAU, Seq: p.seq, MoveOn: defaultMoveOn, LaunchMethod: defaultLaunchMethod}
	// moveOn and launchMethod are enumerations of xs:string, whose
	// whitespace is preserved: the value must be exactly one of them.
	if v, ok := plainAttr(n, "moveOn"); ok {
		switch v {
		case MoveOnPassed, MoveOnCompleted, MoveOnCompletedAndPassed, MoveOnCompletedOrPassed, MoveOnNotApplicable:
			au.MoveOn = v
		default:
			return AU{}, p.errf(el, "attribute moveOn %q is not one of Passed, Completed, CompletedAndPassed, CompletedOrPassed, NotApplicable (%s)", v, ruleXSD)
		}
	}
	if v, ok := plainAttr(n, "launchMethod"); ok {
		switch v {
		case LaunchMethodAnyWindow, LaunchMethodOwnWindow:
			au.LaunchMethod = v
		default:
			return AU{}, p.errf(el, "attribute launchMethod %q is not AnyWindow or OwnWindow (%s)", v, ruleXSD)
		}
	}
	if v, ok := plainAttr(n, "masteryScore"); ok {
		f, ok := xsDecimal(collapse(v))
		if !ok || f < 0 || f > 1 {
			return AU{}, p.errf(el, "attribute masteryScore %q must be a decimal from 0 to 1 (xs:decimal, %s)", v, ruleXSD)
		}
		au.MasteryScore = &f
	}
	if v, ok := plainAttr(n, "activityType"); ok {
		// xs:string in the schema, but an IRI in cmi5 13.1.4.
		v = strings.TrimSpace(v)
		if err := checkIRI(v); err != nil {
			return AU{}, p.errf(el, "attribute activityType %q is not a fully qualified IRI: %v (%s)", v, err, ruleIRI)
		}
		au.ActivityType = v
	}
	var rawURL string
	err = p.sequence(n, el, xsdAUOrder, []step{
		{names: []string{"title"}, min: 1, max: 1, fn: func(t *node) (err error) { au.Title, err = p.text(t, el); return }},
		{names: []string{"description"}, min: 1, max: 1, fn: func(t *node) (err error) { au.Description, err = p.text(t, el); return }},
		{names: []string{"objectives"}, max: 1, fn: func(t *node) (err error) { au.Objectives, err = p.objectiveRefs(t, el, refs); return }},
		{names: []string{"url"}, min: 1, max: 1, fn: func(u *node) error {
			if len(u.Children) > 0 {
				return p.errf(el+" <url>", "contains the element %s; <url> holds only the URL (%s)", describe(u.Children[0]), ruleXSD)
			}
			if err := p.attrs(u, el+" <url>", nil, false); err != nil {
				return err
			}
			rawURL = collapse(u.Text)
			if rawURL == "" {
				return p.errf(el+" <url>", "is empty (%s)", ruleXSD)
			}
			return nil
		}},
		{names: []string{"launchParameters"}, max: 1, fn: func(t *node) error { au.LaunchParameters = t.text(); return nil }},
		{names: []string{"entitlementKey"}, max: 1, fn: func(t *node) error { au.EntitlementKey = t.text(); return nil }},
	})
	if err != nil {
		return AU{}, err
	}
	if err := p.launchURL(&au, el, rawURL); err != nil {
		return AU{}, err
	}
	return au, nil
}

// launchURL checks an AU's url against cmi5 13.1.4 and 8.1 and sets the
// AU's launch URL: an absolute http(s) URL (External) or a path inside
// the package, with its query string kept.
func (p *cmi5Parser) launchURL(au *AU, el, raw string) error {
	at := el + " <url>"
	if err := checkURIChars(raw, false); err != nil {
		return p.errf(at, "%q is not a valid URL: %v (%s)", raw, err, ruleURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return p.errf(at, "%q is not a valid URL (%s)", raw, ruleURL)
	}
	if u.RawQuery != "" || u.ForceQuery {
		names, err := queryNames(u.RawQuery)
		if err != nil {
			return p.errf(at, "%q has a malformed query string (%s)", raw, ruleURL)
		}
		for _, name := range cmi5LaunchParams {
			if names[name] {
				return p.errf(at, "%q already has the query parameter %q, which the LMS adds at launch (%s: names must not collide with endpoint, fetch, actor, registration, activityId)", raw, name, ruleQueryConflict)
			}
		}
	}
	if u.Scheme != "" {
		scheme := strings.ToLower(u.Scheme)
		if scheme != "http" && scheme != "https" {
			return p.errf(at, "%q uses the scheme %q; %s, so an AU outside the package needs an http or https URL", raw, u.Scheme, ruleReachHTTPOnly)
		}
		if u.Host == "" || u.Opaque != "" {
			return p.errf(at, "%q is not a valid absolute URL: it has no host (%s)", raw, ruleURL)
		}
		if _, err := strconv.Atoi(u.Port()); u.Port() != "" && err != nil {
			return p.errf(at, "%q has an invalid port (%s)", raw, ruleURL)
		}
		au.LaunchURL, au.External = raw, true
		return nil
	}
	if strings.HasPrefix(raw, "//") {
		return p.errf(at, "%q is a scheme-relative URL; give the scheme (https://…) (%s)", raw, ruleURL)
	}
	clean, suffix, err := CleanPath(raw)
	if err != nil {
		return p.errf(at, "%q %v (%s)", raw, err, rulePackagePath)
	}
	au.LaunchURL = escapePath(clean) + suffix
	return nil
}

// queryNames returns the parameter names of a query string, decoded.
// Unlike url.ParseQuery it accepts ";" inside values, which RFC 3986
// allows and some tools write.
func queryNames(q string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, part := range strings.Split(q, "&") {
		name, _, _ := strings.Cut(part, "=")
		n, err := url.QueryUnescape(name)
		if err != nil {
			return nil, err
		}
		out[n] = true
	}
	return out, nil
}

var xsDecimalRe = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)

// xsDecimal parses the lexical space of xs:decimal (no exponent, no
// NaN or infinity).
func xsDecimal(v string) (float64, bool) {
	if !xsDecimalRe.MatchString(v) {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	return f, err == nil
}

// CheckStandalone applies cmi5 14.2.0.0-1 to a course structure imported
// without a zip: every AU URL must be fully qualified.
func CheckStandalone(m *Manifest) error {
	for _, au := range m.Course.AllAUs() {
		if !au.External {
			return &Error{File: CMI5File, Where: where("au", "id", au.ID) + " <url>",
				Msg: fmt.Sprintf("%q is relative, but there is no zip for it to point into (%s)", au.LaunchURL, ruleStandaloneURL)}
		}
	}
	return nil
}

// escapePath percent-encodes a package path for use in a URL, keeping "/".
func escapePath(p string) string {
	return (&url.URL{Path: p}).EscapedPath()
}
