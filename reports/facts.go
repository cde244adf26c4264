// Package reports turns the LRS's statements into the figures borough and
// platform admins read: starts, completions and pass rates per module, by
// professional role and week by week, time spent, where learners stop,
// knowledge-check answers, and reflections and drafts written.
//
// A projector reads statements in sequence order (the same durable feed
// forwarding uses) and folds each into small fact tables — one progress row
// per learner and module, one row per answer, one per reflection or draft —
// so report queries scan thousands of rows, not millions of statements.
package reports

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/reach-london/reach/lrs"
)

// Verb IRIs the projector understands.
const (
	VerbLaunched    = "http://adlnet.gov/expapi/verbs/launched"
	VerbInitialized = "http://adlnet.gov/expapi/verbs/initialized"
	VerbCompleted   = "http://adlnet.gov/expapi/verbs/completed"
	VerbPassed      = "http://adlnet.gov/expapi/verbs/passed"
	VerbFailed      = "http://adlnet.gov/expapi/verbs/failed"
	VerbSatisfied   = "https://w3id.org/xapi/adl/verbs/satisfied"
	VerbTerminated  = "http://adlnet.gov/expapi/verbs/terminated"
	VerbAbandoned   = "https://w3id.org/xapi/adl/verbs/abandoned"
	VerbExperienced = "http://adlnet.gov/expapi/verbs/experienced"
	VerbAnswered    = "http://adlnet.gov/expapi/verbs/answered"
	VerbResponded   = "http://adlnet.gov/expapi/verbs/responded"
	VerbUpdated     = "http://id.tincanapi.com/verb/updated"
	VerbVoided      = "http://adlnet.gov/expapi/verbs/voided"
)

// Activity types of the course's own activities.
const (
	TypeReflection = "https://reach.london/xapi/activities/reflection"
	TypeDraft      = "https://reach.london/xapi/activities/draft"
	TypePage       = "https://reach.london/xapi/activities/page"
)

// Fact is what one statement contributes to the reports.
type Fact struct {
	Borough string
	Seq     int64
	// Learner is the actor's identity key; UserID is the Reach account id
	// when the actor is an account on this Reach (homePage = issuer).
	Learner string
	UserID  string
	// AU is the module's activity id: the object of module-level verbs,
	// or the parent context activity of page and question statements.
	AU       string
	AUTitle  string
	Verb     string
	Object   string
	Title    string
	ObjType  string
	Success  *bool
	Score    *float64
	Response string
	// DurationMS is result.duration in milliseconds (terminated, abandoned).
	DurationMS int64
	At         time.Time
}

type statementJSON struct {
	Actor struct {
		Mbox        string `json:"mbox"`
		MboxSHA1Sum string `json:"mbox_sha1sum"`
		OpenID      string `json:"openid"`
		Account     *struct {
			HomePage string `json:"homePage"`
			Name     string `json:"name"`
		} `json:"account"`
	} `json:"actor"`
	Verb struct {
		ID string `json:"id"`
	} `json:"verb"`
	Object struct {
		ObjectType string `json:"objectType"`
		ID         string `json:"id"`
		Definition struct {
			Name map[string]string `json:"name"`
			Type string            `json:"type"`
		} `json:"definition"`
	} `json:"object"`
	Result *struct {
		Success  *bool  `json:"success"`
		Response string `json:"response"`
		Duration string `json:"duration"`
		Score    *struct {
			Scaled *float64 `json:"scaled"`
		} `json:"score"`
	} `json:"result"`
	Context *struct {
		ContextActivities struct {
			Parent   activityRefs `json:"parent"`
			Grouping activityRefs `json:"grouping"`
		} `json:"contextActivities"`
	} `json:"context"`
	Timestamp string `json:"timestamp"`
	Stored    string `json:"stored"`
}

// activityRefs accepts a single activity or a list, as xAPI 1.0 allowed.
type activityRefs []struct {
	ID string `json:"id"`
}

func (a *activityRefs) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var one struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*a = activityRefs{one}
		return nil
	}
	type plain activityRefs
	return json.Unmarshal(b, (*plain)(a))
}

// moduleVerbs are verbs whose object is the module (AU) itself.
var moduleVerbs = map[string]bool{
	VerbLaunched: true, VerbInitialized: true, VerbCompleted: true, VerbPassed: true, VerbFailed: true,
	VerbSatisfied: true, VerbTerminated: true, VerbAbandoned: true,
}

// ExtractFact reads what the reports need from one stored statement.
// issuer is this Reach's public URL, whose accounts are Reach users. It
// reports false for statements the reports do not use.
func ExtractFact(borough string, seq int64, body []byte, issuer string) (Fact, bool) {
	var s statementJSON
	if err := json.Unmarshal(body, &s); err != nil || s.Object.ObjectType == "SubStatement" || s.Object.ObjectType == "StatementRef" {
		return Fact{}, false
	}
	f := Fact{Borough: borough, Seq: seq, Verb: s.Verb.ID, Object: s.Object.ID, ObjType: s.Object.Definition.Type,
		Title: firstName(s.Object.Definition.Name)}
	a := s.Actor
	actor := lrs.Actor{Mbox: a.Mbox, MboxSHA1Sum: a.MboxSHA1Sum, OpenID: a.OpenID}
	if a.Account != nil {
		actor.Account = &lrs.Account{HomePage: a.Account.HomePage, Name: a.Account.Name}
		if strings.TrimRight(a.Account.HomePage, "/") == strings.TrimRight(issuer, "/") {
			f.UserID = a.Account.Name
		}
	}
	if f.Learner = actor.Key(); f.Learner == "" {
		return Fact{}, false
	}
	if moduleVerbs[f.Verb] {
		f.AU, f.AUTitle = f.Object, f.Title
	} else if s.Context != nil && len(s.Context.ContextActivities.Parent) > 0 {
		f.AU = s.Context.ContextActivities.Parent[0].ID
	}
	if f.AU == "" {
		return Fact{}, false
	}
	if r := s.Result; r != nil {
		f.Success, f.Response = r.Success, r.Response
		if r.Score != nil {
			f.Score = r.Score.Scaled
		}
		f.DurationMS = durationMS(r.Duration)
	}
	ts := s.Timestamp
	if ts == "" {
		ts = s.Stored
	}
	if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
		f.At = t.UTC()
	}
	switch f.Verb {
	case VerbExperienced, VerbAnswered, VerbResponded, VerbUpdated:
		return f, true
	}
	return f, moduleVerbs[f.Verb]
}

func firstName(m map[string]string) string {
	for _, k := range []string{"en-GB", "en", "en-US", "und"} {
		if v := m[k]; v != "" {
			return v
		}
	}
	for _, v := range m {
		return v
	}
	return ""
}

var isoDuration = regexp.MustCompile(`^P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// durationMS converts an ISO 8601 duration to milliseconds; years and
// months count as 365 and 30 days, which only matters for absurd values.
func durationMS(d string) int64 {
	m := isoDuration.FindStringSubmatch(d)
	if m == nil {
		return 0
	}
	unit := []float64{365 * 86400, 30 * 86400, 7 * 86400, 86400, 3600, 60, 1}
	var secs float64
	for i, u := range unit {
		if m[i+1] != "" {
			v, _ := strconv.ParseFloat(m[i+1], 64)
			secs += v * u
		}
	}
	return int64(secs * 1000)
}
