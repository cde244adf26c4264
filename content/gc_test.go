package content_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/internal/blob"
	"github.com/reach-london/reach/internal/reachtest"
)

func sumOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func blobExists(t *testing.T, inst *reachtest.Instance, sum string) bool {
	t.Helper()
	_, err := inst.App.Blobs.Stat(context.Background(), content.BlobKey(sum))
	if err != nil && !errors.Is(err, blob.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// TestDeletePackageAndSweep: issue 18 §5. An unused package can be
// deleted with the blobs only it named; a used one cannot; the sweep
// removes unreferenced blobs but keeps those an import in progress holds
// (its lease), on the local store and on MinIO.
func TestDeletePackageAndSweep(t *testing.T) {
	forEachBackend(t, func(t *testing.T, inst *reachtest.Instance, admin *client.Client) {
		ctx := context.Background()
		shared := "/* shared between A and B */"
		a, err := admin.ImportPackage(ctx, "london", bytes.NewReader(makeZip(t, files("cmi5.xml", cmi5XML, "au1/index.html", "only in A", "lib/shared.js", shared, "a.txt", "A's own")...)))
		if err != nil {
			t.Fatal(err)
		}
		b, err := admin.ImportPackage(ctx, "london", bytes.NewReader(makeZip(t, files("tincan.xml", tincanXML, "story.html", "only in B", "lib/shared.js", shared)...)))
		if err != nil {
			t.Fatal(err)
		}
		res, err := admin.DeletePackage(ctx, "london", a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if res.Checked != 4 || res.Deleted != 3 {
			t.Errorf("delete A: %+v, want 4 checked, 3 deleted", res)
		}
		for body, want := range map[string]bool{"only in A": false, "A's own": false, cmi5XML: false, shared: true, "only in B": true} {
			if got := blobExists(t, inst, sumOf(body)); got != want {
				t.Errorf("blob of %.20q exists = %v, want %v", body, got, want)
			}
		}
		if _, err := admin.Package(ctx, "london", a.ID); !isStatus(err, 404) {
			t.Errorf("deleted package still there: %v", err)
		}
		for name, id := range map[string]string{"again": a.ID, "not a uuid": "x'; --", "unknown": "0b7c2a52-9a9e-4a43-9a60-7d5e3e1e2c11"} {
			if _, err := admin.DeletePackage(ctx, "london", id); !isStatus(err, 404) {
				t.Errorf("delete %s: %v, want 404", name, err)
			}
		}
		// Packages a course version names stay.
		vs, _ := admin.CourseVersions(ctx, "london")
		if _, err := admin.DeletePackage(ctx, "london", vs[0].BasePackageID); !isStatus(err, 409) || !strings.Contains(err.Error(), "used by course version 1") {
			t.Errorf("delete the base package: %v", err)
		}
		if _, err := admin.ReplaceModule(ctx, "london", vs[0].Modules[0].Module, b.ID, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.DeletePackage(ctx, "london", b.ID); !isStatus(err, 409) {
			t.Errorf("delete a package a draft uses: %v", err)
		}
		if !blobExists(t, inst, sumOf("only in B")) {
			t.Error("a refused delete removed files")
		}

		// The sweep: an orphan goes, a blob an import holds stays, a blob
		// whose lease expired goes, young blobs wait for --older-than.
		put := func(body string) string {
			sum := sumOf(body)
			if err := inst.App.Blobs.Put(ctx, content.BlobKey(sum), strings.NewReader(body), int64(len(body)), "text/plain"); err != nil {
				t.Fatal(err)
			}
			return sum
		}
		orphan, leased, expired := put("orphan"), put("held by an import in progress"), put("held by a crashed import")
		db := inst.App.DB.SQL
		now := time.Now()
		if _, err := db.ExecContext(ctx, `INSERT INTO content_blob_leases (lease_id, sha256, expires_at) VALUES ('live', $1, $2), ('dead', $3, $4)`,
			leased, now.Add(time.Hour).UnixMilli(), expired, now.Add(-time.Minute).UnixMilli()); err != nil {
			t.Fatal(err)
		}
		svc := inst.App.Content()
		if res, err := svc.SweepBlobs(ctx, time.Hour); err != nil || res.Deleted != 0 {
			t.Fatalf("sweep of young blobs: %+v %v", res, err)
		}
		res2, err := svc.SweepBlobs(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if res2.Deleted != 2 || res2.Bytes != int64(len("orphan")+len("held by a crashed import")) {
			t.Errorf("sweep: %+v, want the orphan and the expired lease's blob", res2)
		}
		if blobExists(t, inst, orphan) || blobExists(t, inst, expired) || !blobExists(t, inst, leased) {
			t.Errorf("after sweep: orphan %v expired %v leased %v", blobExists(t, inst, orphan), blobExists(t, inst, expired), blobExists(t, inst, leased))
		}
		// Every blob a package names is still there.
		assertPackagesWhole(t, inst)
		audit, _ := admin.Audit(ctx, "london")
		found := false
		for _, e := range audit {
			found = found || e.Action == content.AuditPackageDelete
		}
		if !found {
			t.Error("no content.package.delete in the audit log")
		}
	})
}

// assertPackagesWhole checks that every file of every package has its blob.
func assertPackagesWhole(t *testing.T, inst *reachtest.Instance) {
	t.Helper()
	rows, err := inst.App.DB.SQL.QueryContext(context.Background(), `SELECT DISTINCT sha256 FROM content_files`)
	if err != nil {
		t.Fatal(err)
	}
	var sums []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		sums = append(sums, s)
	}
	rows.Close()
	missing := 0
	for _, s := range sums {
		if !blobExists(t, inst, s) {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d referenced blobs are missing", missing, len(sums))
	}
}

// TestSweepDuringImports: sweeps run back to back while packages sharing
// files are imported, deleted and imported again; no package is ever left
// naming a missing blob, and afterwards only referenced blobs remain.
func TestSweepDuringImports(t *testing.T) {
	forEachBackend(t, func(t *testing.T, inst *reachtest.Instance, admin *client.Client) {
		ctx := context.Background()
		svc := inst.App.Content()
		london, err := inst.App.Borough(ctx, "london")
		if err != nil {
			t.Fatal(err)
		}
		zips := make([][]byte, 6)
		for i := range zips {
			entries := files("tincan.xml", strings.Replace(tincanXML, "xAPI test", fmt.Sprintf("Package %d", i), 1), "story.html", "shared story",
				"lib/common.js", "common to all", fmt.Sprintf("own-%d.txt", i), fmt.Sprintf("own file %d", i))
			for j := 0; j < 20; j++ {
				entries = append(entries, zentry{name: fmt.Sprintf("pages/%d.html", j), body: []byte(fmt.Sprintf("page %d of group %d", j, i%2))})
			}
			zips[i] = makeZip(t, entries...)
		}
		stop := make(chan struct{})
		var sweeps int
		var sweepErr error
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := svc.SweepBlobs(ctx, 0); err != nil {
					sweepErr = err
					return
				}
				sweeps++
			}
		}()
		for round := 0; round < 3; round++ {
			ids := make([]string, len(zips))
			var iw sync.WaitGroup
			for i := range zips {
				iw.Add(1)
				go func(i int) {
					defer iw.Done()
					p, err := svc.ImportReader(ctx, london.ID, "test", bytes.NewReader(zips[i]))
					if err != nil {
						t.Errorf("round %d import %d: %v", round, i, err)
						return
					}
					ids[i] = p.ID
				}(i)
			}
			iw.Wait()
			for i, id := range ids {
				if id != "" && (i+round)%2 == 0 {
					if _, err := svc.DeletePackage(ctx, london.ID, "test", id); err != nil {
						t.Errorf("round %d delete %d: %v", round, i, err)
					}
				}
			}
		}
		close(stop)
		wg.Wait()
		if sweepErr != nil {
			t.Fatal(sweepErr)
		}
		if sweeps < 2 {
			t.Fatalf("only %d sweeps ran during the imports", sweeps)
		}
		assertPackagesWhole(t, inst)
		if _, err := svc.SweepBlobs(ctx, 0); err != nil {
			t.Fatal(err)
		}
		_, _, stored := counts(t, inst)
		var referenced int
		inst.App.DB.SQL.QueryRowContext(ctx, `SELECT COUNT(DISTINCT sha256) FROM content_files`).Scan(&referenced)
		if stored != referenced {
			t.Errorf("%d blobs stored, %d referenced: the sweep left garbage or lost files", stored, referenced)
		}
		t.Logf("%d sweeps ran during 3 rounds of 6 imports", sweeps)
	})
}
