package dispatch

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"

	"github.com/reach-london/reach/internal/errs"
)

// PlayURL is where, on the content origin, a SCORM 1.2 dispatch SCO opens
// a module for the other LMS's learner:
//
//	GET /d/<token>/play/<module>?student_id=…&student_name=…&lms_origin=…
//
// The handler (server/dispatch_play.go) maps (dispatch, student_id) to a
// learner of the borough (LearnerFor), launches the module as a cmi5
// launch for them, and answers a page that frames the AU and posts the
// outcome to the SCO page with postMessage {type: "reach-dispatch-outcome",
// completed, passed, failed, satisfied, score (0..1, when known)}, at once
// and whenever it changes.
func PlayURL(contentURL, token, module string) string {
	return strings.TrimRight(contentURL, "/") + "/d/" + token + "/play/" + url.PathEscape(module)
}

type scormManifest struct {
	XMLName       xml.Name `xml:"http://www.imsproject.org/xsd/imscp_rootv1p1p2 manifest"`
	ADLCP         string   `xml:"xmlns:adlcp,attr"`
	ID            string   `xml:"identifier,attr"`
	Version       string   `xml:"version,attr"`
	Schema        string   `xml:"metadata>schema"`
	SchemaVersion string   `xml:"metadata>schemaversion"`
	Orgs          struct {
		Default string `xml:"default,attr"`
		Org     struct {
			ID    string      `xml:"identifier,attr"`
			Title string      `xml:"title"`
			Items []scormItem `xml:"item"`
		} `xml:"organization"`
	} `xml:"organizations"`
	Resources []scormResource `xml:"resources>resource"`
}

type scormItem struct {
	ID           string `xml:"identifier,attr"`
	Ref          string `xml:"identifierref,attr"`
	Title        string `xml:"title"`
	MasteryScore string `xml:"adlcp:masteryscore,omitempty"`
}

type scormResource struct {
	ID      string `xml:"identifier,attr"`
	Type    string `xml:"type,attr"`
	SCOType string `xml:"adlcp:scormtype,attr"`
	Href    string `xml:"href,attr"`
	File    struct {
		Href string `xml:"href,attr"`
	} `xml:"file"`
}

// scoPage finds the LMS's SCORM 1.2 API, opens the hosted module in an
// iframe with the learner's LMS id and name and its own origin (where the
// outcome is posted), and reports the outcome Reach posts back. Messages
// from any origin or window but the content origin's frame are ignored,
// since any page could otherwise set the learner's status. The SCO commits
// each change and finishes once the outcome is settled (satisfied, or
// completed and judged) or the page goes away, with the session's time and
// cmi.core.exit "suspend" while the module is unfinished, so the LMS offers
// to resume it. A status the LMS already holds as completed or passed is
// never taken back to incomplete.
var scoPage = template.Must(template.New("sco").Parse(`<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>html,body,iframe{margin:0;border:0;width:100%;height:100%}</style></head>
<body><iframe id="m" title="{{.Title}}" allow="fullscreen; autoplay"></iframe>
<script>
(function () {
  var play = {{.Play}}, origin = {{.Origin}}, opened = new Date().getTime();
  function find(w) {
    for (var i = 0; w && i < 10; i++) {
      try { if (w.API) { return w.API; } } catch (e) {}
      if (w.parent === w) { break; }
      w = w.parent;
    }
    return null;
  }
  var api = find(window) || (window.opener && find(window.opener));
  if (!api) { document.body.textContent = "This course must be opened from your LMS (no SCORM 1.2 API was found)."; return; }
  api.LMSInitialize("");
  var frame = document.getElementById("m"), done = false, finished = false;
  var prior = String(api.LMSGetValue("cmi.core.lesson_status"));
  function pad(n, w) { n = String(n); while (n.length < w) { n = "0" + n; } return n; }
  // CMITimespan: HHHH:MM:SS.SS.
  function sessionTime() {
    var cs = Math.max(0, Math.round((new Date().getTime() - opened) / 10));
    var h = Math.floor(cs / 360000);
    if (h > 9999) { return "9999:59:59.99"; }
    return pad(h, 4) + ":" + pad(Math.floor(cs / 6000) % 60, 2) + ":" + pad(Math.floor(cs / 100) % 60, 2) + "." + pad(cs % 100, 2);
  }
  function finish() {
    if (finished) { return; }
    finished = true;
    api.LMSSetValue("cmi.core.session_time", sessionTime());
    api.LMSSetValue("cmi.core.exit", done ? "" : "suspend");
    api.LMSCommit("");
    api.LMSFinish("");
  }
  window.addEventListener("message", function (ev) {
    if (ev.origin !== origin || ev.source !== frame.contentWindow || !ev.data || ev.data.type !== "reach-dispatch-outcome" || finished) { return; }
    var o = ev.data;
    if (typeof o.score === "number" && o.score >= 0 && o.score <= 1) {
      api.LMSSetValue("cmi.core.score.min", "0");
      api.LMSSetValue("cmi.core.score.max", "100");
      api.LMSSetValue("cmi.core.score.raw", String(Math.round(o.score * 100)));
    }
    var status = o.passed ? "passed" : o.failed ? "failed" : o.completed ? "completed" : "incomplete";
    if (!(status === "incomplete" && (prior === "completed" || prior === "passed"))) {
      api.LMSSetValue("cmi.core.lesson_status", status);
    }
    done = status !== "incomplete";
    if (o.satisfied || (o.completed && (o.passed || o.failed))) { finish(); } else { api.LMSCommit(""); }
  });
  window.addEventListener("pagehide", finish);
  window.addEventListener("beforeunload", finish);
  var q = "?student_id=" + encodeURIComponent(api.LMSGetValue("cmi.core.student_id")) +
    "&student_name=" + encodeURIComponent(api.LMSGetValue("cmi.core.student_name")) +
    "&lms_origin=" + encodeURIComponent(location.origin);
  frame.src = play + q;
})();
</script></body></html>
`))

// SCORM12Zip writes a SCORM 1.2 package with one SCO per module; each SCO
// is a small page that plays the module hosted on Reach (see scoPage).
func SCORM12Zip(title string, d Dispatch, modules []Module, contentURL string, modified time.Time) ([]byte, error) {
	if len(modules) == 0 {
		return nil, errs.E(errs.Conflict, "the published course has no modules to export")
	}
	cu, err := url.Parse(contentURL)
	if err != nil || cu.Scheme == "" || cu.Host == "" {
		return nil, errs.E(errs.Internal, "the content origin URL %q is not absolute", contentURL)
	}
	origin := cu.Scheme + "://" + cu.Host
	var m scormManifest
	m.ADLCP = "http://www.adlnet.org/xsd/adlcp_rootv1p2"
	m.ID, m.Version = "reach-"+d.ID, "1"
	m.Schema, m.SchemaVersion = "ADL SCORM", "1.2"
	m.Orgs.Default = "org"
	m.Orgs.Org.ID, m.Orgs.Org.Title = "org", title
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i, mod := range modules {
		t := mod.Title
		if t == "" {
			t = mod.AU.Title
		}
		href := fmt.Sprintf("sco/%d.html", i+1)
		item := scormItem{ID: fmt.Sprintf("item-%d", i+1), Ref: fmt.Sprintf("res-%d", i+1), Title: t}
		if mod.AU.MasteryScore != nil {
			item.MasteryScore = fmt.Sprintf("%d", int(*mod.AU.MasteryScore*100+0.5))
		}
		m.Orgs.Org.Items = append(m.Orgs.Org.Items, item)
		r := scormResource{ID: item.Ref, Type: "webcontent", SCOType: "sco", Href: href}
		r.File.Href = href
		m.Resources = append(m.Resources, r)
		play, _ := json.Marshal(PlayURL(contentURL, d.Token, mod.Module))
		w, err := zw.CreateHeader(&zip.FileHeader{Name: href, Method: zip.Deflate, Modified: modified})
		if err == nil {
			err = scoPage.Execute(w, map[string]any{"Title": t, "Play": template.JS(play), "Origin": origin})
		}
		if err != nil {
			return nil, errs.Wrap(errs.Internal, err, "the SCORM package could not be written")
		}
	}
	doc, err := xml.MarshalIndent(m, "", "  ")
	if err == nil {
		var w interface{ Write([]byte) (int, error) }
		w, err = zw.CreateHeader(&zip.FileHeader{Name: "imsmanifest.xml", Method: zip.Deflate, Modified: modified})
		if err == nil {
			_, err = w.Write(append([]byte(xml.Header), doc...))
		}
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "the SCORM package could not be written")
	}
	return buf.Bytes(), nil
}
