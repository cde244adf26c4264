package manifest

import (
	"fmt"
	"net/url"
	"strings"
)

// TinCanFile is the xAPI package manifest's name at the package root.
const TinCanFile = "tincan.xml"

const activityTypeCourse = "http://adlnet.gov/expapi/activities/course"

// ParseTinCan parses tincan.xml. The activity of type course (or else the
// first activity) is the course; every activity with a <launch> is an AU.
func ParseTinCan(data []byte) (*Manifest, error) {
	root, err := parseTree(TinCanFile, data)
	if err != nil {
		return nil, err
	}
	errf := func(where, format string, args ...any) error {
		return &Error{File: TinCanFile, Where: where, Msg: fmt.Sprintf(format, args...)}
	}
	if local(root.Name) != "tincan" {
		return nil, errf("", "root element is <%s>; an xAPI package manifest starts with <tincan>", root.Name.Local)
	}
	acts := root.child("activities")
	if acts == nil || len(acts.children("activity")) == 0 {
		return nil, errf("<tincan>", "has no <activities><activity>")
	}
	m := &Manifest{Type: TypeXAPI}
	var course *node
	seen := map[string]bool{}
	seq := 0
	for _, a := range acts.children("activity") {
		id := a.attrValue("id")
		el := where("activity", "id", id)
		if id == "" {
			return nil, errf("<activity>", "attribute id is missing")
		}
		if u, err := url.Parse(id); err != nil || u.Scheme == "" || strings.ContainsAny(id, " \t\n") {
			return nil, errf(el, "id is not an IRI (it needs a scheme, e.g. https://…)")
		}
		if seen[id] {
			return nil, errf(el, "id is used by another <activity>")
		}
		seen[id] = true
		if course == nil && a.attrValue("type") == activityTypeCourse {
			course = a
		}
		l := a.child("launch")
		if l == nil {
			continue
		}
		raw := l.text()
		launch, external := "", false
		if u, err := url.Parse(raw); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			// Content hosted elsewhere, as cmi5 also allows.
			launch, external = raw, true
		} else {
			clean, suffix, err := CleanPath(raw)
			if err != nil {
				return nil, errf(el+" <launch>", "%q %v", raw, err)
			}
			launch = escapePath(clean) + suffix
		}
		seq++
		title := langString(a, "name")
		if title == "" {
			title = id
		}
		m.Course.AUs = append(m.Course.AUs, AU{ID: id, Kind: KindActivity, Seq: seq, Title: title,
			Description: langString(a, "description"), LaunchURL: launch, External: external,
			ActivityType: a.attrValue("type"), MoveOn: MoveOnCompleted, LaunchMethod: defaultLaunchMethod})
	}
	if len(m.Course.AUs) == 0 {
		return nil, errf("<activities>", "no <activity> has a <launch> URL, so there is nothing to launch")
	}
	if course == nil {
		course = acts.children("activity")[0]
	}
	m.Course.ID = course.attrValue("id")
	m.Course.Title = langString(course, "name")
	if m.Course.Title == "" {
		m.Course.Title = m.Course.AUs[0].Title
	}
	m.Course.Description = langString(course, "description")
	return m, nil
}
