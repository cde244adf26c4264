package content_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"github.com/reach-london/reach/internal/config"
	"io/fs"
	"testing"

	"github.com/reach-london/reach/internal/blob"
	"github.com/reach-london/reach/internal/reachtest"
)

// zentry is one entry of a test zip.
type zentry struct {
	name string
	body []byte
	mode fs.FileMode // 0: a regular file
}

// makeZip builds a zip from entries, in order, including names and modes
// a careful writer would refuse (the point of the rejection tests).
func makeZip(t testing.TB, entries ...zentry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatalf("zip entry %q: %v", e.name, err)
		}
		if _, err := w.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func files(kv ...string) []zentry {
	var out []zentry
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, zentry{name: kv[i], body: []byte(kv[i+1])})
	}
	return out
}

const cmi5XML = `<?xml version="1.0" encoding="utf-8"?>
<courseStructure xmlns="https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd">
  <course id="https://example.org/test/course"><title><langstring lang="en">Test course</langstring></title><description><langstring lang="en">For tests</langstring></description></course>
  <au id="https://example.org/test/course/au1" moveOn="Completed"><title><langstring lang="en">First AU</langstring></title><description><langstring lang="en">The only AU</langstring></description><url>au1/index.html</url></au>
</courseStructure>`

const scorm12XML = `<?xml version="1.0"?>
<manifest identifier="test12" xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2" xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="o"><organization identifier="o"><title>SCORM 1.2 test</title>
    <item identifier="i1" identifierref="r1"><title>Part one</title><adlcp:masteryscore>70</adlcp:masteryscore></item>
    <item identifier="i2" identifierref="r2"><title>Part two</title></item>
  </organization></organizations>
  <resources>
    <resource identifier="r1" type="webcontent" adlcp:scormtype="sco" href="one/index.html"><file href="one/index.html"/></resource>
    <resource identifier="r2" type="webcontent" adlcp:scormtype="sco" href="two/index.html"><file href="two/index.html"/></resource>
  </resources>
</manifest>`

func scorm2004XML(edition string) string {
	return `<?xml version="1.0"?>
<manifest identifier="test2004" xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3">
  <metadata><schema>ADL SCORM</schema><schemaversion>` + edition + `</schemaversion></metadata>
  <organizations default="o"><organization identifier="o"><title>SCORM 2004 test</title>
    <item identifier="i1" identifierref="r1"><title>Only SCO</title></item>
  </organization></organizations>
  <resources><resource identifier="r1" type="webcontent" adlcp:scormType="sco" href="index_lms.html"><file href="index_lms.html"/></resource></resources>
</manifest>`
}

const tincanXML = `<?xml version="1.0"?>
<tincan xmlns="http://projecttincan.com/tincan.xsd"><activities>
  <activity id="http://example.org/test/tincan" type="http://adlnet.gov/expapi/activities/course">
    <name lang="en">xAPI test</name><launch lang="en">story.html</launch>
  </activity>
</activities></tincan>`

// counts returns how many package rows, file rows and content blobs exist.
func counts(t *testing.T, inst *reachtest.Instance) (pkgs, fileRows, blobs int) {
	t.Helper()
	ctx := context.Background()
	db := inst.App.DB.SQL
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM content_packages`).Scan(&pkgs); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM content_files`).Scan(&fileRows); err != nil {
		t.Fatal(err)
	}
	if err := inst.App.Blobs.List(ctx, "content/sha256/", func(blob.Info) error { blobs++; return nil }); err != nil {
		t.Fatal(err)
	}
	return
}

type configT = config.Config

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// toZip64 rewrites a zip (without a comment) to end with a Zip64 end of
// central directory record and locator, the form a Zip64 writer uses,
// so the reader must follow the Zip64 records to find the files.
func toZip64(t testing.TB, z []byte) []byte {
	t.Helper()
	end := len(z) - 22
	if binary.LittleEndian.Uint32(z[end:]) != 0x06054b50 {
		t.Fatal("toZip64: no end of central directory record at the end")
	}
	entries := binary.LittleEndian.Uint16(z[end+10:])
	cdSize := binary.LittleEndian.Uint32(z[end+12:])
	cdOffset := binary.LittleEndian.Uint32(z[end+16:])
	out := append([]byte(nil), z[:end]...)
	rec := make([]byte, 56)
	binary.LittleEndian.PutUint32(rec[0:], 0x06064b50)
	binary.LittleEndian.PutUint64(rec[4:], 44)
	binary.LittleEndian.PutUint16(rec[12:], 45)
	binary.LittleEndian.PutUint16(rec[14:], 45)
	binary.LittleEndian.PutUint64(rec[24:], uint64(entries))
	binary.LittleEndian.PutUint64(rec[32:], uint64(entries))
	binary.LittleEndian.PutUint64(rec[40:], uint64(cdSize))
	binary.LittleEndian.PutUint64(rec[48:], uint64(cdOffset))
	loc := make([]byte, 20)
	binary.LittleEndian.PutUint32(loc[0:], 0x07064b50)
	binary.LittleEndian.PutUint64(loc[8:], uint64(end))
	binary.LittleEndian.PutUint32(loc[16:], 1)
	eocd := append([]byte(nil), z[end:]...)
	binary.LittleEndian.PutUint16(eocd[8:], 0xffff)
	binary.LittleEndian.PutUint16(eocd[10:], 0xffff)
	binary.LittleEndian.PutUint32(eocd[12:], 0xffffffff)
	binary.LittleEndian.PutUint32(eocd[16:], 0xffffffff)
	out = append(out, rec...)
	out = append(out, loc...)
	return append(out, eocd...)
}
