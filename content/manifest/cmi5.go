package manifest

import (
	"fmt"
	"net/url"
	"strings"
)

// CMI5File is the cmi5 course structure's name at the package root.
const CMI5File = "cmi5.xml"

var cmi5MoveOn = map[string]string{
	"passed": MoveOnPassed, "completed": MoveOnCompleted, "completedandpassed": MoveOnCompletedAndPassed,
	"completedorpassed": MoveOnCompletedOrPassed, "notapplicable": MoveOnNotApplicable,
}

// ParseCMI5 parses a cmi5 course structure (cmi5 §13, CourseStructure.xsd).
func ParseCMI5(data []byte) (*Manifest, error) {
	root, err := parseTree(CMI5File, data)
	if err != nil {
		return nil, err
	}
	p := &cmi5Parser{ids: map[string]string{}}
	if local(root.Name) != "coursestructure" {
		return nil, p.errf("", "root element is <%s>; a cmi5 course structure starts with <courseStructure>", root.Name.Local)
	}
	courses := root.children("course")
	switch {
	case len(courses) == 0:
		return nil, p.errf("<courseStructure>", "has no <course> element")
	case len(courses) > 1:
		return nil, p.errf("<courseStructure>", "has %d <course> elements; exactly one is allowed", len(courses))
	}
	c := courses[0]
	m := &Manifest{Type: TypeCMI5}
	m.Course.ID = c.attrValue("id")
	if err := p.iri(where("course", "", ""), "id", m.Course.ID); err != nil {
		return nil, err
	}
	m.Course.Title = langString(c.child("title"), "langstring")
	if m.Course.Title == "" {
		return nil, p.errf(where("course", "id", m.Course.ID), "has no <title> (with a <langstring>)")
	}
	m.Course.Description = langString(c.child("description"), "langstring")
	blocks, aus, err := p.level(root, "<courseStructure>", 0)
	if err != nil {
		return nil, err
	}
	m.Course.Blocks, m.Course.AUs = blocks, aus
	if p.nAU == 0 {
		return nil, p.errf("<courseStructure>", "has no <au>; a course needs at least one assignable unit")
	}
	return m, nil
}

type cmi5Parser struct {
	ids map[string]string // id → where it was first used, for duplicate errors
	seq int
	nAU int
}

func (p *cmi5Parser) errf(where, format string, args ...any) error {
	return &Error{File: CMI5File, Where: where, Msg: fmt.Sprintf(format, args...)}
}

// iri checks an id attribute is present and looks like an IRI (cmi5
// requires globally unique IRIs for course, block and AU ids).
func (p *cmi5Parser) iri(el, attr, v string) error {
	if v == "" {
		return p.errf(el, "attribute %s is missing", attr)
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || strings.ContainsAny(v, " \t\n") {
		return p.errf(el, "attribute %s %q is not an IRI (it needs a scheme, e.g. https://…)", attr, v)
	}
	return nil
}

func (p *cmi5Parser) unique(el, id string) error {
	if prev, ok := p.ids[id]; ok {
		return p.errf(el, "id %q is already used by %s; ids must be unique", id, prev)
	}
	p.ids[id] = el
	return nil
}

// level reads the blocks and AUs directly inside n.
func (p *cmi5Parser) level(n *node, at string, depth int) ([]Block, []AU, error) {
	var blocks []Block
	var aus []AU
	for _, ch := range n.Children {
		switch local(ch.Name) {
		case "au":
			au, err := p.au(ch)
			if err != nil {
				return nil, nil, err
			}
			aus = append(aus, au)
		case "block":
			b, err := p.block(ch, depth+1)
			if err != nil {
				return nil, nil, err
			}
			blocks = append(blocks, b)
		}
	}
	return blocks, aus, nil
}

func (p *cmi5Parser) block(n *node, depth int) (Block, error) {
	id := n.attrValue("id")
	el := where("block", "id", id)
	if err := p.iri(where("block", "", ""), "id", id); err != nil {
		return Block{}, err
	}
	if err := p.unique(el, id); err != nil {
		return Block{}, err
	}
	p.seq++
	b := Block{ID: id, Seq: p.seq, Title: langString(n.child("title"), "langstring"),
		Description: langString(n.child("description"), "langstring")}
	if b.Title == "" {
		return Block{}, p.errf(el, "has no <title> (with a <langstring>)")
	}
	var err error
	b.Blocks, b.AUs, err = p.level(n, el, depth)
	if err != nil {
		return Block{}, err
	}
	if len(b.Blocks) == 0 && len(b.AUs) == 0 {
		return Block{}, p.errf(el, "contains no <au> or <block>")
	}
	return b, nil
}

func (p *cmi5Parser) au(n *node) (AU, error) {
	id := n.attrValue("id")
	el := where("au", "id", id)
	if err := p.iri(where("au", "", ""), "id", id); err != nil {
		return AU{}, err
	}
	if err := p.unique(el, id); err != nil {
		return AU{}, err
	}
	p.seq++
	p.nAU++
	au := AU{ID: id, Kind: KindAU, Seq: p.seq, MoveOn: defaultMoveOn, LaunchMethod: defaultLaunchMethod,
		Title: langString(n.child("title"), "langstring"), Description: langString(n.child("description"), "langstring"),
		ActivityType: n.attrValue("activityType")}
	if au.Title == "" {
		return AU{}, p.errf(el, "has no <title> (with a <langstring>)")
	}
	if v, ok := n.attr("moveOn"); ok {
		mo, ok := cmi5MoveOn[strings.ToLower(strings.TrimSpace(v))]
		if !ok {
			return AU{}, p.errf(el, "attribute moveOn %q is not one of Passed, Completed, CompletedAndPassed, CompletedOrPassed, NotApplicable", v)
		}
		au.MoveOn = mo
	}
	if v, ok := n.attr("masteryScore"); ok {
		f, ok := parseDecimal(v)
		if !ok || f < 0 || f > 1 {
			return AU{}, p.errf(el, "attribute masteryScore %q must be a decimal from 0 to 1", v)
		}
		au.MasteryScore = &f
	}
	if v, ok := n.attr("launchMethod"); ok {
		switch strings.TrimSpace(v) {
		case LaunchMethodAnyWindow, LaunchMethodOwnWindow:
			au.LaunchMethod = strings.TrimSpace(v)
		default:
			return AU{}, p.errf(el, "attribute launchMethod %q is not AnyWindow or OwnWindow", v)
		}
	}
	urls := n.children("url")
	if len(urls) != 1 || urls[0].text() == "" {
		return AU{}, p.errf(el, "needs exactly one non-empty <url> (the AU's launch URL)")
	}
	raw := urls[0].text()
	if u, err := url.Parse(raw); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		au.LaunchURL, au.External = raw, true
	} else {
		clean, suffix, err := CleanPath(raw)
		if err != nil {
			return AU{}, p.errf(el+" <url>", "%q %v", raw, err)
		}
		au.LaunchURL = escapePath(clean) + suffix
	}
	if lp := n.child("launchparameters"); lp != nil {
		au.LaunchParameters = lp.text()
	}
	return au, nil
}

// escapePath percent-encodes a package path for use in a URL, keeping "/".
func escapePath(p string) string {
	return (&url.URL{Path: p}).EscapedPath()
}
