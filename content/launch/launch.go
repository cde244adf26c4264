// Package launch is the LMS side of cmi5 (and of xAPI tincan launches):
// registrations, AU sessions, launch URLs, one-time fetch tokens,
// LMS.LaunchData and learner preferences, the statements the LMS itself
// makes (launched, satisfied, abandoned, waived), and the cmi5 statement
// rules the LRS enforces on what an AU sends in a session.
//
// The HTTP layer (server/launch*.go, server/portal*.go) calls Service; the
// LRS calls Rules before and after it stores statements sent with a
// launch token.
package launch

import (
	"encoding/json"
	"strings"

	"github.com/reach-london/reach/lrs"
)

// cmi5 verbs (cmi5 §9.3) and xAPI's voided verb.
const (
	VerbLaunched    = "http://adlnet.gov/expapi/verbs/launched"
	VerbInitialized = "http://adlnet.gov/expapi/verbs/initialized"
	VerbCompleted   = "http://adlnet.gov/expapi/verbs/completed"
	VerbPassed      = "http://adlnet.gov/expapi/verbs/passed"
	VerbFailed      = "http://adlnet.gov/expapi/verbs/failed"
	VerbAbandoned   = "https://w3id.org/xapi/adl/verbs/abandoned"
	VerbWaived      = "https://w3id.org/xapi/adl/verbs/waived"
	VerbTerminated  = "http://adlnet.gov/expapi/verbs/terminated"
	VerbSatisfied   = "https://w3id.org/xapi/adl/verbs/satisfied"
	VerbVoided      = "http://adlnet.gov/expapi/verbs/voided"
)

// cmi5 context categories and extensions (cmi5 §9.6, §9.7).
const (
	CategoryCMI5           = "https://w3id.org/xapi/cmi5/context/categories/cmi5"
	CategoryMoveOn         = "https://w3id.org/xapi/cmi5/context/categories/moveon"
	ExtSessionID           = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"
	ExtMasteryScore        = "https://w3id.org/xapi/cmi5/context/extensions/masteryscore"
	ExtLaunchMode          = "https://w3id.org/xapi/cmi5/context/extensions/launchmode"
	ExtLaunchURL           = "https://w3id.org/xapi/cmi5/context/extensions/launchurl"
	ExtLaunchParameters    = "https://w3id.org/xapi/cmi5/context/extensions/launchparameters"
	ExtMoveOn              = "https://w3id.org/xapi/cmi5/context/extensions/moveon"
	ExtReason              = "https://w3id.org/xapi/cmi5/result/extensions/reason"
	ActivityTypeCourse     = "https://w3id.org/xapi/cmi5/activitytype/course"
	ActivityTypeBlock      = "https://w3id.org/xapi/cmi5/activitytype/block"
	LaunchDataStateID      = "LMS.LaunchData"
	LearnerPreferencesID   = "cmi5LearnerPreferences"
	RoleProfileID          = "https://reach.london/xapi/profiles/role"
	DefaultLanguage        = "en-GB"
	DefaultAudioPreference = "on"
)

// Launch modes (cmi5 §10.0).
const (
	ModeNormal = "Normal"
	ModeBrowse = "Browse"
	ModeReview = "Review"
)

// The moveOn values (cmi5 §13.1.4).
const (
	MoveOnPassed             = "Passed"
	MoveOnCompleted          = "Completed"
	MoveOnCompletedAndPassed = "CompletedAndPassed"
	MoveOnCompletedOrPassed  = "CompletedOrPassed"
	MoveOnNotApplicable      = "NotApplicable"
)

// WaiveReasons are the reasons an AU may be waived for (cmi5 §9.5.4.1).
var WaiveReasons = []string{"Tested Out", "Equivalent AU", "Equivalent Outside Activity", "Administrative"}

// Professions a learner may choose; the AU reads the choice from the role
// agent profile.
var Professions = []string{"artist", "linkworker", "gp", "other"}

// ProfessionLabel is how a profession reads in the portal.
func ProfessionLabel(p string) string {
	switch p {
	case "artist":
		return "artist or arts organisation"
	case "linkworker":
		return "social prescribing link worker"
	case "gp":
		return "GP or primary care"
	case "other":
		return "other role"
	}
	return ""
}

// LearnerAgent is the xAPI Agent of a learner everywhere Reach writes or
// reads their records: an account on the app origin named by the user id,
// so it never changes when the learner changes their email or name.
func LearnerAgent(publicURL, userID string) lrs.Actor {
	return lrs.Actor{ObjectType: "Agent", Account: &lrs.Account{HomePage: strings.TrimRight(publicURL, "/"), Name: userID}}
}

// LearnerAgentJSON is LearnerAgent as JSON.
func LearnerAgentJSON(publicURL, userID string) json.RawMessage {
	b, _ := json.Marshal(LearnerAgent(publicURL, userID))
	return b
}
