package manifest

import (
	"fmt"
	"strings"
)

// SCORMFile is the SCORM manifest's name at the package root.
const SCORMFile = "imsmanifest.xml"

// ADL namespaces that identify the SCORM edition when schemaversion is
// missing (some older tools omit the metadata block).
const (
	nsADLCP12   = "http://www.adlnet.org/xsd/adlcp_rootv1p2"
	nsADLCP2004 = "http://www.adlnet.org/xsd/adlcp_v1p3"
)

// scormVersion maps <schemaversion> text to a package type.
func scormVersion(v string) (Type, bool) {
	switch strings.ToLower(strings.Join(strings.Fields(v), " ")) {
	case "1.2":
		return TypeSCORM12, true
	case "cam 1.3", "2004 2nd edition":
		return TypeSCORM2004v2, true
	case "2004 3rd edition":
		return TypeSCORM2004v3, true
	case "2004 4th edition":
		return TypeSCORM2004v4, true
	}
	return "", false
}

// ParseSCORM parses imsmanifest.xml of a SCORM 1.2 or SCORM 2004 (2nd, 3rd
// or 4th edition) package. The course tree is the default organization
// (or the first, when no default is named); items that reference a
// resource become AUs (SCOs or assets), items with children become blocks.
func ParseSCORM(data []byte) (*Manifest, error) {
	root, err := parseTree(SCORMFile, data)
	if err != nil {
		return nil, err
	}
	p := &scormParser{resources: map[string]*node{}, ids: map[string]bool{}}
	if local(root.Name) != "manifest" {
		return nil, p.errf("", "root element is <%s>; a SCORM manifest starts with <manifest>", root.Name.Local)
	}
	m := &Manifest{}
	if md := root.child("metadata"); md != nil {
		if sv := md.child("schemaversion"); sv != nil {
			m.Course.SchemaVersion = sv.text()
			t, ok := scormVersion(sv.text())
			if !ok {
				return nil, p.errf("<metadata> <schemaversion>", "%q is not a SCORM version (want 1.2, CAM 1.3, 2004 3rd Edition or 2004 4th Edition)", sv.text())
			}
			m.Type = t
		}
	}
	if m.Type == "" {
		m.Type = p.guessVersion(root)
		if m.Type == "" {
			return nil, p.errf("<manifest>", "no <metadata><schemaversion> and no ADL namespace to tell SCORM 1.2 from SCORM 2004")
		}
	}
	p.typ = m.Type
	m.Course.ID = root.attrValue("identifier")
	// Resources first, so items can be checked against them.
	resources := root.child("resources")
	if resources == nil {
		return nil, p.errf("<manifest>", "has no <resources> element")
	}
	for _, r := range resources.children("resource") {
		id := r.attrValue("identifier")
		if id == "" {
			return nil, p.errf("<resource>", "attribute identifier is missing")
		}
		if _, dup := p.resources[id]; dup {
			return nil, p.errf(where("resource", "identifier", id), "identifier is used by another <resource>")
		}
		p.resources[id] = r
		bases := []string{resources.xmlBase(), r.xmlBase()}
		for _, f := range r.children("file") {
			href := f.attrValue("href")
			if href == "" {
				return nil, p.errf(where("resource", "identifier", id)+" <file>", "attribute href is missing")
			}
			clean, _, err := CleanPath(joinBase(bases, href))
			if err != nil {
				return nil, p.errf(where("resource", "identifier", id)+fmt.Sprintf(" <file href=%q>", href), "href %v", err)
			}
			m.Files = append(m.Files, clean)
		}
	}
	p.resBase = resources.xmlBase()
	orgs := root.child("organizations")
	if orgs == nil {
		return nil, p.errf("<manifest>", "has no <organizations> element")
	}
	list := orgs.children("organization")
	if len(list) == 0 {
		return nil, p.errf("<organizations>", "has no <organization>; Reach needs one to know what to launch")
	}
	org := list[0]
	if def := orgs.attrValue("default"); def != "" {
		org = nil
		for _, o := range list {
			if o.attrValue("identifier") == def {
				org = o
			}
		}
		if org == nil {
			return nil, p.errf(where("organizations", "default", def), "names no <organization>")
		}
	}
	m.Course.Organization = org.attrValue("identifier")
	if m.Course.ID == "" {
		// The manifest identifier is required, but some exporters leave it
		// out; the organization's identifier is the next stable choice.
		m.Course.ID = m.Course.Organization
	}
	if m.Course.ID == "" {
		return nil, p.errf("<manifest>", "attribute identifier is missing (and the organization has none either)")
	}
	m.Course.Title = titleOf(org)
	if m.Course.Title == "" {
		m.Course.Title = m.Course.ID
	}
	blocks, aus, err := p.items(org, 0)
	if err != nil {
		return nil, err
	}
	m.Course.Blocks, m.Course.AUs = blocks, aus
	if p.nAU == 0 {
		return nil, p.errf(where("organization", "identifier", m.Course.Organization), "has no <item> that references a resource")
	}
	return m, nil
}

type scormParser struct {
	typ       Type
	resources map[string]*node
	resBase   string
	ids       map[string]bool
	seq       int
	nAU       int
}

func (p *scormParser) errf(where, format string, args ...any) error {
	return &Error{File: SCORMFile, Where: where, Msg: fmt.Sprintf(format, args...)}
}

func (p *scormParser) guessVersion(root *node) Type {
	for _, a := range root.Attrs {
		switch a.Value {
		case nsADLCP12:
			return TypeSCORM12
		case nsADLCP2004:
			// A 2004 package without schemaversion: 3rd edition is by far
			// the most common.
			return TypeSCORM2004v3
		}
	}
	return ""
}

func titleOf(n *node) string {
	if t := n.child("title"); t != nil {
		return t.text()
	}
	return ""
}

func (p *scormParser) items(n *node, depth int) ([]Block, []AU, error) {
	var blocks []Block
	var aus []AU
	for _, it := range n.children("item") {
		id := it.attrValue("identifier")
		el := where("item", "identifier", id)
		if id == "" {
			return nil, nil, p.errf("<item>", "attribute identifier is missing")
		}
		if p.ids[id] {
			return nil, nil, p.errf(el, "identifier is used by another <item>")
		}
		p.ids[id] = true
		p.seq++
		seq := p.seq
		title := titleOf(it)
		if title == "" {
			title = id
		}
		hidden := false
		if v, ok := it.attr("isvisible"); ok {
			b, ok := parseBool(v)
			if !ok {
				return nil, nil, p.errf(el, "attribute isvisible %q is not true or false", v)
			}
			hidden = !b
		}
		seqn, objs, err := p.sequencing(it, el)
		if err != nil {
			return nil, nil, err
		}
		if len(it.children("item")) > 0 {
			if ref := it.attrValue("identifierref"); ref != "" {
				return nil, nil, p.errf(el, "has child items and also identifierref %q; only leaf items may reference a resource", ref)
			}
			b := Block{ID: id, Seq: seq, Title: title, Sequencing: seqn, Objectives: objs}
			b.Blocks, b.AUs, err = p.items(it, depth+1)
			if err != nil {
				return nil, nil, err
			}
			blocks = append(blocks, b)
			continue
		}
		ref := it.attrValue("identifierref")
		if ref == "" {
			// An empty leaf item is a heading some tools leave behind;
			// there is nothing to launch, so it is skipped.
			continue
		}
		au, err := p.au(it, el, ref)
		if err != nil {
			return nil, nil, err
		}
		au.ID, au.Seq, au.Title, au.Hidden, au.Sequencing, au.Objectives = id, seq, title, hidden, seqn, objs
		for _, o := range objs {
			if o.Primary && o.SatisfiedByMeasure && o.MinNormalizedMeasure != nil && au.MasteryScore == nil {
				v := *o.MinNormalizedMeasure
				au.MasteryScore = &v
			}
		}
		p.nAU++
		aus = append(aus, au)
	}
	return blocks, aus, nil
}

// au builds the AU of a leaf item from its resource and adlcp metadata.
func (p *scormParser) au(it *node, el, ref string) (AU, error) {
	r, ok := p.resources[ref]
	if !ok {
		return AU{}, p.errf(el, "attribute identifierref %q names no <resource>", ref)
	}
	rel := where("resource", "identifier", ref)
	href := r.attrValue("href")
	if href == "" {
		return AU{}, p.errf(rel, "has no href, so item %q has nothing to launch", it.attrValue("identifier"))
	}
	clean, suffix, err := CleanPath(joinBase([]string{p.resBase, r.xmlBase()}, href))
	if err != nil {
		return AU{}, p.errf(rel, "href %q %v", href, err)
	}
	launch := escapePath(clean) + suffix
	if params := strings.TrimSpace(it.attrValue("parameters")); params != "" {
		launch = appendParameters(launch, params)
	}
	au := AU{Kind: KindSCO, LaunchURL: launch, ResourceID: ref, LaunchMethod: defaultLaunchMethod, MoveOn: MoveOnCompletedOrPassed}
	// adlcp:scormType is required, but a few exporters omit it on the one
	// resource they launch; players treat such a resource as a SCO.
	st, ok := r.attr("scormtype")
	if !ok {
		st = "sco"
	}
	switch strings.ToLower(strings.TrimSpace(st)) {
	case "sco":
	case "asset":
		au.Kind, au.MoveOn = KindAsset, MoveOnNotApplicable
	default:
		return AU{}, p.errf(rel, "attribute adlcp:scormType %q is not sco or asset", st)
	}
	// adlcp metadata on the item: SCORM 1.2 writes lower-case names,
	// 2004 camel case; local() compares case-insensitively.
	if n := it.child("masteryscore"); n != nil {
		f, ok := parseDecimal(n.text())
		if !ok || f < 0 || f > 100 {
			return AU{}, p.errf(el+" <adlcp:masteryscore>", "%q must be a number from 0 to 100", n.text())
		}
		f /= 100
		au.MasteryScore = &f
	}
	if n := it.child("datafromlms"); n != nil {
		au.LaunchParameters = n.text()
	}
	if n := it.child("prerequisites"); n != nil {
		au.Prerequisites = n.text()
	}
	if n := it.child("maxtimeallowed"); n != nil {
		au.MaxTimeAllowed = n.text()
	}
	if n := it.child("timelimitaction"); n != nil {
		v := strings.ToLower(n.text())
		switch v {
		case "exit,message", "exit,no message", "continue,message", "continue,no message":
		default:
			return AU{}, p.errf(el+" <adlcp:timelimitaction>", "%q is not one of exit,message / exit,no message / continue,message / continue,no message", n.text())
		}
		au.TimeLimitAction = v
	}
	if n := it.child("completionthreshold"); n != nil {
		// 3rd edition: the threshold is the element's text; 4th edition:
		// attribute minProgressMeasure (with completedByMeasure).
		v := n.text()
		if mp, ok := n.attr("minProgressMeasure"); ok {
			v = mp
		}
		if v != "" {
			f, ok := parseDecimal(v)
			if !ok || f < 0 || f > 1 {
				return AU{}, p.errf(el+" <adlcp:completionThreshold>", "%q must be a decimal from 0 to 1", v)
			}
			au.CompletionThreshold = &f
		}
	}
	return au, nil
}

// appendParameters adds an item's parameters attribute to a launch URL as
// SCORM CAM describes: a leading "?" or "&" is dropped, "#…" is a fragment.
func appendParameters(launch, params string) string {
	if strings.HasPrefix(params, "#") {
		if strings.Contains(launch, "#") {
			return launch
		}
		return launch + params
	}
	params = strings.TrimLeft(params, "?&")
	frag := ""
	if i := strings.Index(launch, "#"); i >= 0 {
		launch, frag = launch[:i], launch[i:]
	}
	sep := "?"
	if strings.Contains(launch, "?") {
		sep = "&"
	}
	return launch + sep + params + frag
}

// sequencing reads the simple parts of imsss:sequencing on an item.
func (p *scormParser) sequencing(it *node, el string) (*Sequencing, []Objective, error) {
	sq := it.child("sequencing")
	if sq == nil {
		return nil, nil, nil
	}
	s := &Sequencing{}
	boolAttr := func(n *node, name string) (*bool, error) {
		v, ok := n.attr(name)
		if !ok {
			return nil, nil
		}
		b, ok := parseBool(v)
		if !ok {
			return nil, p.errf(el+" <imsss:"+n.Name.Local+">", "attribute %s %q is not true or false", name, v)
		}
		return &b, nil
	}
	var err error
	if cm := sq.child("controlmode"); cm != nil {
		if s.Choice, err = boolAttr(cm, "choice"); err != nil {
			return nil, nil, err
		}
		if s.Flow, err = boolAttr(cm, "flow"); err != nil {
			return nil, nil, err
		}
		if s.ForwardOnly, err = boolAttr(cm, "forwardOnly"); err != nil {
			return nil, nil, err
		}
	}
	if lc := sq.child("limitconditions"); lc != nil {
		if v := lc.attrValue("attemptLimit"); v != "" {
			var n int
			if _, err := fmt.Sscanf(v, "%d", &n); err != nil || n < 0 {
				return nil, nil, p.errf(el+" <imsss:limitConditions>", "attribute attemptLimit %q is not a whole number", v)
			}
			s.AttemptLimit = n
		}
		s.AttemptDuration = lc.attrValue("attemptAbsoluteDurationLimit")
	}
	if dc := sq.child("deliverycontrols"); dc != nil {
		if s.TrackedCompletion, err = boolAttr(dc, "completionSetByContent"); err != nil {
			return nil, nil, err
		}
		if s.TrackedObjective, err = boolAttr(dc, "objectiveSetByContent"); err != nil {
			return nil, nil, err
		}
	}
	if rules := sq.child("sequencingrules"); rules != nil {
		for _, r := range rules.children("preconditionrule") {
			var conds []string
			if rc := r.child("ruleconditions"); rc != nil {
				for _, c := range rc.children("rulecondition") {
					cond := c.attrValue("condition")
					if op := c.attrValue("operator"); strings.EqualFold(op, "not") {
						cond = "not " + cond
					}
					conds = append(conds, cond)
				}
			}
			action := ""
			if ra := r.child("ruleaction"); ra != nil {
				action = ra.attrValue("action")
			}
			if action != "" {
				s.Rules = append(s.Rules, strings.Join(conds, " and ")+" → "+action)
			}
		}
	}
	var objs []Objective
	if os := sq.child("objectives"); os != nil {
		for _, o := range os.Children {
			name := local(o.Name)
			if name != "primaryobjective" && name != "objective" {
				continue
			}
			obj := Objective{ID: o.attrValue("objectiveID"), Primary: name == "primaryobjective"}
			if b, err := boolAttr(o, "satisfiedByMeasure"); err != nil {
				return nil, nil, err
			} else if b != nil {
				obj.SatisfiedByMeasure = *b
			}
			if mn := o.child("minnormalizedmeasure"); mn != nil {
				f, ok := parseDecimal(mn.text())
				if !ok || f < -1 || f > 1 {
					return nil, nil, p.errf(el+" <imsss:minNormalizedMeasure>", "%q must be a decimal from -1 to 1", mn.text())
				}
				obj.MinNormalizedMeasure = &f
			}
			objs = append(objs, obj)
		}
	}
	return s, objs, nil
}
