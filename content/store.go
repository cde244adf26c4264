package content

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/errs"
)

const cleanupTimeout = 30 * time.Second

// uniqueErr marks a unique-constraint violation from the database.
type uniqueErr struct{ err error }

func (u uniqueErr) Error() string { return u.err.Error() }
func (u uniqueErr) Unwrap() error { return u.err }

// insertPackage records a package and its file map in one transaction.
func (s *Service) insertPackage(ctx context.Context, p Package) error {
	course, err := courseJSON(p.Course)
	if err != nil {
		return errs.Wrap(errs.Internal, err, "encoding the course")
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO content_packages (id, borough_id, type, title, course, file_count, size, content_hash, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, p.ID, p.BoroughID, string(p.Type), p.Title, course, p.FileCount, p.Size, p.ContentHash, p.CreatedBy, p.CreatedAt); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO content_files (package_id, path, sha256, size, content_type) VALUES ($1, $2, $3, $4, $5)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for path, f := range p.Files {
			if _, err := stmt.ExecContext(ctx, p.ID, path, f.SHA256, f.Size, f.ContentType); err != nil {
				return err
			}
		}
		return nil
	})
	if db.IsUniqueViolation(err) {
		return uniqueErr{err}
	}
	if err != nil {
		return errs.Wrap(errs.Unavailable, err, "the package could not be recorded; try again")
	}
	return nil
}

const packageCols = `id, borough_id, type, title, course, file_count, size, content_hash, created_by, created_at`

type scanner interface{ Scan(...any) error }

func scanPackage(row scanner) (Package, error) {
	var p Package
	var typ, course string
	if err := row.Scan(&p.ID, &p.BoroughID, &typ, &p.Title, &course, &p.FileCount, &p.Size, &p.ContentHash, &p.CreatedBy, &p.CreatedAt); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return p, errs.E(errs.NotFound, "package not found")
		}
		return p, err
	}
	p.Type = Type(typ)
	p.CreatedAt = p.CreatedAt.UTC()
	if err := json.Unmarshal([]byte(course), &p.Course); err != nil {
		return p, errs.Wrap(errs.Internal, err, "package %s has a damaged course", p.ID)
	}
	return p, nil
}

func (s *Service) packageByHash(ctx context.Context, boroughID, hash string) (Package, error) {
	p, err := scanPackage(s.db.SQL.QueryRowContext(ctx, `SELECT `+packageCols+` FROM content_packages WHERE borough_id = $1 AND content_hash = $2`, boroughID, hash))
	if err != nil {
		return p, err
	}
	return p, s.loadFiles(ctx, &p)
}

// Package returns a package of the borough with its file map. A package of
// another borough is reported as not found. boroughID "" finds any
// borough's package (for the content origin, whose token already names it).
func (s *Service) Package(ctx context.Context, boroughID, id string) (Package, error) {
	q := `SELECT ` + packageCols + ` FROM content_packages WHERE id = $1`
	args := []any{id}
	if boroughID != "" {
		q += ` AND borough_id = $2`
		args = append(args, boroughID)
	}
	p, err := scanPackage(s.db.SQL.QueryRowContext(ctx, q, args...))
	if err != nil {
		return p, err
	}
	return p, s.loadFiles(ctx, &p)
}

func (s *Service) loadFiles(ctx context.Context, p *Package) error {
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT path, sha256, size, content_type FROM content_files WHERE package_id = $1`, p.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	p.Files = make(map[string]FileRef, p.FileCount)
	for rows.Next() {
		var path string
		var f FileRef
		if err := rows.Scan(&path, &f.SHA256, &f.Size, &f.ContentType); err != nil {
			return err
		}
		p.Files[path] = f
	}
	return rows.Err()
}

// Packages lists the borough's packages, newest first, without file maps.
func (s *Service) Packages(ctx context.Context, boroughID string) ([]Package, error) {
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT `+packageCols+` FROM content_packages WHERE borough_id = $1 ORDER BY created_at DESC, id`, boroughID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Package{}
	for rows.Next() {
		p, err := scanPackage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
