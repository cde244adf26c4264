// Package sqlstore keeps the LRS's statements and documents in SQLite (the
// embedded default) or PostgreSQL. Both dialects share the SQL where they
// can; the PostgreSQL write path uses COPY through the native pgx pool.
package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations creates the statement tables.
var Migrations = db.Migrations("lrs", migrationsFS, "migrations/statements")

// Store keeps statements in SQLite or PostgreSQL. It implements lrs.Store.
type Store struct {
	d            *db.DB
	startWriters sync.Once
	// small takes requests of at most smallRequest records, large the
	// others: a writer serves every waiting small request with each group,
	// so single statements never queue behind a line of batches.
	small, large chan *writeReq
	defs         defCache
	// w is the SQLite writer's own connection; only the single SQLite
	// writer goroutine touches it.
	w *sqliteWriter
}

var _ lrs.Store = (*Store)(nil)

// New returns a Store on d, which must have had Migrations applied.
func New(d *db.DB) *Store { return &Store{d: d} }

// InsertStatements implements lrs.Store. Concurrent calls are committed
// together (group commit): a writer goroutine takes every request waiting
// when it becomes free and stores them in one transaction, so one fsync
// and one round of queries serve many requests. If that transaction fails,
// each request is retried alone, so one bad batch never fails another.
// A call returns only after its transaction committed.
func (s *Store) InsertStatements(ctx context.Context, borough string, recs []*lrs.Record) error {
	if len(recs) == 0 {
		return nil
	}
	s.startWriters.Do(s.start)
	req := &writeReq{borough: borough, recs: recs, done: make(chan error, 1)}
	queue := s.small
	if len(recs) > smallRequest {
		queue = s.large
	}
	select {
	case queue <- req:
	case <-ctx.Done():
		return errs.Wrap(errs.Unavailable, ctx.Err(), "statement write abandoned")
	}
	// Wait for the outcome even if ctx ends: the client must not be told
	// "failed" about a write that then commits. The transaction has its
	// own timeout.
	err := <-req.done
	if err != nil && errs.KindOf(err) == errs.Internal {
		return errs.Wrap(errs.Internal, err, "store statements")
	}
	return err
}

// writeReq is one InsertStatements call waiting for a writer.
type writeReq struct {
	borough string
	recs    []*lrs.Record
	done    chan error
}

// maxGroupRecords caps how many records one group transaction writes.
const maxGroupRecords = 2000

// smallRequest is the most records of a request the writers put before
// batches.
const smallRequest = 100

// writeTimeout bounds one write transaction.
const writeTimeout = 60 * time.Second

func (s *Store) start() {
	s.small, s.large = make(chan *writeReq), make(chan *writeReq)
	// SQLite has one writer at a time anyway; PostgreSQL gains from a
	// few transactions in flight while others wait on fsync.
	n := 1
	if s.d.Dialect == db.Postgres {
		n = 4
	}
	for i := 0; i < n; i++ {
		go s.writer()
	}
}

// writer gathers groups: the first request waiting and every small one
// waiting with it (up to maxGroupRecords). A batch is never added to a
// group already gathered, so a small request waits for at most the group
// being written, which holds at most one batch, and then its own, which
// holds none, however many batches queue.
func (s *Store) writer() {
	for {
		var req *writeReq
		select {
		case req = <-s.small:
		case req = <-s.large:
		}
		group := []*writeReq{req}
		n := len(req.recs)
	gather:
		for n < maxGroupRecords {
			select {
			case r := <-s.small:
				group = append(group, r)
				n += len(r.recs)
			default:
				break gather
			}
		}
		s.serve(group)
	}
}

// serve answers every request of group exactly once, even if storing
// panics: a writer that died would leave every later write waiting.
func (s *Store) serve(group []*writeReq) {
	answered := 0
	defer func() {
		if p := recover(); p != nil {
			err := errs.Wrap(errs.Internal, fmt.Errorf("panic: %v", p), "store statements")
			for _, r := range group[answered:] {
				r.done <- err
			}
		}
	}()
	if len(group) > 1 {
		if err := s.writeGroup(group); err == nil {
			for _, r := range group {
				r.done <- nil
				answered++
			}
			return
		}
	}
	for _, r := range group {
		err := s.writeOne(r)
		r.done <- err
		answered++
	}
}

// writeOne stores one request in its own transaction, retrying when a
// concurrent writer stored one of its ids between the check and the
// insert: the next attempt sees it and decides between a harmless resend
// and a conflict.
func (s *Store) writeOne(r *writeReq) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = s.writeGroup([]*writeReq{r})
		if err == nil || !(db.IsUniqueViolation(err) || isDeadlock(err)) {
			break
		}
	}
	return err
}

// isDeadlock reports a PostgreSQL deadlock or serialisation failure, after
// which the transaction can simply be run again.
func isDeadlock(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLSTATE 40P01") || strings.Contains(msg, "SQLSTATE 40001")
}

// writeGroup stores every request of group in one transaction.
func (s *Store) writeGroup(group []*writeReq) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if s.d.Dialect != db.Postgres {
		return s.writeGroupSQLite(ctx, group)
	}
	tx, err := s.d.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	for _, r := range group {
		if err := insertPostgresTx(ctx, tx, r.borough, r.recs); err != nil {
			return err
		}
	}
	settled, err := s.mergeGroupDefinitions(ctx, pgExec{tx}, group)
	if err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	s.defs.put(settled)
	return nil
}

// storedRow is what fresh needs to know of an id already stored.
type storedRow struct{ hash, body string }

// fresh drops records already stored with the same content and fails on
// an id stored with different content.
func fresh(recs []*lrs.Record, existing map[string]storedRow) ([]*lrs.Record, error) {
	out := recs[:0:0]
	for _, r := range recs {
		if had, ok := existing[r.ID]; ok {
			if had.hash != r.Hash && (r.Same == nil || !r.Same([]byte(had.body))) {
				return nil, errs.E(errs.Conflict, "statement %s is already stored with different content; statements are immutable", r.ID)
			}
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

func ids(recs []*lrs.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// placeholders returns "$from, $from+1, …" for n values.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(from + i))
	}
	return b.String()
}

// insertSQLiteTx stores one request's records in tx.
func insertSQLiteTx(ctx context.Context, tx sqliteTx, borough string, recs []*lrs.Record) error {
	fixedSQLOnce.Do(buildFixedSQL)
	existing, targeted := map[string]storedRow{}, map[string]bool{}
	// One query per chunk finds the ids already stored and the new ids
	// that a stored voiding statement already targets.
	all := ids(recs)
	for start := 0; start < len(all); start += maxCheckIDs {
		chunk := all[start:min(start+maxCheckIDs, len(all))]
		k := checkShape(len(chunk))
		args := make([]any, 0, 2*k+2)
		args = append(args, borough)
		for i := 0; i < k; i++ {
			args = append(args, chunk[min(i, len(chunk)-1)])
		}
		args = append(args, args...)
		rows, err := tx.queryFixed(ctx, checkSQL[k], args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			var had storedRow
			var isTarget int
			if err := rows.Scan(&id, &had.hash, &had.body, &isTarget); err != nil {
				rows.Close()
				return err
			}
			if isTarget == 1 {
				targeted[id] = true
				continue
			}
			existing[id] = had
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	var err error
	recs, err = fresh(recs, existing)
	if err != nil || len(recs) == 0 {
		return err
	}
	if _, err := writeSQLite(ctx, tx, borough, recs); err != nil {
		return err
	}
	return afterInsert(ctx, tx, borough, recs, targeted)
}

// writeSQLite inserts statement rows and their terms with sequence
// numbers taken up front (the immediate transaction holds the write lock),
// so both go in as multi-row inserts of the fixed sizes chunkSizes lists.
func writeSQLite(ctx context.Context, tx sqliteTx, borough string, recs []*lrs.Record) ([]int64, error) {
	fixedSQLOnce.Do(buildFixedSQL)
	var last int64
	rows, err := tx.queryFixed(ctx, lastSeqSQL)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		if err := rows.Scan(&last); err != nil {
			rows.Close()
			return nil, err
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	seqs := make([]int64, len(recs))
	for i := range recs {
		seqs[i] = last + int64(i) + 1
	}
	const stmtCols = 7
	vals := make([]any, 0, chunkSizes[0]*stmtCols)
	for start := 0; start < len(recs); {
		n := chunk(len(recs) - start)
		vals = vals[:0]
		for i := start; i < start+n; i++ {
			r := recs[i]
			vals = append(vals, seqs[i], borough, r.ID, r.Stored.UnixMilli(), r.Hash, nullable(r.Voids), string(r.Body))
		}
		if err := tx.execFixed(ctx, insertStmtSQL[n], vals...); err != nil {
			return nil, err
		}
		start += n
	}
	terms := termRows(recs, seqs)
	for start := 0; start < len(terms); {
		n := chunk(len(terms) - start)
		vals = vals[:0]
		for _, t := range terms[start : start+n] {
			vals = append(vals, borough, int(t.kind), t.value, t.seq)
		}
		if err := tx.execFixed(ctx, insertTermSQL[n], vals...); err != nil {
			return nil, err
		}
		start += n
	}
	return seqs, nil
}

// CopyStatements bulk-loads records that are known to be new: no id
// checks, no voiding, no definitions, and on PostgreSQL a single COPY per
// table. It is for imports and for the benchmark that compares HTTP
// ingest with the fastest possible load into the same schema.
func (s *Store) CopyStatements(ctx context.Context, borough string, recs []*lrs.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if s.d.Dialect != db.Postgres {
		return s.d.Tx(ctx, func(tx *sql.Tx) error {
			_, err := writeSQLite(ctx, sqliteTx{q: tx}, borough, recs)
			return err
		})
	}
	tx, err := s.d.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := copyPostgres(ctx, tx, borough, recs); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// copyPostgres takes sequence numbers for recs and COPYs their rows and
// terms.
func copyPostgres(ctx context.Context, tx pgx.Tx, borough string, recs []*lrs.Record) ([]int64, error) {
	seqs := make([]int64, 0, len(recs))
	srows, err := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence('lrs_statements', 'seq')) FROM generate_series(1, $1)`, len(recs))
	if err != nil {
		return nil, err
	}
	for srows.Next() {
		var v int64
		if err := srows.Scan(&v); err != nil {
			srows.Close()
			return nil, err
		}
		seqs = append(seqs, v)
	}
	srows.Close()
	if err := srows.Err(); err != nil {
		return nil, err
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"lrs_statements"},
		[]string{"seq", "borough_id", "id", "stored", "hash", "voids", "body"},
		pgx.CopyFromSlice(len(recs), func(i int) ([]any, error) {
			r := recs[i]
			return []any{seqs[i], borough, r.ID, r.Stored.UnixMilli(), r.Hash, nullable(r.Voids), string(r.Body)}, nil
		})); err != nil {
		return nil, err
	}
	terms := termRows(recs, seqs)
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"lrs_statement_terms"},
		[]string{"borough_id", "kind", "term", "seq"},
		pgx.CopyFromSlice(len(terms), func(i int) ([]any, error) {
			t := terms[i]
			return []any{borough, int16(t.kind), t.value, t.seq}, nil
		})); err != nil {
		return nil, err
	}
	return seqs, nil
}

// qmarks returns "(?, ?, …)" for n values. SQLite looks numbered
// parameters ($1) up by name, which grows quadratically in a multi-row
// insert with thousands of them; anonymous ones cost nothing.
func qmarks(n int) string {
	return "(" + strings.Repeat("?, ", n-1) + "?)"
}

// termRows lists the terms of new statements. A record's terms never
// repeat (lrs builds them deduplicated, and the kind is part of the key),
// and the seqs are new, so plain inserts cannot conflict; speculative
// ON CONFLICT insertion would cost every row an extra index probe.
type termRow struct {
	kind  lrs.TermKind
	value string
	seq   int64
}

func termRows(recs []*lrs.Record, seqs []int64) []termRow {
	n := 0
	for _, r := range recs {
		n += len(r.Terms)
	}
	out := make([]termRow, 0, n)
	for i, r := range recs {
		for _, t := range r.Terms {
			out = append(out, termRow{t.Kind, t.Value, seqs[i]})
		}
	}
	return out
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// execer is what afterInsert needs from either dialect's transaction.
type execer interface {
	exec(ctx context.Context, q string, args ...any) (int64, error)
	query(ctx context.Context, q string, args ...any) (rowsLike, error)
}

type rowsLike interface {
	Next() bool
	Scan(dest ...any) error
	Close()
	Err() error
}

// rebind turns $N placeholders into anonymous ones with the arguments in
// order of appearance: SQLite resolves numbered and named parameters by a
// linear search per parameter, which is quadratic in long IN lists.
func rebind(q string, args []any) (string, []any) {
	if !strings.Contains(q, "$") {
		return q, args
	}
	var b strings.Builder
	out := make([]any, 0, len(args))
	for i := 0; i < len(q); i++ {
		if q[i] != '$' || i+1 >= len(q) || q[i+1] < '0' || q[i+1] > '9' {
			b.WriteByte(q[i])
			continue
		}
		j := i + 1
		for j < len(q) && q[j] >= '0' && q[j] <= '9' {
			j++
		}
		n, _ := strconv.Atoi(q[i+1 : j])
		if n >= 1 && n <= len(args) {
			out = append(out, args[n-1])
		}
		b.WriteByte('?')
		i = j - 1
	}
	return b.String(), out
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

type pgExec struct{ tx pgx.Tx }

func (e pgExec) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := e.tx.Exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (e pgExec) query(ctx context.Context, q string, args ...any) (rowsLike, error) {
	return e.tx.Query(ctx, q, args...)
}

// refKinds are the term kinds a statement inherits from the statement its
// StatementRef targets (xAPI: filters match a referencing statement when
// they match its target).
const refKinds = "1, 2, 3, 4, 5, 6, 8"

// afterInsert applies what the new rows mean for others: inherited terms
// from referenced statements and voiding in both directions. Activity
// definitions are merged once per transaction (mergeGroupDefinitions).
func afterInsert(ctx context.Context, e execer, borough string, recs []*lrs.Record, targeted map[string]bool) error {
	for _, r := range recs {
		if r.RefID == "" {
			continue
		}
		if _, err := e.exec(ctx, `INSERT INTO lrs_statement_terms (borough_id, kind, term, seq)
			SELECT t.borough_id, t.kind, t.term, (SELECT seq FROM lrs_statements WHERE borough_id = $1 AND id = $3)
			FROM lrs_statement_terms t
			WHERE t.borough_id = $1 AND t.kind IN (`+refKinds+`)
			  AND t.seq = (SELECT seq FROM lrs_statements WHERE borough_id = $1 AND id = $2)
			ON CONFLICT DO NOTHING`, borough, r.RefID, r.ID); err != nil {
			return err
		}
		if r.Voids != "" {
			// A voiding statement cannot void another voiding statement.
			if _, err := e.exec(ctx, `UPDATE lrs_statements SET voided = TRUE
				WHERE borough_id = $1 AND id = $2 AND voids IS NULL`, borough, r.Voids); err != nil {
				return err
			}
		}
	}
	// A voiding statement may have arrived before its target: the
	// existence check found which new ids are already targeted.
	for _, r := range recs {
		if r.Voids == "" && targeted[r.ID] {
			if _, err := e.exec(ctx, `UPDATE lrs_statements SET voided = TRUE
				WHERE borough_id = $1 AND id = $2`, borough, r.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// mergeGroupDefinitions merges the activity definitions of a whole group,
// borough by borough and id by id in sorted order, so concurrent
// transactions take row locks in the same order and cannot deadlock. It
// returns the definitions as they now stand, for the cache once the
// transaction has committed.
func (s *Store) mergeGroupDefinitions(ctx context.Context, e execer, group []*writeReq) (map[string]map[string]any, error) {
	byBorough := map[string][]*lrs.Record{}
	for _, r := range group {
		byBorough[r.borough] = append(byBorough[r.borough], r.recs...)
	}
	boroughs := make([]string, 0, len(byBorough))
	for b := range byBorough {
		boroughs = append(boroughs, b)
	}
	sort.Strings(boroughs)
	settled := map[string]map[string]any{}
	for _, b := range boroughs {
		if err := s.mergeDefinitions(ctx, e, b, byBorough[b], settled); err != nil {
			return nil, err
		}
	}
	return settled, nil
}

func (s *Store) mergeDefinitions(ctx context.Context, e execer, borough string, recs []*lrs.Record, settled map[string]map[string]any) error {
	defs := map[string]map[string]any{}
	for _, r := range recs {
		for id, d := range r.Definitions {
			defs[id] = lrs.MergeDefinition(defs[id], d)
		}
	}
	// Most statements repeat a definition already stored: the cache of
	// what this process last stored answers those without a query.
	for id, d := range defs {
		if s.defs.covers(borough, id, d) {
			delete(defs, id)
		}
	}
	if len(defs) == 0 {
		return nil
	}
	idList := make([]string, 0, len(defs))
	for id := range defs {
		idList = append(idList, id)
	}
	// A fixed order keeps concurrent writers from deadlocking on rows.
	sort.Strings(idList)
	args := []any{borough}
	for _, id := range idList {
		args = append(args, id)
	}
	rows, err := e.query(ctx, `SELECT id, definition FROM lrs_activities WHERE borough_id = $1 AND id IN (`+placeholders(2, len(idList))+`)`, args...)
	if err != nil {
		return err
	}
	current := map[string]string{}
	for rows.Next() {
		var id, def string
		if err := rows.Scan(&id, &def); err != nil {
			rows.Close()
			return err
		}
		current[id] = def
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var upserts []any
	for _, id := range idList {
		merged := defs[id]
		if cur, ok := current[id]; ok {
			var old map[string]any
			dec := json.NewDecoder(strings.NewReader(cur))
			dec.UseNumber()
			if err := dec.Decode(&old); err == nil {
				merged = lrs.MergeDefinition(old, merged)
			}
		}
		settled[defKey(borough, id)] = merged
		b, err := json.Marshal(merged)
		if err != nil {
			return err
		}
		if cur, ok := current[id]; ok && cur == string(b) {
			continue // nothing new: skip the write
		}
		upserts = append(upserts, id, string(b))
	}
	if len(upserts) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO lrs_activities (borough_id, id, definition) VALUES `)
	uargs := []any{borough}
	for i := 0; i < len(upserts); i += 2 {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("($1, $" + strconv.Itoa(len(uargs)+1) + ", $" + strconv.Itoa(len(uargs)+2) + ")")
		uargs = append(uargs, upserts[i], upserts[i+1])
	}
	q.WriteString(` ON CONFLICT (borough_id, id) DO UPDATE SET definition = excluded.definition`)
	_, err = e.exec(ctx, q.String(), uargs...)
	return err
}

func defKey(borough, id string) string { return borough + "\x00" + id }

// defCache remembers the activity definitions this process last stored.
// It only ever saves a write of a definition that adds nothing; another
// replica's newer definition is merged with, not lost, when something new
// arrives.
type defCache struct {
	mu sync.Mutex
	m  map[string]map[string]any
}

// maxCachedDefinitions bounds the cache; past it, it starts again empty.
const maxCachedDefinitions = 20000

func (c *defCache) covers(borough, id string, d map[string]any) bool {
	c.mu.Lock()
	have, ok := c.m[defKey(borough, id)]
	c.mu.Unlock()
	return ok && mergesToSame(have, d)
}

// mergesToSame reports whether lrs.MergeDefinition(have, d) equals have,
// without building the merged definition: every property of d is in have
// with the same value, or, for the language maps and extensions that
// MergeDefinition merges entry by entry, every entry of d's. The writer
// asks this for every definition of every statement, so it allocates
// nothing.
func mergesToSame(have, d map[string]any) bool {
	for k, v := range d {
		old, ok := have[k]
		if !ok {
			return false
		}
		switch k {
		case "name", "description", "extensions":
			om, ok1 := old.(map[string]any)
			nm, ok2 := v.(map[string]any)
			if ok1 && ok2 {
				for ek, ev := range nm {
					if ov, ok := om[ek]; !ok || !reflect.DeepEqual(ov, ev) {
						return false
					}
				}
				continue
			}
		}
		if !reflect.DeepEqual(old, v) {
			return false
		}
	}
	return true
}

func (c *defCache) put(settled map[string]map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m)+len(settled) > maxCachedDefinitions {
		c.m = make(map[string]map[string]any, len(settled))
	}
	for k, v := range settled {
		c.m[k] = v
	}
}

// insertPostgresTx stores one request's records in tx: one query checks
// for stored ids, one inserts the rows and their terms together.
func insertPostgresTx(ctx context.Context, tx pgx.Tx, borough string, recs []*lrs.Record) error {
	existing, targeted := map[string]storedRow{}, map[string]bool{}
	// One query finds the ids already stored and the new ids that a
	// stored voiding statement already targets.
	rows, err := tx.Query(ctx, `SELECT id, hash, body, 0 FROM lrs_statements WHERE borough_id = $1 AND id = ANY($2)
		UNION ALL SELECT voids, '', '', 1 FROM lrs_statements WHERE borough_id = $1 AND voids = ANY($2)`, borough, ids(recs))
	if err != nil {
		return err
	}
	for rows.Next() {
		var id string
		var had storedRow
		var isTarget int
		if err := rows.Scan(&id, &had.hash, &had.body, &isTarget); err != nil {
			rows.Close()
			return err
		}
		if isTarget == 1 {
			targeted[id] = true
			continue
		}
		existing[id] = had
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	recs, err = fresh(recs, existing)
	if err != nil || len(recs) == 0 {
		return err
	}
	n := len(recs)
	sIDs, sStored, sHash, sVoids, sBody := make([]string, n), make([]int64, n), make([]string, n), make([]*string, n), make([]string, n)
	var tIDs, tTerms []string
	var tKinds []int16
	for i, r := range recs {
		sIDs[i], sStored[i], sHash[i], sBody[i] = r.ID, r.Stored.UnixMilli(), r.Hash, string(r.Body)
		if r.Voids != "" {
			v := r.Voids
			sVoids[i] = &v
		}
		for _, t := range r.Terms {
			tIDs, tKinds, tTerms = append(tIDs, r.ID), append(tKinds, int16(t.Kind)), append(tTerms, t.Value)
		}
	}
	// The rows take their seq from the identity in array order; the terms
	// join on the ids the insert returns, all in one round trip.
	if _, err := tx.Exec(ctx, `WITH ins AS (
			INSERT INTO lrs_statements (borough_id, id, stored, hash, voids, body)
			SELECT $1, u.id, u.stored, u.hash, u.voids, u.body
			FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS u(id, stored, hash, voids, body, ord)
			ORDER BY u.ord
			RETURNING seq, id)
		INSERT INTO lrs_statement_terms (borough_id, kind, term, seq)
		SELECT $1, t.kind, t.term, ins.seq
		FROM unnest($7::text[], $8::smallint[], $9::text[]) AS t(id, kind, term) JOIN ins ON ins.id = t.id`,
		borough, sIDs, sStored, sHash, sVoids, sBody, tIDs, tKinds, tTerms); err != nil {
		return err
	}
	return afterInsert(ctx, pgExec{tx}, borough, recs, targeted)
}

// GetStatement implements lrs.Store.
func (s *Store) GetStatement(ctx context.Context, borough, id string, voided bool) ([]byte, error) {
	var body string
	err := s.d.SQL.QueryRowContext(ctx, `SELECT body FROM lrs_statements WHERE borough_id = $1 AND id = $2 AND voided = $3`,
		borough, id, voided).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		if voided {
			return nil, errs.E(errs.NotFound, "no voided statement %s", id)
		}
		return nil, errs.E(errs.NotFound, "no statement %s", id)
	}
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "get statement")
	}
	return []byte(body), nil
}

// MaxSeq implements lrs.Store.
func (s *Store) MaxSeq(ctx context.Context) (int64, error) {
	var n sql.NullInt64
	if err := s.d.SQL.QueryRowContext(ctx, `SELECT MAX(seq) FROM lrs_statements`).Scan(&n); err != nil {
		return 0, errs.Wrap(errs.Internal, err, "read statement sequence")
	}
	return n.Int64, nil
}

// termKinds returns the stored kinds a query term matches: related
// filters match the direct kind too, as the related kinds hold only what
// the direct ones do not.
func termKinds(k lrs.TermKind) string {
	switch k {
	case lrs.TermRelatedAgent:
		return "1, 2"
	case lrs.TermRelatedActivity:
		return "4, 5"
	}
	return strconv.Itoa(int(k))
}

// QueryStatements implements lrs.Store.
func (s *Store) QueryStatements(ctx context.Context, borough string, q lrs.StoreQuery) ([]lrs.Row, error) {
	args := []any{borough}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var from, seqCol string
	var where []string
	// Walk the index of the first term with a single kind (the caller
	// puts the most selective first) in seq order and join the
	// statements: a page of a selective filter then reads little more
	// than the rows it returns.
	terms := q.Terms
	planPerCall := false
	driver := -1
	for i, t := range terms {
		if !strings.Contains(termKinds(t.Kind), ",") {
			driver = i
			break
		}
	}
	if driver >= 0 {
		d := terms[driver]
		terms = append(append([]lrs.Term(nil), terms[:driver]...), terms[driver+1:]...)
		from = `lrs_statement_terms d JOIN lrs_statements s ON s.seq = d.seq`
		seqCol = "d.seq"
		where = append(where, "d.borough_id = $1", "d.kind = "+arg(int(d.Kind)), "d.term = "+arg(d.Value))
	} else {
		from = `lrs_statements s`
		seqCol = "s.seq"
		if len(terms) > 0 {
			// Only related terms (two kinds each): take the first one's
			// statements as a set rather than scanning every statement
			// and probing it.
			d := terms[0]
			terms = terms[1:]
			planPerCall = true
			where = append(where, `s.seq IN (SELECT t.seq FROM lrs_statement_terms t WHERE t.borough_id = $1 AND t.kind IN (`+
				termKinds(d.Kind)+`) AND t.term = `+arg(d.Value)+`)`)
		}
	}
	where = append(where, "s.borough_id = $1", "s.voided = FALSE")
	for _, t := range terms {
		where = append(where, `EXISTS (SELECT 1 FROM lrs_statement_terms t WHERE t.borough_id = $1 AND t.kind IN (`+
			termKinds(t.Kind)+`) AND t.term = `+arg(t.Value)+` AND t.seq = s.seq)`)
	}
	if !q.Since.IsZero() {
		where = append(where, "s.stored > "+arg(q.Since.UnixMilli()))
	}
	if !q.Until.IsZero() {
		where = append(where, "s.stored <= "+arg(q.Until.UnixMilli()))
	}
	order := "DESC"
	if q.Ascending {
		order = "ASC"
		if q.Cursor > 0 {
			where = append(where, seqCol+" > "+arg(q.Cursor))
		}
	} else if q.Cursor > 0 {
		where = append(where, seqCol+" < "+arg(q.Cursor))
	}
	if q.MaxSeq > 0 {
		where = append(where, seqCol+" <= "+arg(q.MaxSeq))
	}
	limit := q.Limit + 1
	query := `SELECT s.seq, s.stored, s.body FROM ` + from + ` WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + seqCol + ` ` + order + ` LIMIT ` + arg(limit)
	var rows rowsLike
	var err error
	if s.d.Dialect == db.Postgres && (planPerCall || len(terms) > 0) {
		// With terms to check besides the one walked, or a set of related
		// statements to take, plan for the actual values each time (an
		// unnamed statement): a cached prepared
		// statement soon gets a generic plan, which cannot tell a rare
		// term from a common one and may merge-join the whole range of a
		// common verb instead of probing it. A single-term walk has one
		// good plan, so it keeps the cached statement and skips planning.
		rows, err = s.d.Pool.Query(ctx, query, append([]any{pgx.QueryExecModeExec}, args...)...)
	} else if s.d.Dialect == db.Postgres {
		rows, err = s.d.Pool.Query(ctx, query, args...)
	} else {
		var r *sql.Rows
		r, err = s.d.SQL.QueryContext(ctx, query, args...)
		if err == nil {
			rows = sqlRows{r}
		}
	}
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "query statements")
	}
	defer rows.Close()
	out := make([]lrs.Row, 0, min(limit, 128))
	for rows.Next() {
		var r lrs.Row
		var body string
		var stored int64
		if err := rows.Scan(&r.Seq, &stored, &body); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "query statements")
		}
		r.Body, r.Stored = []byte(body), time.UnixMilli(stored).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "query statements")
	}
	return out, nil
}

// Activity implements lrs.Store.
func (s *Store) Activity(ctx context.Context, borough, id string) ([]byte, error) {
	var def string
	err := s.d.SQL.QueryRowContext(ctx, `SELECT definition FROM lrs_activities WHERE borough_id = $1 AND id = $2`, borough, id).Scan(&def)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no activity %s", id)
	}
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "get activity")
	}
	return []byte(def), nil
}

// EraseAgent implements lrs.Store.
func (s *Store) EraseAgent(ctx context.Context, borough, agentKey string) (int, []string, error) {
	var seqs []any
	var orphans []string
	err := s.d.Tx(ctx, func(tx *sql.Tx) error {
		seqs, orphans = nil, nil
		// Every statement that mentions the agent anywhere goes: actor,
		// object, authority, instructor, team, group membership, and
		// statements that reference one of those.
		var err error
		if seqs, err = queryList[int64](ctx, tx, `SELECT DISTINCT seq FROM lrs_statement_terms
			WHERE borough_id = $1 AND kind IN (1, 2, 7) AND term = $2`, borough, agentKey); err != nil {
			return err
		}
		hashes := map[string]bool{}
		for start := 0; start < len(seqs); start += 500 {
			chunk := seqs[start:min(start+500, len(seqs))]
			args := append([]any{borough}, chunk...)
			ph := placeholders(2, len(chunk))
			hs, err := queryList[string](ctx, tx, `SELECT DISTINCT term FROM lrs_statement_terms
				WHERE borough_id = $1 AND kind = 9 AND seq IN (`+ph+`)`, args...)
			if err != nil {
				return err
			}
			for _, h := range hs {
				hashes[h.(string)] = true
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM lrs_statement_terms WHERE borough_id = $1 AND seq IN (`+ph+`)`, args...); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM lrs_statements WHERE borough_id = $1 AND seq IN (`+ph+`)`, args...); err != nil {
				return err
			}
		}
		for h := range hashes {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM lrs_statement_terms WHERE borough_id = $1 AND kind = 9 AND term = $2`,
				borough, h).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				orphans = append(orphans, h)
			}
		}
		sort.Strings(orphans)
		_, err = tx.ExecContext(ctx, `INSERT INTO lrs_erasures (borough_id, agent_hash, statements, erased_at) VALUES ($1, $2, $3, $4)`,
			borough, hashKey(agentKey), len(seqs), time.Now().UnixMilli())
		return err
	})
	if err != nil {
		return 0, nil, errs.Wrap(errs.Internal, err, "erase agent")
	}
	return len(seqs), orphans, nil
}

// queryList runs a one-column query and returns its values.
func queryList[T any](ctx context.Context, tx *sql.Tx, q string, args ...any) ([]any, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []any
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Erasures returns how many erasures have been recorded in a borough.
func (s *Store) Erasures(ctx context.Context, borough string) (int, error) {
	var n int
	if err := s.d.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM lrs_erasures WHERE borough_id = $1`, borough).Scan(&n); err != nil {
		return 0, errs.Wrap(errs.Internal, err, "count erasures")
	}
	return n, nil
}

func hashKey(k string) string {
	h := sha256.Sum256([]byte(k))
	return hex.EncodeToString(h[:])
}
