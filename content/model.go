// Package content owns content packages and the borough's course: import
// and validation of cmi5, SCORM and xAPI zips into content-addressed blob
// storage, the package file maps the content origin serves from, and the
// immutable versions of each borough's course with their rollout (draft,
// publish, roll back, learners pinned to the version they started).
//
// The model, in one place:
//
//	Package        an imported zip: type, title, file map path → FileRef,
//	               and its Course (Blocks → AUs) parsed from the manifest
//	FileRef        one file: sha256 of its bytes, size, content type; the
//	               bytes live in the blob store at BlobKey(sha256)
//	CourseVersion  one immutable version of a borough's course: Number,
//	               Status, Modules (module id → package + AU), Slots
//	Pin            which version a learner started a module on
//
// The learner portal and launch (issue 6) use Service.PublishedVersion,
// Service.VersionForLaunch, Service.Package, Service.ContentToken and
// Service.FileURL; see their doc comments.
package content

import (
	"time"

	"github.com/reach-london/reach/content/course"
	"github.com/reach-london/reach/content/manifest"
)

// The course model is the manifest package's; these aliases let callers
// write content.Course without importing the parser package.
type (
	// Type is a package's standard: cmi5, scorm12, scorm2004-2nd/3rd/4th, xapi.
	Type = manifest.Type
	// Course is a package's content as one tree of Blocks and AUs.
	Course = manifest.Course
	// Block groups AUs (a cmi5 block; a SCORM item with children).
	Block = manifest.Block
	// AU is one launchable unit (cmi5 AU, SCORM SCO or asset, tincan activity).
	AU = manifest.AU
	// Sequencing is the simple part of SCORM 2004 sequencing.
	Sequencing = manifest.Sequencing
	// Objective is a SCORM 2004 objective.
	Objective = manifest.Objective
)

// The package types.
const (
	TypeCMI5        = manifest.TypeCMI5
	TypeSCORM12     = manifest.TypeSCORM12
	TypeSCORM2004v2 = manifest.TypeSCORM2004v2
	TypeSCORM2004v3 = manifest.TypeSCORM2004v3
	TypeSCORM2004v4 = manifest.TypeSCORM2004v4
	TypeXAPI        = manifest.TypeXAPI
)

// BlobPrefix is where package files live in the blob store. Keys are
// content-addressed, so a file's bytes never change under its key and
// identical files in any number of packages are stored once.
const BlobPrefix = "content/sha256/"

// BlobKey is the blob store key of the file whose SHA-256 is sum (lower-case hex).
func BlobKey(sum string) string { return BlobPrefix + sum }

// FileRef is one file of a package.
type FileRef struct {
	SHA256      string `json:"sha256"` // lower-case hex of the bytes; the blob key is BlobKey(SHA256)
	Size        int64  `json:"size"`
	ContentType string `json:"contentType"`
}

// Package is one imported zip. Packages are immutable: a changed zip is a
// new package with a new ID.
type Package struct {
	ID        string `json:"id"`
	BoroughID string `json:"boroughId"`
	Type      Type   `json:"type"`
	Title     string `json:"title"`
	// Course is the tree parsed from the manifest. Launch URLs in it are
	// relative to the package root, i.e. keys of Files (plus any query).
	Course Course `json:"course"`
	// Files maps each path inside the zip ("/"-separated, no leading
	// "/") to its content. Loaded by Service.Package; empty in lists.
	Files map[string]FileRef `json:"files,omitempty"`
	// FileCount and Size are the number of files and their total bytes.
	FileCount int   `json:"fileCount"`
	Size      int64 `json:"size"`
	// ContentHash identifies the package's content: the SHA-256 of its
	// sorted file map. Importing the same zip again into the same borough
	// returns the existing package.
	ContentHash string    `json:"contentHash"`
	CreatedBy   string    `json:"createdBy"`
	CreatedAt   time.Time `json:"createdAt"`
	// Warnings are non-fatal findings of import (for example files the
	// manifest lists that the zip lacks). Set on the import answer only.
	Warnings []string `json:"warnings,omitempty"`
}

// Status is a course version's place in the rollout.
type Status string

// The version statuses. A version starts as a draft; publishing it makes it
// the one new launches get and retires the version published before it;
// rolling back re-publishes the version published before the current one.
const (
	StatusDraft     Status = "draft"
	StatusPublished Status = "published"
	StatusRetired   Status = "retired"
)

// ModuleBinding says which package and AU play one module of the course in
// a version: the base course's AU for the module, or the AU of a package
// the borough uploaded to replace it.
type ModuleBinding struct {
	// Module is the base course's module id, e.g. "1-landscape".
	Module string `json:"module"`
	Title  string `json:"title"`
	// PackageID and AUID locate the AU to launch: Service.Package(PackageID)
	// and then Course.FindAU(AUID).
	PackageID string `json:"packageId"`
	AUID      string `json:"auId"`
	// Replaced is true when the borough replaced the base module with an
	// uploaded package.
	Replaced bool `json:"replaced"`
}

// CourseVersion is one immutable version of a borough's course. Everything
// but Status, PublishedBy and PublishedAt is fixed at creation; any change
// an admin makes creates a new version.
type CourseVersion struct {
	ID        string `json:"id"`
	BoroughID string `json:"boroughId"`
	// Number counts the borough's versions from 1.
	Number int    `json:"number"`
	Status Status `json:"status"`
	// BasePackageID is the package built from the base course with this
	// version's Slots.
	BasePackageID string `json:"basePackageId"`
	// Modules lists the course's modules in menu order.
	Modules []ModuleBinding `json:"modules"`
	// Slots is the borough's local data the base package was built with.
	Slots Slots `json:"slots"`
	// Note says what changed ("slots edited", "module 3 replaced", ...).
	Note        string     `json:"note"`
	CreatedBy   string     `json:"createdBy"`
	CreatedAt   time.Time  `json:"createdAt"`
	PublishedBy string     `json:"publishedBy,omitempty"`
	PublishedAt *time.Time `json:"publishedAt,omitempty"`
}

// Module returns the binding of module id, if the version has it.
func (v CourseVersion) Module(id string) (ModuleBinding, bool) {
	for _, m := range v.Modules {
		if m.Module == id {
			return m, true
		}
	}
	return ModuleBinding{}, false
}

// Slots is a borough's local data for the course's slots (local offers,
// contacts, case studies, branding), as the admin API reads and writes it;
// it is the course builder's own type, so the JSON form is the one
// content/course documents. An empty BoroughName means the borough's name.
type (
	Slots     = course.Slots
	Branding  = course.Branding
	Offer     = course.Offer
	Contact   = course.Contact
	CaseStudy = course.CaseStudy
)

// Pin records the version a learner started a module on, so a later
// publish does not change the content under them part-way through.
type Pin struct {
	BoroughID string    `json:"boroughId"`
	Learner   string    `json:"learner"`
	Module    string    `json:"module"`
	VersionID string    `json:"versionId"`
	CreatedAt time.Time `json:"createdAt"`
}

// Launchable is what VersionForLaunch answers: the version the learner
// gets for the module, the module's binding in it, its package (with the
// file map) and the AU to launch.
type Launchable struct {
	Version CourseVersion `json:"version"`
	Module  ModuleBinding `json:"module"`
	Package Package       `json:"package"`
	AU      AU            `json:"au"`
	// Pinned is true when the learner already had a pin (part-way
	// through); false when this launch created it.
	Pinned bool `json:"pinned"`
}
