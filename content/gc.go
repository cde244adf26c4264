package content

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/reach-london/reach/internal/blob"
	"github.com/reach-london/reach/internal/errs"
)

// Deleting packages and sweeping blobs.
//
// Blobs are content-addressed and shared between packages, so a blob may
// go only when no package names it. The danger is an import in progress:
// it has stored (or found) a blob but not yet committed the package row
// that names it, so the blob looks unreferenced. Imports therefore take a
// lease on every blob they will name before they store or look for it,
// and release it once their package is committed (or their import has
// failed and been cleaned up). Taking leases, deleting packages, sweeping
// and creating course versions all first update one row of content_locks
// in their transaction, which serialises them on both databases:
//
//   - a sweep batch checks references and leases and deletes blobs while
//     holding the lock, so a lease is either visible to it (the blob is
//     kept) or taken after the batch (the import then finds the blob gone
//     and stores it again);
//   - a lease is released only after the package row is committed, so a
//     sweep that no longer sees the lease sees the reference;
//   - a package is deleted only when no course version names it, and a
//     version is created only when the packages it names still exist.
//
// A lease expires after leaseTTL, so a crashed import does not keep its
// blobs for ever; the next sweep then reclaims them.

// AuditPackageDelete is the audit action of a package deletion.
const AuditPackageDelete = "content.package.delete"

// leaseTTL bounds how long an import may hold its blobs; imports take
// minutes at most.
const leaseTTL = 24 * time.Hour

// sweepBatch is how many blobs one sweep transaction checks and deletes.
const sweepBatch = 100

func lockPackages(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE content_locks SET n = n + 1 WHERE name = 'packages'`)
	return err
}

// takeLease records that an import is about to store or reuse the blobs
// sums, and returns the lease's id.
func (s *Service) takeLease(ctx context.Context, sums []string) (string, error) {
	id := uuid.NewString()
	exp := s.now().Add(leaseTTL).UnixMilli()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := lockPackages(ctx, tx); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO content_blob_leases (lease_id, sha256, expires_at) VALUES ($1, $2, $3)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, sum := range sums {
			if _, err := stmt.ExecContext(ctx, id, sum, exp); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", errs.Wrap(errs.Unavailable, err, "the import could not be started; try again")
	}
	return id, nil
}

// releaseLease drops an import's lease once its package is committed or
// its failure cleaned up.
func (s *Service) releaseLease(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if _, err := s.db.SQL.ExecContext(ctx, `DELETE FROM content_blob_leases WHERE lease_id = $1`, id); err != nil {
		// The lease expires on its own; until then the sweep keeps its blobs.
		s.log.Warn("import: blob lease not released", "lease", id, "err", err)
	}
}

// DeleteResult is what a package deletion or a sweep reclaimed.
type DeleteResult struct {
	// Checked is how many blobs were considered; Deleted how many were
	// removed, and Bytes their total size.
	Checked int   `json:"checked"`
	Deleted int   `json:"deleted"`
	Bytes   int64 `json:"bytes"`
}

// DeletePackage deletes a package of the borough that no course version
// uses (versions are kept for ever, so a package that was ever in one
// stays), then deletes its blobs that no other package names.
func (s *Service) DeletePackage(ctx context.Context, boroughID, actor, id string) (DeleteResult, error) {
	if _, err := uuid.Parse(id); err != nil {
		return DeleteResult{}, errs.E(errs.NotFound, "package not found")
	}
	var title string
	var blobs []blobCandidate
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := lockPackages(ctx, tx); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT title FROM content_packages WHERE id = $1 AND borough_id = $2`, id, boroughID).Scan(&title); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return errs.E(errs.NotFound, "package not found")
			}
			return err
		}
		var number int
		err := tx.QueryRowContext(ctx, `SELECT number FROM content_versions WHERE borough_id = $1 AND (base_package_id = $2 OR modules LIKE $3) ORDER BY number LIMIT 1`,
			boroughID, id, `%"packageId":"`+id+`"%`).Scan(&number)
		if err == nil {
			return errs.E(errs.Conflict, "package %q is used by course version %d; versions are kept, so the package cannot be deleted", title, number)
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT sha256, MAX(size) FROM content_files WHERE package_id = $1 GROUP BY sha256`, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var c blobCandidate
			if err := rows.Scan(&c.sum, &c.size); err != nil {
				rows.Close()
				return err
			}
			blobs = append(blobs, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM content_files WHERE package_id = $1`, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM content_packages WHERE id = $1`, id)
		return err
	})
	if err != nil {
		if errs.KindOf(err) == errs.Internal {
			err = errs.Wrap(errs.Unavailable, err, "the package could not be deleted; try again")
		}
		return DeleteResult{}, err
	}
	s.maps.Delete(id)
	res, err := s.sweep(ctx, blobs)
	s.log.Info("package deleted", "package_id", id, "borough_id", boroughID, "blobs_deleted", res.Deleted, "bytes", res.Bytes)
	s.auth.Audit(context.Background(), boroughID, actor, AuditPackageDelete, title,
		map[string]any{"packageId": id, "blobsDeleted": res.Deleted, "bytes": res.Bytes})
	if err != nil {
		return res, errs.Wrap(errs.Unavailable, err, "the package was deleted but some of its files were not; run 'reach package sweep'")
	}
	return res, nil
}

// SweepBlobs deletes every content blob no package names and no import
// holds, that was stored more than olderThan ago (the age is a second
// safety margin on top of the leases). It also drops expired leases.
func (s *Service) SweepBlobs(ctx context.Context, olderThan time.Duration) (DeleteResult, error) {
	now := s.now()
	if _, err := s.db.SQL.ExecContext(ctx, `DELETE FROM content_blob_leases WHERE expires_at < $1`, now.UnixMilli()); err != nil {
		return DeleteResult{}, errs.Wrap(errs.Unavailable, err, "the database is unavailable")
	}
	var cands []blobCandidate
	err := s.blobs.List(ctx, BlobPrefix, func(i blob.Info) error {
		sum := strings.TrimPrefix(i.Key, BlobPrefix)
		if len(sum) == 64 && now.Sub(i.ModTime) >= olderThan {
			cands = append(cands, blobCandidate{sum: sum, size: i.Size})
		}
		return nil
	})
	if err != nil {
		return DeleteResult{}, err
	}
	res, err := s.sweep(ctx, cands)
	s.log.Info("content blobs swept", "checked", res.Checked, "deleted", res.Deleted, "bytes", res.Bytes)
	return res, err
}

type blobCandidate struct {
	sum  string
	size int64
}

// sweep deletes the candidates no package names and no live lease holds,
// a batch per transaction holding the content lock (see the top of this
// file for why that is safe against imports in progress).
func (s *Service) sweep(ctx context.Context, cands []blobCandidate) (DeleteResult, error) {
	res := DeleteResult{Checked: len(cands)}
	for start := 0; start < len(cands); start += sweepBatch {
		batch := cands[start:min(start+sweepBatch, len(cands))]
		var deleted int
		var bytes int64
		err := s.db.Tx(ctx, func(tx *sql.Tx) error {
			deleted, bytes = 0, 0
			if err := lockPackages(ctx, tx); err != nil {
				return err
			}
			now := s.now().UnixMilli()
			for _, c := range batch {
				var one int
				err := tx.QueryRowContext(ctx, `SELECT 1 FROM content_files WHERE sha256 = $1
UNION ALL SELECT 1 FROM content_blob_leases WHERE sha256 = $1 AND expires_at >= $2 LIMIT 1`, c.sum, now).Scan(&one)
				if err == nil {
					continue
				} else if !errors.Is(err, sql.ErrNoRows) {
					return err
				}
				if err := s.blobs.Delete(ctx, BlobKey(c.sum)); err != nil {
					return err
				}
				deleted++
				bytes += c.size
			}
			return nil
		})
		// Deletes already made stay made even if the commit fails: the
		// blobs were unreferenced and unleased under the lock.
		res.Deleted += deleted
		res.Bytes += bytes
		if err != nil {
			return res, err
		}
	}
	return res, nil
}
