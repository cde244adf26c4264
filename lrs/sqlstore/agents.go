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
// an Agent or Group object, the authority, the context's instructor and
// team, and the same places inside a SubStatement object; xAPI 2.0's
// contextAgents and contextGroups come back as their whole arrays. (SQLite
// takes them all with one json_extract per statement, so each body is
// parsed once.) Go then keeps the fragments whose identifier is the
// agent's (a StatementRef inherits its target's terms, so a statement
// found may not name the agent at all) and takes their names and their
// members' names.

const agentFragmentsSQLite = `
WITH recent(seq) AS (
	SELECT seq FROM (SELECT seq FROM lrs_statement_terms
		WHERE borough_id = $1 AND kind = 1 AND term = $2 ORDER BY seq DESC LIMIT $3)
	UNION
	SELECT seq FROM (SELECT seq FROM lrs_statement_terms
		WHERE borough_id = $1 AND kind = 2 AND term = $2 ORDER BY seq DESC LIMIT $3)
)
SELECT DISTINCT j.value FROM recent r JOIN lrs_statements s ON s.seq = r.seq,
	json_each(json_extract(s.body, '$.actor', '$.object', '$.authority',
		'$.context.instructor', '$.context.team', '$.context.contextAgents', '$.context.contextGroups',
		'$.object.actor', '$.object.object',
		'$.object.context.instructor', '$.object.context.team', '$.object.context.contextAgents', '$.object.context.contextGroups')) j
WHERE s.borough_id = $1 AND (j.type = 'array' OR (j.type = 'object'
	-- not an Activity, StatementRef or SubStatement object
	AND json_extract(j.value, '$.id') IS NULL AND json_extract(j.value, '$.actor') IS NULL))`

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
	(b->'authority'),
	(b->'context'->'instructor'),
	(b->'context'->'team'),
	(b->'context'->'contextAgents'),
	(b->'context'->'contextGroups'),
	(CASE WHEN b->'object'->>'objectType' = 'SubStatement' THEN b->'object'->'actor' END),
	(CASE WHEN b->'object'->>'objectType' = 'SubStatement' AND b->'object'->'object'->>'objectType' IN ('Agent', 'Group') THEN b->'object'->'object' END),
	(CASE WHEN b->'object'->>'objectType' = 'SubStatement' THEN b->'object'->'context'->'instructor' END),
	(CASE WHEN b->'object'->>'objectType' = 'SubStatement' THEN b->'object'->'context'->'team' END),
	(CASE WHEN b->'object'->>'objectType' = 'SubStatement' THEN b->'object'->'context'->'contextAgents' END),
	(CASE WHEN b->'object'->>'objectType' = 'SubStatement' THEN b->'object'->'context'->'contextGroups' END)
) AS v(f) WHERE f IS NOT NULL AND jsonb_typeof(f) IN ('object', 'array')`

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
		for _, a := range fragmentActors([]byte(frag)) {
			if a.Name != "" && !a.IsGroup() && a.Key() == agentKey {
				seen[a.Name] = true
			}
			for _, m := range a.Member {
				if m.Name != "" && m.Key() == agentKey {
					seen[m.Name] = true
				}
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

// fragmentActors decodes one fragment: an Agent or Group, or a
// contextAgents / contextGroups array whose entries hold one under
// "agent" or "group". Stored statements were validated on the way in; a
// fragment that does not decode as one of these names no one.
func fragmentActors(frag []byte) []lrs.Actor {
	if len(frag) > 0 && frag[0] == '[' {
		var entries []struct {
			Agent *lrs.Actor `json:"agent"`
			Group *lrs.Actor `json:"group"`
		}
		if json.Unmarshal(frag, &entries) != nil {
			return nil
		}
		var out []lrs.Actor
		for _, e := range entries {
			for _, a := range []*lrs.Actor{e.Agent, e.Group} {
				if a != nil {
					out = append(out, *a)
				}
			}
		}
		return out
	}
	var a lrs.Actor
	if json.Unmarshal(frag, &a) != nil {
		return nil
	}
	return []lrs.Actor{a}
}
