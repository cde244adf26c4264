package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
)

// The SQLite write path. One goroutine (Store.writer) writes statements,
// on a connection of its own that keeps the statements it runs compiled
// from one transaction to the next: database/sql compiles a statement
// again in every transaction (and a multi-row INSERT of a few hundred rows
// costs more to compile than to run), so the writer runs its transactions
// with BEGIN IMMEDIATE and COMMIT on the connection itself. Every statement
// the write path builds has one of a few fixed shapes (see chunkSizes and
// checkShape), so the cache stays small.

// writerCacheKiB is the page cache of the writer's connection. The
// statements' indexes take random inserts (an id, an agent, a
// registration per statement), so a cache that holds their hot pages
// saves re-reading them for every group; the pool's connections keep
// SQLite's default. (SQLite's allocator here rounds a cached page up to
// 8 KiB, so this costs about twice its size in memory.)
const writerCacheKiB = 16384

// sqliteWriter is the SQLite writer goroutine's connection and the
// statements compiled on it.
type sqliteWriter struct {
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
}

// sqliteWriterConn returns the writer's connection, opening it if need be.
func (s *Store) sqliteWriterConn(ctx context.Context) (*sqliteWriter, error) {
	if s.w != nil {
		return s.w, nil
	}
	conn, err := s.d.SQL.Conn(ctx)
	if err != nil {
		return nil, err
	}
	// Statement journals (the rare statement that may fail half way)
	// go to memory rather than to a temporary file.
	if _, err := conn.ExecContext(ctx, `PRAGMA temp_store = MEMORY; PRAGMA cache_size = -`+strconv.Itoa(writerCacheKiB)); err != nil {
		conn.Close()
		return nil, err
	}
	s.w = &sqliteWriter{conn: conn, stmts: map[string]*sql.Stmt{}}
	return s.w, nil
}

// dropWriterConn closes the writer's connection after an error that may
// have left it unusable; the next group opens another.
func (s *Store) dropWriterConn() {
	if s.w == nil {
		return
	}
	for _, st := range s.w.stmts {
		st.Close()
	}
	s.w.conn.Close()
	s.w = nil
}

// writeGroupSQLite stores every request of group in one transaction on
// the writer's connection.
func (s *Store) writeGroupSQLite(ctx context.Context, group []*writeReq) error {
	w, err := s.sqliteWriterConn(ctx)
	if err != nil {
		return err
	}
	if _, err := w.conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		s.dropWriterConn()
		return err
	}
	tx := sqliteTx{q: w.conn, stmts: w.stmts}
	var settled map[string]map[string]any
	err = func() error {
		for _, r := range group {
			if err := insertSQLiteTx(ctx, tx, r.borough, r.recs); err != nil {
				return err
			}
		}
		var err error
		if settled, err = s.mergeGroupDefinitions(ctx, tx, group); err != nil {
			return err
		}
		// The commit runs whatever ctx says by now: a COMMIT that took
		// effect must not be reported as failed.
		_, err = w.conn.ExecContext(context.Background(), `COMMIT`)
		return err
	}()
	if err != nil {
		// A failed statement or COMMIT may already have ended the
		// transaction; anything else wrong with the ROLLBACK means the
		// connection cannot be trusted.
		if _, rerr := w.conn.ExecContext(context.Background(), `ROLLBACK`); rerr != nil &&
			!strings.Contains(rerr.Error(), "no transaction is active") {
			s.dropWriterConn()
		}
		return err
	}
	s.defs.put(settled)
	return nil
}

// sqlQuerier is what the SQLite write path needs of a transaction or of
// the writer's connection inside its own BEGIN … COMMIT.
type sqlQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// sqliteTx runs the SQLite write path's SQL on q. The fixed-shape
// statements go through stmts, compiled once per connection, when q is the
// writer's connection; in a pool transaction (bulk loads) stmts is nil and
// each is compiled as it runs.
type sqliteTx struct {
	q     sqlQuerier
	stmts map[string]*sql.Stmt
}

func (t sqliteTx) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := t.stmts[query]; ok {
		return st, nil
	}
	st, err := t.q.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	t.stmts[query] = st
	return st, nil
}

// execFixed runs one of the write path's fixed-shape statements.
func (t sqliteTx) execFixed(ctx context.Context, query string, args ...any) error {
	if t.stmts == nil {
		_, err := t.q.ExecContext(ctx, query, args...)
		return err
	}
	st, err := t.prepared(ctx, query)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, args...)
	return err
}

// queryFixed runs one of the write path's fixed-shape queries.
func (t sqliteTx) queryFixed(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if t.stmts == nil {
		return t.q.QueryContext(ctx, query, args...)
	}
	st, err := t.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// exec and query implement execer for SQL of any shape ($N placeholders),
// compiled each time.
func (t sqliteTx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	q, args = rebind(q, args)
	res, err := t.q.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (t sqliteTx) query(ctx context.Context, q string, args ...any) (rowsLike, error) {
	q, args = rebind(q, args)
	rows, err := t.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

// chunkSizes are the row counts of the multi-row INSERTs the write path
// runs: n rows go in as the largest chunks that fit, so every INSERT has
// one of these shapes (a request of 100 statements is 64 + 32 + 4 rows).
var chunkSizes = []int{256, 128, 64, 32, 16, 8, 4, 2, 1}

// chunk returns the size of the next INSERT for n remaining rows.
func chunk(n int) int {
	for _, c := range chunkSizes {
		if c <= n {
			return c
		}
	}
	return 0
}

// maxCheckIDs is the most ids one existence check takes.
const maxCheckIDs = 512

// checkShape returns how many ids the existence check for n ids binds:
// the next power of two, the unused places repeating an id (an IN list
// with a value twice matches the same rows), so the check has a handful
// of shapes.
func checkShape(n int) int {
	k := 1
	for k < n {
		k *= 2
	}
	return k
}

// The fixed-shape SQL of the write path, built once.
var (
	fixedSQLOnce  sync.Once
	insertStmtSQL map[int]string // rows → INSERT INTO lrs_statements
	insertTermSQL map[int]string // rows → INSERT INTO lrs_statement_terms
	checkSQL      map[int]string // ids → existence check
)

func buildFixedSQL() {
	insertStmtSQL, insertTermSQL, checkSQL = map[int]string{}, map[int]string{}, map[int]string{}
	rows := func(n, cols int) string {
		return strings.TrimSuffix(strings.Repeat(qmarks(cols)+", ", n), ", ")
	}
	for _, n := range chunkSizes {
		// OR FAIL: a constraint failure ends the statement without
		// undoing its earlier rows. Under SQLite's default, ABORT, every
		// multi-row INSERT inside a transaction keeps a statement journal
		// to undo them, a copy of each page it changes; that journal's
		// allocations were the largest single cost of the write path. A
		// failure fails the whole transaction anyway, and the caller rolls
		// it back. (The statements INSERT still keeps one, as it sets the
		// rowid, seq, itself; most of its pages are new, which need none.)
		insertStmtSQL[n] = `INSERT OR FAIL INTO lrs_statements (seq, borough_id, id, stored, hash, voids, body) VALUES ` + rows(n, 7)
		insertTermSQL[n] = `INSERT OR FAIL INTO lrs_statement_terms (borough_id, kind, term, seq) VALUES ` + rows(n, 4)
	}
	// One query finds the ids already stored and the new ids that a
	// stored voiding statement already targets.
	for k := 1; k <= maxCheckIDs; k *= 2 {
		checkSQL[k] = `SELECT id, hash, body, 0 FROM lrs_statements WHERE borough_id = ? AND id IN ` + qmarks(k) + `
			UNION ALL SELECT voids, '', '', 1 FROM lrs_statements WHERE borough_id = ? AND voids IN ` + qmarks(k)
	}
}

// lastSeqSQL reads the last sequence number SQLite handed out.
const lastSeqSQL = `SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'lrs_statements'), 0)`
