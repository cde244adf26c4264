// Package manifest parses the manifests of the content packages Reach
// imports — cmi5.xml (cmi5 course structure), imsmanifest.xml (SCORM 1.2
// and SCORM 2004 2nd, 3rd and 4th edition) and tincan.xml (xAPI) — into one
// course model: a Course of Blocks and AUs. Every package type becomes the
// same tree, so import, the learner portal and launch handle one shape;
// what only one standard has (SCORM prerequisites, adlcp data, sequencing
// basics) is kept on the AU in optional fields.
//
// The parsers never touch the zip: they read manifest bytes and report the
// element or attribute at fault in an *Error.
package manifest

import "sort"

// Type is a package's standard.
type Type string

// The package types Reach imports.
const (
	TypeCMI5        Type = "cmi5"
	TypeSCORM12     Type = "scorm12"
	TypeSCORM2004v2 Type = "scorm2004-2nd"
	TypeSCORM2004v3 Type = "scorm2004-3rd"
	TypeSCORM2004v4 Type = "scorm2004-4th"
	TypeXAPI        Type = "xapi"
)

// IsSCORM reports whether t is one of the SCORM types.
func (t Type) IsSCORM() bool {
	switch t {
	case TypeSCORM12, TypeSCORM2004v2, TypeSCORM2004v3, TypeSCORM2004v4:
		return true
	}
	return false
}

// Valid reports whether t is a known type.
func (t Type) Valid() bool { return t == TypeCMI5 || t == TypeXAPI || t.IsSCORM() }

// The cmi5 moveOn values (cmi5 §13.1.4). SCORM and xAPI AUs get the value
// that matches how they report (see the parsers).
const (
	MoveOnPassed             = "Passed"
	MoveOnCompleted          = "Completed"
	MoveOnCompletedAndPassed = "CompletedAndPassed"
	MoveOnCompletedOrPassed  = "CompletedOrPassed"
	MoveOnNotApplicable      = "NotApplicable"
	LaunchMethodAnyWindow    = "AnyWindow"
	LaunchMethodOwnWindow    = "OwnWindow"
	defaultMoveOn            = MoveOnNotApplicable
	defaultLaunchMethod      = LaunchMethodAnyWindow
)

// AU kinds: what an AU is in its own standard.
const (
	KindAU       = "au"       // cmi5 assignable unit
	KindSCO      = "sco"      // SCORM sharable content object (talks to the SCORM API)
	KindAsset    = "asset"    // SCORM asset (launched, never reports)
	KindActivity = "activity" // tincan.xml launchable activity
)

// Course is a package's content as one tree. For cmi5 it is the course
// structure; for SCORM the default organization (its items become Blocks
// when they have children and AUs when they reference a resource); for
// tincan.xml the course activity with its launchable activities as AUs.
type Course struct {
	// ID is the course's stable identifier: the cmi5 course id (an IRI),
	// the SCORM manifest identifier, or the tincan course activity id.
	ID          string  `json:"id"`
	Title       string  `json:"title"`
	Description string  `json:"description,omitempty"`
	Blocks      []Block `json:"blocks,omitempty"`
	AUs         []AU    `json:"aus,omitempty"`
	// SCORM: the manifest's schemaversion as written, and the identifier
	// of the organization the tree was taken from.
	SchemaVersion string `json:"schemaVersion,omitempty"`
	Organization  string `json:"organization,omitempty"`
	// Objectives are the cmi5 course structure's objectives (id, title,
	// description); blocks and AUs reference them by id.
	Objectives []Objective `json:"objectives,omitempty"`
}

// Block groups AUs and nested blocks (a cmi5 block, a SCORM item with
// children).
type Block struct {
	ID string `json:"id"`
	// Seq is the block's position in document order across the tree.
	Seq         int         `json:"seq"`
	Title       string      `json:"title"`
	Description string      `json:"description,omitempty"`
	Blocks      []Block     `json:"blocks,omitempty"`
	AUs         []AU        `json:"aus,omitempty"`
	Sequencing  *Sequencing `json:"sequencing,omitempty"`
	Objectives  []Objective `json:"objectives,omitempty"`
}

// AU is one launchable unit: a cmi5 AU, a SCORM SCO or asset, or a
// tincan.xml activity with a launch URL.
type AU struct {
	// ID is stable across imports of the same package: the cmi5 AU id (an
	// IRI), the SCORM item identifier, or the tincan activity id.
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Seq is the AU's position in document order across the whole tree.
	Seq         int    `json:"seq"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// LaunchURL is relative to the package root, cleaned, with any query
	// string the manifest gave (SCORM item parameters are appended here
	// too). A cmi5 AU may instead have an absolute http(s) URL (content
	// hosted elsewhere); then External is true.
	LaunchURL string `json:"launchUrl"`
	External  bool   `json:"external,omitempty"`
	// LaunchParameters is the cmi5 launchParameters or SCORM
	// adlcp:datafromlms / adlcp:dataFromLMS value, given to the content
	// as-is.
	LaunchParameters string `json:"launchParameters,omitempty"`
	// MoveOn is the cmi5 moveOn value; "NotApplicable" when the package
	// type has none.
	MoveOn string `json:"moveOn"`
	// MasteryScore is a scaled score from 0 to 1: cmi5 masteryScore,
	// SCORM 1.2 adlcp:masteryscore / 100, or SCORM 2004
	// imsss:minNormalizedMeasure of the primary objective when
	// satisfiedByMeasure is true. Nil when none was given.
	MasteryScore *float64 `json:"masteryScore,omitempty"`
	// LaunchMethod is the cmi5 launchMethod (AnyWindow or OwnWindow).
	LaunchMethod string `json:"launchMethod"`
	// ActivityType is the cmi5 activityType or tincan activity type.
	ActivityType string `json:"activityType,omitempty"`
	// EntitlementKey is the cmi5 entitlementKey, as written (trimmed).
	EntitlementKey string `json:"entitlementKey,omitempty"`
	// SCORM only.
	ResourceID          string      `json:"resourceId,omitempty"`
	Prerequisites       string      `json:"prerequisites,omitempty"`       // SCORM 1.2 adlcp:prerequisites (AICC script)
	MaxTimeAllowed      string      `json:"maxTimeAllowed,omitempty"`      // SCORM 1.2 adlcp:maxtimeallowed
	TimeLimitAction     string      `json:"timeLimitAction,omitempty"`     // adlcp:timelimitaction
	CompletionThreshold *float64    `json:"completionThreshold,omitempty"` // SCORM 2004 adlcp:completionThreshold
	Hidden              bool        `json:"hidden,omitempty"`              // isvisible="false"
	Sequencing          *Sequencing `json:"sequencing,omitempty"`
	Objectives          []Objective `json:"objectives,omitempty"`
}

// Sequencing is the simple part of IMS Simple Sequencing (SCORM 2004)
// that players commonly honour. Rules Reach does not model are ignored.
type Sequencing struct {
	Choice       *bool `json:"choice,omitempty"`
	Flow         *bool `json:"flow,omitempty"`
	ForwardOnly  *bool `json:"forwardOnly,omitempty"`
	AttemptLimit int   `json:"attemptLimit,omitempty"`
	// AttemptDuration is imsss:attemptAbsoluteDurationLimit (ISO 8601).
	AttemptDuration string `json:"attemptDuration,omitempty"`
	// Rules are the pre-condition rules written as "<condition> → <action>",
	// for example "satisfied → skip".
	Rules             []string `json:"rules,omitempty"`
	TrackedCompletion *bool    `json:"completionSetByContent,omitempty"`
	TrackedObjective  *bool    `json:"objectiveSetByContent,omitempty"`
}

// Objective is a SCORM 2004 objective, a cmi5 objective of the course
// structure (ID, Title, Description), or a cmi5 block's or AU's reference
// to one (ID only).
type Objective struct {
	ID                   string   `json:"id"`
	Title                string   `json:"title,omitempty"`
	Description          string   `json:"description,omitempty"`
	Primary              bool     `json:"primary,omitempty"`
	SatisfiedByMeasure   bool     `json:"satisfiedByMeasure,omitempty"`
	MinNormalizedMeasure *float64 `json:"minNormalizedMeasure,omitempty"`
}

// Manifest is what a parser returns: the course tree, the type, and the
// package-relative paths the parser found the manifest naming, which
// import checks exist in the zip.
type Manifest struct {
	Type   Type   `json:"type"`
	Course Course `json:"course"`
	// Files are package paths the manifest lists as resource files
	// (SCORM <file href>); import warns about, but does not reject,
	// listed files that are missing, as authoring tools often list files
	// they did not ship.
	Files []string `json:"-"`
}

// AllAUs returns every AU of the course in document order, depth first.
func (c *Course) AllAUs() []AU {
	var out []AU
	var walk func(bs []Block)
	out = append(out, c.AUs...)
	walk = func(bs []Block) {
		for _, b := range bs {
			out = append(out, b.AUs...)
			walk(b.Blocks)
		}
	}
	walk(c.Blocks)
	// A level keeps its AUs and blocks in two lists; Seq restores the
	// order the manifest wrote them in.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

// FindAU returns the AU with id, if any.
func (c *Course) FindAU(id string) (AU, bool) {
	for _, au := range c.AllAUs() {
		if au.ID == id {
			return au, true
		}
	}
	return AU{}, false
}
