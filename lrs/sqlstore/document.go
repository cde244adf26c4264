package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/lrs"
)

//go:embed migrations_documents
var documentMigrationsFS embed.FS

// DocumentMigrations creates the tables of DocumentStore.
var DocumentMigrations = db.Migrations("lrs_documents", documentMigrationsFS, "migrations_documents")

// DocumentStore keeps xAPI State, Activity Profile and Agent Profile
// documents in SQLite or PostgreSQL. It implements lrs.DocumentStore.
type DocumentStore struct {
	d *db.DB
}

var _ lrs.DocumentStore = (*DocumentStore)(nil)

// NewDocumentStore returns a store on d, which must have had
// DocumentMigrations applied.
func NewDocumentStore(d *db.DB) *DocumentStore { return &DocumentStore{d: d} }

const documentColumns = `content_type, content, etag, updated_us`

// GetDocument implements lrs.DocumentStore.
func (s *DocumentStore) GetDocument(ctx context.Context, borough string, key lrs.DocumentKey) (lrs.Document, bool, error) {
	doc, err := scanDocument(s.d.SQL.QueryRowContext(ctx, `SELECT `+documentColumns+` FROM lrs_documents
		WHERE borough_id = $1 AND kind = $2 AND activity_id = $3 AND agent_key = $4 AND registration = $5 AND doc_id = $6`,
		borough, string(key.Kind), key.ActivityID, key.AgentKey, key.Registration, key.ID), key)
	if errors.Is(err, sql.ErrNoRows) {
		return lrs.Document{}, false, nil
	}
	if err != nil {
		return lrs.Document{}, false, fmt.Errorf("get document: %w", err)
	}
	return doc, true, nil
}

// ModifyDocument implements lrs.DocumentStore. On PostgreSQL the current
// row is locked with FOR UPDATE; when there is no row to lock, two
// writers can both see none, and the loser of the insert retries once,
// this time finding the winner's row. On SQLite every write transaction
// takes the database lock at BEGIN (the db package opens it with
// _txlock=immediate), so writers are already serialised.
func (s *DocumentStore) ModifyDocument(ctx context.Context, borough string, key lrs.DocumentKey, fn func(cur *lrs.Document) (*lrs.Document, error)) error {
	err := s.modifyOnce(ctx, borough, key, fn)
	if err != nil && db.IsUniqueViolation(err) {
		err = s.modifyOnce(ctx, borough, key, fn)
	}
	return err
}

func (s *DocumentStore) modifyOnce(ctx context.Context, borough string, key lrs.DocumentKey, fn func(cur *lrs.Document) (*lrs.Document, error)) error {
	lock := ""
	if s.d.Dialect == db.Postgres {
		lock = " FOR UPDATE"
	}
	where := `borough_id = $1 AND kind = $2 AND activity_id = $3 AND agent_key = $4 AND registration = $5 AND doc_id = $6`
	args := []any{borough, string(key.Kind), key.ActivityID, key.AgentKey, key.Registration, key.ID}
	return s.d.Tx(ctx, func(tx *sql.Tx) error {
		var cur *lrs.Document
		doc, err := scanDocument(tx.QueryRowContext(ctx, `SELECT `+documentColumns+` FROM lrs_documents WHERE `+where+lock, args...), key)
		switch {
		case err == nil:
			cur = &doc
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("read document for update: %w", err)
		}
		next, err := fn(cur)
		if err != nil {
			return err
		}
		switch {
		case next == nil && cur == nil:
			return nil
		case next == nil:
			_, err = tx.ExecContext(ctx, `DELETE FROM lrs_documents WHERE `+where, args...)
		case cur == nil:
			_, err = tx.ExecContext(ctx, `INSERT INTO lrs_documents
				(borough_id, kind, activity_id, agent_key, registration, doc_id, content_type, content, etag, updated_us)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
				append(args, next.ContentType, nonNil(next.Content), next.ETag, next.Updated.UnixMicro())...)
		default:
			_, err = tx.ExecContext(ctx, `UPDATE lrs_documents SET content_type = $7, content = $8, etag = $9, updated_us = $10 WHERE `+where,
				append(args, next.ContentType, nonNil(next.Content), next.ETag, next.Updated.UnixMicro())...)
		}
		return err
	})
}

// ListDocumentIDs implements lrs.DocumentStore.
func (s *DocumentStore) ListDocumentIDs(ctx context.Context, borough string, scope lrs.DocumentScope, since time.Time) ([]string, time.Time, error) {
	where, args := scopeWhere(borough, scope)
	if !since.IsZero() {
		args = append(args, since.UnixMicro())
		where += fmt.Sprintf(" AND updated_us > $%d", len(args))
	}
	rows, err := s.d.SQL.QueryContext(ctx, `SELECT doc_id, updated_us FROM lrs_documents WHERE `+where, args...)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("list documents: %w", err)
	}
	defer rows.Close()
	var ids []string
	var last int64
	for rows.Next() {
		var id string
		var us int64
		if err := rows.Scan(&id, &us); err != nil {
			return nil, time.Time{}, fmt.Errorf("list documents: %w", err)
		}
		ids = append(ids, id)
		last = max(last, us)
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, fmt.Errorf("list documents: %w", err)
	}
	// One state may exist under several registrations; list its id once.
	// Sorting here rather than in SQL gives byte order in both dialects.
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var lastModified time.Time
	if len(ids) > 0 {
		lastModified = time.UnixMicro(last).UTC()
	}
	return ids, lastModified, nil
}

// DeleteDocuments implements lrs.DocumentStore.
func (s *DocumentStore) DeleteDocuments(ctx context.Context, borough string, scope lrs.DocumentScope) (int64, error) {
	where, args := scopeWhere(borough, scope)
	res, err := s.d.SQL.ExecContext(ctx, `DELETE FROM lrs_documents WHERE `+where, args...)
	if err != nil {
		return 0, fmt.Errorf("delete documents: %w", err)
	}
	return res.RowsAffected()
}

// DeleteAgentDocuments implements lrs.DocumentStore.
func (s *DocumentStore) DeleteAgentDocuments(ctx context.Context, borough string, agentKeys []string) (int64, error) {
	if len(agentKeys) == 0 {
		return 0, nil
	}
	args := []any{borough}
	marks := make([]string, len(agentKeys))
	for i, k := range agentKeys {
		args = append(args, k)
		marks[i] = fmt.Sprintf("$%d", i+2)
	}
	res, err := s.d.SQL.ExecContext(ctx, `DELETE FROM lrs_documents
		WHERE borough_id = $1 AND kind IN ('state', 'agent_profile') AND agent_key IN (`+strings.Join(marks, ", ")+`)`, args...)
	if err != nil {
		return 0, fmt.Errorf("delete agent documents: %w", err)
	}
	return res.RowsAffected()
}

// scopeWhere returns the condition selecting scope's documents in borough.
// Fields that do not apply to a kind are stored as the empty string, so comparing every
// field is right for every kind.
func scopeWhere(borough string, scope lrs.DocumentScope) (string, []any) {
	where := `borough_id = $1 AND kind = $2 AND activity_id = $3 AND agent_key = $4`
	args := []any{borough, string(scope.Kind), scope.ActivityID, scope.AgentKey}
	if !scope.AnyRegistration {
		where += ` AND registration = $5`
		args = append(args, scope.Registration)
	}
	return where, args
}

func scanDocument(row *sql.Row, key lrs.DocumentKey) (lrs.Document, error) {
	doc := lrs.Document{Key: key}
	var us int64
	if err := row.Scan(&doc.ContentType, &doc.Content, &doc.ETag, &us); err != nil {
		return lrs.Document{}, err
	}
	if doc.Content == nil {
		doc.Content = []byte{}
	}
	doc.Updated = time.UnixMicro(us).UTC()
	return doc, nil
}

// nonNil keeps an empty document from being written as NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
