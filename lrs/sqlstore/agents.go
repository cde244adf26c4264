package sqlstore

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs"
)

// The agent's statements are found through the terms index (borough, kind,
// term, seq), walked backwards from the newest for at most $3 rows of each
// kind, so the work does not grow with the borough or with the agent's
// history. From those statements the database returns the distinct JSON
// of every place an Agent with a name can stand for the agent: the actor,
// an Agent or Group object, the instructor, the team, a SubStatement's
// actor (SQLite takes them with one json_extract per statement, so each
// body is parsed once). Go then keeps the fragments whose identifier is the agent's (a
// StatementRef inherits its target's terms, so a statement found may not
// name the agent at all) and takes their names and their members' names.

const agentFragmentsSQLite = `
WITH recent(seq) AS (
	SELECT seq FROM (SELECT seq FROM lrs_statement_terms
		WHERE borough_id = $1 AND kind = 1 AND term = $2 ORDER BY seq DESC LIMIT $3)
	UNION
	SELECT seq FROM (SELECT seq FROM lrs_statement_terms
		WHERE borough_id = $1 AND kind = 2 AND term = $2 ORDER BY seq DESC LIMIT $3)
)
SELECT DISTINCT j.value FROM recent r JOIN lrs_statements s ON s.seq = r.seq,
	json_each(json_extract(s.body, '$.actor', '$.object', '$.context.instructor', '$.context.team', '$.object.actor')) j
WHERE s.borough_id = $1 AND j.type = 'object'
	-- not an Activity, StatementRef or SubStatement object
	AND json_extract(j.value, '$.id') IS NULL AND json_extract(j.value, '$.actor') IS NULL`

const agentFragmentsPostgres = `
WITH recent AS (
	(SELECT seq FROM lrs_statement_terms
		WHERE borough_id = $1 AND kind = 1 AND term = $2 ORDER BY seq DESC LIMIT $3)
	UNION
	(SELECT seq FROM lrs_statement_terms
		WHERE borough_id = $1 AND kind = 2 AND term = $2 ORDER BY seq DESC LIMIT $3)
),
bodies AS MATERIALIZED (
	SELECT s.body::jsonb AS b FROM recent r JOIN lrs_statements s ON s.seq = r.seq WHERE s.borough_id = $1
)
SELECT DISTINCT f::text FROM bodies CROSS JOIN LATERAL (VALUES
	(b->'actor'),
	(CASE WHEN b->'object'->>'objectType' IN ('Agent', 'Group') THEN b->'object' END),
	(b->'context'->'instructor'),
	(b->'context'->'team'),
	(CASE WHEN b->'object'->>'objectType' = 'SubStatement' THEN b->'object'->'actor' END)
) AS v(f) WHERE f IS NOT NULL AND jsonb_typeof(f) = 'object'`

// AgentNames implements lrs.Store.
func (s *Store) AgentNames(ctx context.Context, borough, agentKey string, limit int) ([]string, error) {
	if agentKey == "" || limit <= 0 {
		return []string{}, nil
	}
	q := agentFragmentsSQLite
	if s.d.Dialect == db.Postgres {
		q = agentFragmentsPostgres
	}
	rows, err := s.d.SQL.QueryContext(ctx, q, borough, agentKey, lrs.AgentNamesScan)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "agent names")
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var frag string
		if err := rows.Scan(&frag); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "agent names")
		}
		// Stored statements were validated on the way in; a fragment
		// that does not decode as an Agent or Group is not one.
		var a lrs.Actor
		if json.Unmarshal([]byte(frag), &a) != nil {
			continue
		}
		if a.Name != "" && !a.IsGroup() && a.Key() == agentKey {
			seen[a.Name] = true
		}
		for _, m := range a.Member {
			if m.Name != "" && m.Key() == agentKey {
				seen[m.Name] = true
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "agent names")
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) > limit {
		names = names[:limit]
	}
	return names, nil
}
