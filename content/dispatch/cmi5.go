package dispatch

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/internal/errs"
)

// Packages is what the export needs of content.Service.
type Packages interface {
	PublishedVersion(ctx context.Context, boroughID string) (content.CourseVersion, error)
	Package(ctx context.Context, boroughID, id string) (content.Package, error)
}

// FileURL is the content-origin URL of path inside a package, opened with a
// dispatch token rather than a launch's content token. Like content tokens
// the dispatch token rides in the path, so the package's relative links
// keep working.
func FileURL(contentURL, token, packageID, path string) string {
	return strings.TrimRight(contentURL, "/") + "/d/" + token + "/" + url.PathEscape(packageID) + "/" + strings.TrimPrefix(path, "/")
}

// Module is one module of an exported course: the AU the published version
// binds it to, and its absolute launch URL.
type Module struct {
	content.ModuleBinding
	AU        content.AU
	Type      content.Type
	LaunchURL string
}

// Modules resolves the borough's published course for d: every module's
// AU with its dispatch URL. A revoked dispatch exports nothing.
func Modules(ctx context.Context, pkgs Packages, d Dispatch, contentURL string) (content.CourseVersion, []Module, error) {
	if d.Revoked() {
		return content.CourseVersion{}, nil, errs.E(errs.Conflict, "dispatch %s is revoked; create a new one", d.ID)
	}
	v, err := pkgs.PublishedVersion(ctx, d.BoroughID)
	if err != nil {
		return v, nil, err
	}
	out := make([]Module, 0, len(v.Modules))
	for _, mb := range v.Modules {
		p, err := pkgs.Package(ctx, d.BoroughID, mb.PackageID)
		if err != nil {
			return v, nil, err
		}
		au, ok := p.Course.FindAU(mb.AUID)
		if !ok {
			return v, nil, errs.E(errs.Internal, "package %s lacks AU %s", p.ID, mb.AUID)
		}
		u := au.LaunchURL
		if !au.External {
			u = FileURL(contentURL, d.Token, p.ID, au.LaunchURL)
		}
		out = append(out, Module{ModuleBinding: mb, AU: au, Type: p.Type, LaunchURL: u})
	}
	return v, out, nil
}

// The cmi5 CourseStructure.xsd document, as much of it as the export writes.
type xmlText struct {
	Lang string `xml:"lang,attr"`
	Text string `xml:",chardata"`
}

type xmlTitled struct {
	Title       []xmlText `xml:"title>langstring"`
	Description []xmlText `xml:"description>langstring"`
}

type xmlAU struct {
	ID           string `xml:"id,attr"`
	MoveOn       string `xml:"moveOn,attr,omitempty"`
	MasteryScore string `xml:"masteryScore,attr,omitempty"`
	LaunchMethod string `xml:"launchMethod,attr,omitempty"`
	ActivityType string `xml:"activityType,attr,omitempty"`
	xmlTitled
	URL              string `xml:"url"`
	LaunchParameters string `xml:"launchParameters,omitempty"`
}

type xmlCourse struct {
	XMLName xml.Name `xml:"https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd courseStructure"`
	Course  struct {
		ID string `xml:"id,attr"`
		xmlTitled
	} `xml:"course"`
	AUs []xmlAU `xml:"au"`
}

// lang is the language of Reach's course text.
const lang = "en-GB"

func texts(s string) []xmlText { return []xmlText{{Lang: lang, Text: s}} }

// CMI5XML writes the cmi5.xml of a dispatched course. courseID is the
// course's IRI; cmi5 AUs keep their ids, so statements from the other LMS
// carry the same activity ids as Reach's own launches. Only cmi5 AUs can be
// launched by another cmi5 LMS, so a module a borough replaced with a SCORM
// package is refused with a clear error.
func CMI5XML(courseID, title, description string, modules []Module) ([]byte, error) {
	if len(modules) == 0 {
		return nil, errs.E(errs.Conflict, "the published course has no modules to export")
	}
	var c xmlCourse
	c.Course.ID = courseID
	c.Course.Title, c.Course.Description = texts(title), texts(description)
	for _, m := range modules {
		if m.Type != content.TypeCMI5 {
			return nil, errs.E(errs.Conflict, "module %q is a %s package; a cmi5 LMS cannot launch it (use the SCORM 1.2 export)", m.Module, m.Type)
		}
		a := xmlAU{ID: m.AU.ID, MoveOn: m.AU.MoveOn, LaunchMethod: m.AU.LaunchMethod, ActivityType: m.AU.ActivityType,
			URL: m.LaunchURL, LaunchParameters: m.AU.LaunchParameters}
		if m.AU.MasteryScore != nil {
			a.MasteryScore = strconv.FormatFloat(*m.AU.MasteryScore, 'f', -1, 64)
		}
		t := m.Title
		if t == "" {
			t = m.AU.Title
		}
		a.Title, a.Description = texts(t), texts(m.AU.Description)
		c.AUs = append(c.AUs, a)
	}
	out, err := xml.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "the course structure could not be written")
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

// ZipCMI5 wraps cmi5.xml in the zip another LMS imports; the zip holds no
// content, since the AUs' URLs point at Reach.
func ZipCMI5(cmi5 []byte, modified time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "cmi5.xml", Method: zip.Deflate, Modified: modified})
	if err == nil {
		_, err = w.Write(cmi5)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "the export could not be zipped")
	}
	return buf.Bytes(), nil
}
