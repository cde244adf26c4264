package manifest

import "os"

// Manifests in the shapes the common authoring tools write, made up for
// these tests (identifiers, titles and file names are invented). They live
// in testdata so the content package's import tests use them too.
var (
	storyline12     = fixture("storyline-scorm12.imsmanifest.xml")
	storyline2004v4 = fixture("storyline-scorm2004v4.imsmanifest.xml")
	rise12          = fixture("rise-scorm12.imsmanifest.xml")
	// captivate2004v3: 3rd-edition threshold as text, dataFromLMS, a BOM.
	captivate2004v3 = fixture("captivate-scorm2004v3.imsmanifest.xml")
	// ispring2004v2: multi-SCO, nested items, xml:base, an asset, an empty item.
	ispring2004v2 = fixture("ispring-scorm2004v2.imsmanifest.xml")
	// adapt12: no metadata (edition from the ADL namespace), adlcp extras.
	adapt12 = fixture("adapt-scorm12.imsmanifest.xml")
	// elucidat2004v3: a query in href plus item parameters and a fragment.
	elucidat2004v3  = fixture("elucidat-scorm2004v3.imsmanifest.xml")
	storylineCMI5   = fixture("storyline.cmi5.xml")
	blocksCMI5      = fixture("blocks.cmi5.xml") // interleaved blocks and AUs, an external AU
	storylineTinCan = fixture("storyline.tincan.xml")
	riseTinCan      = fixture("rise.tincan.xml") // ISO-8859-1, no course-typed activity
)

func fixture(name string) string {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		panic(err)
	}
	return string(b)
}
