package manifest

import (
	"fmt"
	"strings"
	"testing"
)

// validCMI5 uses every part of CourseStructure.xsd: course, objectives,
// a block with objective references, an AU with every attribute and
// optional element, and an AU outside the package.
const validCMI5 = `<?xml version="1.0" encoding="utf-8"?>
<courseStructure xmlns="https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd">
  <course id="https://e.org/c">
    <title><langstring lang="en-GB">Course</langstring></title>
    <description><langstring lang="en-GB">Course description</langstring></description>
  </course>
  <objectives>
    <objective id="https://e.org/o1"><title><langstring>O1</langstring></title><description><langstring>First objective</langstring></description></objective>
    <objective id="https://e.org/o2"><description><langstring>Second objective</langstring></description><title><langstring>O2</langstring></title></objective>
  </objectives>
  <block id="https://e.org/b">
    <title><langstring>Block</langstring></title>
    <description><langstring>Block description</langstring></description>
    <objectives><objective idref="https://e.org/o1"/></objectives>
    <au id="https://e.org/a" moveOn="Passed" masteryScore="0.8" launchMethod="OwnWindow" activityType="http://adlnet.gov/expapi/activities/lesson">
      <title><langstring>AU one</langstring></title>
      <description><langstring>AU description</langstring></description>
      <objectives><objective idref="https://e.org/o2"/></objectives>
      <url>a/index.html?x=1</url>
      <launchParameters>p=1</launchParameters>
      <entitlementKey>key-1</entitlementKey>
    </au>
  </block>
  <au id="https://e.org/a2"><title><langstring>AU two</langstring></title><description><langstring>Remote</langstring></description><url>https://cdn.e.org/a2.html</url></au>
</courseStructure>`

func mutate(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(validCMI5, old) {
		t.Fatalf("test bug: %q is not in the valid document", old)
	}
	return strings.Replace(validCMI5, old, new, 1)
}

func TestCMI5ValidDocument(t *testing.T) {
	m, err := ParseCMI5([]byte(validCMI5))
	if err != nil {
		t.Fatal(err)
	}
	c := m.Course
	if c.ID != "https://e.org/c" || c.Title != "Course" || c.Description != "Course description" {
		t.Errorf("course = %q %q %q", c.ID, c.Title, c.Description)
	}
	if len(c.Objectives) != 2 || c.Objectives[1].ID != "https://e.org/o2" || c.Objectives[1].Title != "O2" || c.Objectives[1].Description != "Second objective" {
		t.Errorf("objectives = %+v", c.Objectives)
	}
	if len(c.Blocks) != 1 || len(c.Blocks[0].Objectives) != 1 || c.Blocks[0].Objectives[0].ID != "https://e.org/o1" || c.Blocks[0].Description != "Block description" {
		t.Errorf("block = %+v", c.Blocks)
	}
	aus := c.AllAUs()
	if len(aus) != 2 {
		t.Fatalf("aus = %+v", aus)
	}
	a := aus[0]
	if a.MoveOn != MoveOnPassed || a.MasteryScore == nil || *a.MasteryScore != 0.8 || a.LaunchMethod != LaunchMethodOwnWindow ||
		a.ActivityType != "http://adlnet.gov/expapi/activities/lesson" || a.LaunchURL != "a/index.html?x=1" || a.LaunchParameters != "p=1" ||
		a.EntitlementKey != "key-1" || len(a.Objectives) != 1 || a.Objectives[0].ID != "https://e.org/o2" || a.Description != "AU description" {
		t.Errorf("au = %+v", a)
	}
	if b := aus[1]; !b.External || b.LaunchURL != "https://cdn.e.org/a2.html" || b.MoveOn != MoveOnNotApplicable || b.LaunchMethod != LaunchMethodAnyWindow {
		t.Errorf("remote au = %+v", b)
	}
}

// TestCMI5Accepts: documents the schema and the specification allow,
// including the places where the XSD has wildcards.
func TestCMI5Accepts(t *testing.T) {
	const ext = `xmlns:x="https://vendor.example/ext"`
	tests := []struct{ name, old, new string }{
		{"extension element after the AUs", `</courseStructure>`, `<x:meta ` + ext + `><x:any/></x:meta></courseStructure>`},
		{"extension element at the end of an AU", `<entitlementKey>key-1</entitlementKey>`, `<entitlementKey>key-1</entitlementKey><x:k ` + ext + `/>`},
		{"extension element at the end of a course", `<langstring lang="en-GB">Course description</langstring></description>`, `<langstring lang="en-GB">Course description</langstring></description><x:k ` + ext + `/>`},
		{"extension element in a title", `<langstring>Block</langstring>`, `<langstring>Block</langstring><x:k ` + ext + `/>`},
		{"extension attributes", `<au id="https://e.org/a2">`, `<au id="https://e.org/a2" ` + ext + ` x:level="2">`},
		{"xsi:schemaLocation", `<courseStructure xmlns="https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd">`,
			`<courseStructure xmlns="https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd CourseStructure.xsd">`},
		{"prefixed cmi5 namespace", `<au id="https://e.org/a2"><title><langstring>AU two</langstring></title><description><langstring>Remote</langstring></description><url>https://cdn.e.org/a2.html</url></au>`,
			`<c:au xmlns:c="https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd" id="https://e.org/a2"><c:title><c:langstring>AU two</c:langstring></c:title><description><langstring>Remote</langstring></description><c:url>https://cdn.e.org/a2.html</c:url></c:au>`},
		{"whitespace around values is removed", `<url>a/index.html?x=1</url>`, "<url>\n   <![CDATA[ a/index.html?x=1 ]]>\n  </url>"},
		{"masteryScore with whitespace and sign", `masteryScore="0.8"`, `masteryScore=" +0.80 "`},
		{"masteryScore 1", `masteryScore="0.8"`, `masteryScore="1"`},
		{"masteryScore .5", `masteryScore="0.8"`, `masteryScore=".5"`},
		{"every moveOn", `moveOn="Passed"`, `moveOn="CompletedAndPassed"`},
		{"urn ids", `<au id="https://e.org/a2">`, `<au id="urn:uuid:8a0f5c7e-2e3d-4a1b-9c1d-1f2e3d4c5b6a">`},
		{"IRI with non-ASCII", `<au id="https://e.org/a2">`, `<au id="https://e.org/café">`},
		{"query with semicolons", `<url>a/index.html?x=1</url>`, `<url>a/index.html?x=1;y=2&amp;z</url>`},
		{"parameter name containing a launch name", `<url>a/index.html?x=1</url>`, `<url>a/index.html?myendpoint=1&amp;fetched=2</url>`},
		{"remote AU with port and query", `<url>https://cdn.e.org/a2.html</url>`, `<url>https://cdn.e.org:8443/a2.html?lang=en#top</url>`},
		{"langstring without lang", `<langstring lang="en-GB">Course</langstring>`, `<langstring>Course</langstring>`},
		{"comments and processing instructions", `<course id="https://e.org/c">`, `<!-- c --><?pi x?><course id="https://e.org/c">`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseCMI5([]byte(mutate(t, tt.old, tt.new))); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCMI5Rejects: one generated document per XSD rule and per cmi5
// import rule; each must be refused with a message naming the element
// and the rule.
func TestCMI5Rejects(t *testing.T) {
	const xsd = "CourseStructure.xsd, cmi5 13.2.0.0-1"
	auTwo := `<au id="https://e.org/a2"><title><langstring>AU two</langstring></title><description><langstring>Remote</langstring></description><url>https://cdn.e.org/a2.html</url></au>`
	tests := []struct{ name, old, new, want string }{
		// Namespace (targetNamespace, elementFormDefault="qualified").
		{"no namespace", ` xmlns="https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd"`, ``, `<courseStructure>: is in namespace ""`},
		{"wrong namespace", `xmlns="https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd"`, `xmlns="http://example.org/cmi5"`, `is in namespace "http://example.org/cmi5"`},
		{"unqualified child", `<au id="https://e.org/a2">`, `<au xmlns="" id="https://e.org/a2">`, `<au> has no namespace`},
		{"unknown cmi5 element", `</courseStructure>`, `<notes/></courseStructure>`, `<notes> is not allowed here`},
		// Element order and required elements.
		{"url before title", `<title><langstring>AU one</langstring></title>
      <description><langstring>AU description</langstring></description>
      <objectives><objective idref="https://e.org/o2"/></objectives>
      <url>a/index.html?x=1</url>`, `<url>a/index.html?x=1</url><title><langstring>AU one</langstring></title>
      <description><langstring>AU description</langstring></description>`, `found <url> where <title> is expected`},
		{"au without description", `<description><langstring>Remote</langstring></description>`, ``, `<au id="https://e.org/a2">: found <url> where <description> is expected`},
		{"course without description", `<description><langstring lang="en-GB">Course description</langstring></description>`, ``, `<course id="https://e.org/c">: has no <description>`},
		{"block without description", `<description><langstring>Block description</langstring></description>`, ``, `<block id="https://e.org/b">: found <objectives> where <description> is expected`},
		{"au without title", `<title><langstring>AU two</langstring></title>`, ``, `found <description> where <title> is expected`},
		{"au without url", `<url>https://cdn.e.org/a2.html</url>`, ``, `<au id="https://e.org/a2">: has no <url>`},
		{"two urls", `<url>https://cdn.e.org/a2.html</url>`, `<url>https://cdn.e.org/a2.html</url><url>b.html</url>`, `<url> is not allowed here`},
		{"empty url", `<url>https://cdn.e.org/a2.html</url>`, `<url>  </url>`, `<url>: is empty`},
		{"launchParameters before url", `<url>a/index.html?x=1</url>
      <launchParameters>p=1</launchParameters>`, `<launchParameters>p=1</launchParameters><url>a/index.html?x=1</url>`, `found <launchParameters> where <url> is expected`},
		{"entitlementKey before launchParameters", `<launchParameters>p=1</launchParameters>
      <entitlementKey>key-1</entitlementKey>`, `<entitlementKey>key-1</entitlementKey><launchParameters>p=1</launchParameters>`, `<launchParameters> is not allowed here`},
		{"objectives after url", `<objectives><objective idref="https://e.org/o2"/></objectives>
      <url>a/index.html?x=1</url>`, `<url>a/index.html?x=1</url><objectives><objective idref="https://e.org/o2"/></objectives>`, `<objectives> is not allowed here`},
		{"no course", `<course id="https://e.org/c">
    <title><langstring lang="en-GB">Course</langstring></title>
    <description><langstring lang="en-GB">Course description</langstring></description>
  </course>`, ``, `found <objectives> where <course> is expected`},
		{"two courses", `<objectives>`, `<course id="https://e.org/c2"><title><langstring>C</langstring></title><description><langstring>D</langstring></description></course><objectives>`, `found <course> where <au> or <block> is expected`},
		{"objectives after an AU", auTwo, auTwo + `<objectives><objective id="https://e.org/o3"><title><langstring>O</langstring></title><description><langstring>O</langstring></description></objective></objectives>`, `<objectives> is not allowed here`},
		{"extension between AUs", auTwo, `<x:k xmlns:x="https://v.example/"/>` + auTwo, `<au> is not allowed here`},
		{"empty block", auTwo, `<block id="https://e.org/b9"><title><langstring>B</langstring></title><description><langstring>B</langstring></description></block>`, `<block id="https://e.org/b9">: has no <au> or <block>`},
		{"text in an element-only element", `<au id="https://e.org/a2">`, `<au id="https://e.org/a2">stray`, `has text "stray" outside its child elements`},
		// textType and langstring.
		{"title without langstring", `<title><langstring>AU two</langstring></title>`, `<title>AU two</title>`, `<au id="https://e.org/a2"> <title>: has text "AU two"`},
		{"empty title", `<title><langstring>AU two</langstring></title>`, `<title></title>`, `<title>: has no <langstring>`},
		{"element in a langstring", `<langstring>AU two</langstring>`, `<langstring><b>AU</b> two</langstring>`, `contains the element <b>`},
		{"bad language tag", `<langstring>AU two</langstring>`, `<langstring lang="english (UK)">AU two</langstring>`, `attribute lang "english (UK)" is not a language tag`},
		{"unknown langstring attribute", `<langstring>AU two</langstring>`, `<langstring dir="rtl">AU two</langstring>`, `attribute dir is not allowed here`},
		// Objectives (objectivesType, referencesObjectivesType).
		{"empty objectives", `<objectives>
    <objective id="https://e.org/o1">`, `<objectives></objectives><objectives>
    <objective id="https://e.org/o1">`, `<courseStructure> <objectives>: has no <objective>`},
		{"objective without description", `<description><langstring>First objective</langstring></description>`, ``, `<objective id="https://e.org/o1">: has no <description>`},
		{"objective with two titles", `<title><langstring>O1</langstring></title>`, `<title><langstring>O1</langstring></title><title><langstring>O1</langstring></title>`, `has more than one <title>`},
		{"objective with extension", `<title><langstring>O1</langstring></title>`, `<title><langstring>O1</langstring></title><x:k xmlns:x="https://v.example/"/>`, `<k xmlns="https://v.example/"> is not allowed`},
		{"objective with extension attribute", `<objective id="https://e.org/o1">`, `<objective id="https://e.org/o1" xmlns:x="https://v.example/" x:a="1">`, `attribute a (namespace "https://v.example/") is not allowed here`},
		{"objective without id", `<objective id="https://e.org/o1">`, `<objective>`, `<objective>: attribute id is missing`},
		{"objective reference with content", `<objective idref="https://e.org/o1"/>`, `<objective idref="https://e.org/o1">x</objective>`, `must be empty`},
		{"objective reference without idref", `<objective idref="https://e.org/o1"/>`, `<objective/>`, `has no idref (cmi5 13.1.3`},
		{"empty objective references", `<objectives><objective idref="https://e.org/o1"/></objectives>`, `<objectives/>`, `<block id="https://e.org/b"> <objectives>: has no <objective>`},
		// Attributes and their types.
		{"au without id", `<au id="https://e.org/a2">`, `<au>`, `<au>: attribute id is missing`},
		{"course without id", `<course id="https://e.org/c">`, `<course>`, `<course>: attribute id is missing`},
		{"block without id", `<block id="https://e.org/b">`, `<block>`, `<block>: attribute id is missing`},
		{"unknown au attribute", `<au id="https://e.org/a2">`, `<au id="https://e.org/a2" mastery="0.5">`, `attribute mastery is not allowed here`},
		{"attribute in the cmi5 namespace", `<au id="https://e.org/a2">`, `<au id="https://e.org/a2" xmlns:c="https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd" c:moveOn="Passed">`, `attribute moveOn (namespace`},
		{"attribute names are case-sensitive", `moveOn="Passed"`, `moveon="Passed"`, `attribute moveon is not allowed here`},
		{"moveOn unknown", `moveOn="Passed"`, `moveOn="Done"`, `attribute moveOn "Done" is not one of`},
		{"moveOn lower case", `moveOn="Passed"`, `moveOn="passed"`, `attribute moveOn "passed" is not one of`},
		{"moveOn padded", `moveOn="Passed"`, `moveOn=" Passed"`, `attribute moveOn " Passed" is not one of`},
		{"launchMethod unknown", `launchMethod="OwnWindow"`, `launchMethod="Popup"`, `attribute launchMethod "Popup" is not AnyWindow or OwnWindow`},
		{"masteryScore over 1", `masteryScore="0.8"`, `masteryScore="1.5"`, `attribute masteryScore "1.5" must be a decimal from 0 to 1`},
		{"masteryScore negative", `masteryScore="0.8"`, `masteryScore="-0.1"`, `must be a decimal from 0 to 1`},
		{"masteryScore exponent", `masteryScore="0.8"`, `masteryScore="8e-1"`, `attribute masteryScore "8e-1" must be a decimal`},
		{"masteryScore percent", `masteryScore="0.8"`, `masteryScore="80%"`, `must be a decimal`},
		{"masteryScore NaN", `masteryScore="0.8"`, `masteryScore="NaN"`, `must be a decimal`},
		// cmi5 3.0.0.0-1: fully qualified IRIs.
		{"course id relative", `<course id="https://e.org/c">`, `<course id="e.org/c">`, `<course>: attribute id "e.org/c" is not a fully qualified IRI: it has no scheme (such as https:) (cmi5 3.0.0.0-1`},
		{"block id relative", `<block id="https://e.org/b">`, `<block id="/b">`, `<block>: attribute id "/b" is not a fully qualified IRI`},
		{"au id fragment", `<au id="https://e.org/a2">`, `<au id="#a2">`, `<au>: attribute id "#a2" is not a fully qualified IRI`},
		{"au id with space", `<au id="https://e.org/a2">`, `<au id="https://e.org/a 2">`, `contains a space`},
		{"objective id relative", `<objective id="https://e.org/o1">`, `<objective id="o1">`, `<objective>: attribute id "o1" is not a fully qualified IRI`},
		{"objective idref relative", `<objective idref="https://e.org/o1"/>`, `<objective idref="o1"/>`, `attribute idref "o1" is not a fully qualified IRI`},
		{"activityType not an IRI", `activityType="http://adlnet.gov/expapi/activities/lesson"`, `activityType="lesson"`, `attribute activityType "lesson" is not a fully qualified IRI`},
		{"iri bad escape", `<au id="https://e.org/a2">`, `<au id="https://e.org/a%2">`, `has a % not followed by two hex digits`},
		// cmi5 13.1.2.0-1, 13.1.3.0-1, 13.1.4.0-1: unique ids.
		{"duplicate block id", `<au id="https://e.org/a2">`, `<block id="https://e.org/b"><title><langstring>B</langstring></title><description><langstring>B</langstring></description><au id="https://e.org/a3"><title><langstring>A</langstring></title><description><langstring>A</langstring></description><url>a.html</url></au></block><au id="https://e.org/a2">`, `id "https://e.org/b" is already used by <block id="https://e.org/b"> (cmi5 13.1.2.0-1`},
		{"duplicate objective id", `<objective id="https://e.org/o2">`, `<objective id="https://e.org/o1">`, `id "https://e.org/o1" is already used by <objective id="https://e.org/o1"> (cmi5 13.1.3.0-1`},
		{"duplicate au id", `<au id="https://e.org/a2">`, `<au id="https://e.org/a">`, `id "https://e.org/a" is already used by <au id="https://e.org/a"> (cmi5 13.1.4.0-1`},
		{"au id equal to the course id", `<au id="https://e.org/a2">`, `<au id="https://e.org/c">`, `is already used by <course id="https://e.org/c">`},
		// Objective references.
		{"reference to a missing objective", `<objective idref="https://e.org/o2"/>`, `<objective idref="https://e.org/o9"/>`, `<au id="https://e.org/a">: <objective idref="https://e.org/o9"> names no objective declared`},
		{"reference without any objectives", `<objectives>
    <objective id="https://e.org/o1"><title><langstring>O1</langstring></title><description><langstring>First objective</langstring></description></objective>
    <objective id="https://e.org/o2"><description><langstring>Second objective</langstring></description><title><langstring>O2</langstring></title></objective>
  </objectives>`, ``, `<block id="https://e.org/b">: <objective idref="https://e.org/o1"> names no objective declared in <courseStructure><objectives> (cmi5 13.1.3`},
		// cmi5 8.1.0.0-6: launch parameter names.
		{"url with endpoint", `<url>a/index.html?x=1</url>`, `<url>a/index.html?endpoint=http://e.org/lrs</url>`, `already has the query parameter "endpoint", which the LMS adds at launch (cmi5 8.1.0.0-6`},
		{"url with fetch", `<url>a/index.html?x=1</url>`, `<url>a/index.html?x=1&amp;fetch=1</url>`, `query parameter "fetch"`},
		{"url with actor", `<url>https://cdn.e.org/a2.html</url>`, `<url>https://cdn.e.org/a2.html?actor=x</url>`, `query parameter "actor"`},
		{"url with registration", `<url>a/index.html?x=1</url>`, `<url>a/index.html?registration</url>`, `query parameter "registration"`},
		{"url with activityId", `<url>a/index.html?x=1</url>`, `<url>a/index.html?activity%49d=1</url>`, `query parameter "activityId"`},
		// cmi5 13.1.4.0-2: RFC 1738 URLs.
		{"url with a space", `<url>https://cdn.e.org/a2.html</url>`, `<url>http://example.com index.html</url>`, `"http://example.com index.html" is not a valid URL: it contains a space (write %20) (cmi5 13.1.4.0-2`},
		{"url with unsafe character", `<url>a/index.html?x=1</url>`, `<url>a/index.html?x={1}</url>`, `contains "{", which must be percent-encoded (cmi5 13.1.4.0-2`},
		{"url with bad escape", `<url>a/index.html?x=1</url>`, `<url>a/index%zz.html</url>`, `has a % not followed by two hex digits`},
		{"url with non-ASCII", `<url>a/index.html?x=1</url>`, `<url>a/café.html</url>`, `non-ASCII`},
		{"url without host", `<url>https://cdn.e.org/a2.html</url>`, `<url>https:///a2.html</url>`, `it has no host (cmi5 13.1.4.0-2`},
		{"url with bad port", `<url>https://cdn.e.org/a2.html</url>`, `<url>https://cdn.e.org:x/a2.html</url>`, `is not a valid URL`},
		{"url opaque", `<url>https://cdn.e.org/a2.html</url>`, `<url>https:cdn.e.org</url>`, `has no host`},
		{"url scheme-relative", `<url>https://cdn.e.org/a2.html</url>`, `<url>//cdn.e.org/a2.html</url>`, `scheme-relative`},
		{"url javascript", `<url>https://cdn.e.org/a2.html</url>`, `<url>javascript:alert(1)</url>`, `uses the scheme "javascript"`},
		{"url with child element", `<url>https://cdn.e.org/a2.html</url>`, `<url><b/>https://cdn.e.org/a2.html</url>`, `contains the element <b>`},
		// Paths inside the package.
		{"url escapes the package", `<url>a/index.html?x=1</url>`, `<url>../../etc/passwd</url>`, `"../../etc/passwd" points outside the package`},
		{"url absolute path", `<url>a/index.html?x=1</url>`, `<url>/index.html</url>`, `is an absolute path`},
		{"url backslash", `<url>a/index.html?x=1</url>`, `<url>a\b.html</url>`, `contains "\\", which must be percent-encoded`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCMI5([]byte(mutate(t, tt.old, tt.new)))
			if err == nil {
				t.Fatalf("accepted; want an error containing %q", tt.want)
			}
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not *Error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q\ndoes not contain %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "cmi5 ") && !strings.Contains(err.Error(), xsd) && !strings.Contains(err.Error(), "package") {
				t.Errorf("error %q names no rule", err)
			}
		})
	}
}

func TestCMI5NoAU(t *testing.T) {
	doc := validCMI5[:strings.Index(validCMI5, "<block ")] + `<x:b xmlns:x="https://v.example/"/></courseStructure>`
	_, err := ParseCMI5([]byte(doc))
	if err == nil || !strings.Contains(err.Error(), `<courseStructure>: found <b xmlns="https://v.example/"> where <au> or <block> is expected`) {
		t.Fatalf("err = %v", err)
	}
	doc = validCMI5[:strings.Index(validCMI5, "<block ")] + `</courseStructure>`
	if _, err := ParseCMI5([]byte(doc)); err == nil || !strings.Contains(err.Error(), `<courseStructure>: has no <au> or <block>`) {
		t.Fatalf("err = %v", err)
	}
}

// TestCMI5ThousandAUs: cmi5 6.1.0.0-2, more than 1000 AUs.
func TestCMI5ThousandAUs(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 1200; i++ {
		fmt.Fprintf(&b, `<au id="https://e.org/au/%d"><title><langstring>AU %d</langstring></title><description><langstring>d</langstring></description><url>https://cdn.e.org/%d.html</url></au>`, i, i, i)
	}
	m, err := ParseCMI5([]byte(mutate(t, `</courseStructure>`, b.String()+`</courseStructure>`)))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.Course.AllAUs()); n != 1202 {
		t.Fatalf("%d AUs", n)
	}
}

func TestCMI5Standalone(t *testing.T) {
	m, err := ParseCMI5([]byte(validCMI5))
	if err != nil {
		t.Fatal(err)
	}
	err = CheckStandalone(m)
	if err == nil || !strings.Contains(err.Error(), `<au id="https://e.org/a"> <url>: "a/index.html?x=1" is relative`) || !strings.Contains(err.Error(), "cmi5 14.2.0.0-1") {
		t.Fatalf("CheckStandalone = %v", err)
	}
	m.Course.Blocks = nil
	if err := CheckStandalone(m); err != nil {
		t.Fatalf("only remote AUs: %v", err)
	}
}
