-- Statements are immutable: body is written once. voided is the only
-- column that changes, when a voiding statement arrives.
CREATE TABLE lrs_statements (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    borough_id TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    stored     INTEGER NOT NULL, -- Unix milliseconds
    hash       TEXT    NOT NULL,
    voids      TEXT,
    voided     BOOLEAN NOT NULL DEFAULT FALSE,
    body       TEXT    NOT NULL
);
CREATE UNIQUE INDEX lrs_statements_id ON lrs_statements (borough_id, id);
CREATE INDEX lrs_statements_borough_seq ON lrs_statements (borough_id, seq);
CREATE INDEX lrs_statements_stored ON lrs_statements (borough_id, stored);
CREATE INDEX lrs_statements_voids ON lrs_statements (borough_id, voids) WHERE voids IS NOT NULL;

-- One row per filterable value of a statement (agent, verb, activity,
-- registration, ...), so every filter is an index range ordered by seq.
CREATE TABLE lrs_statement_terms (
    borough_id TEXT    NOT NULL,
    kind       INTEGER NOT NULL,
    term       TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (borough_id, kind, term, seq)
) WITHOUT ROWID;
CREATE INDEX lrs_statement_terms_seq ON lrs_statement_terms (seq);

CREATE TABLE lrs_activities (
    borough_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (borough_id, id)
) WITHOUT ROWID;

-- Erasures are recorded without the erased identity: only a hash of it.
CREATE TABLE lrs_erasures (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    borough_id TEXT    NOT NULL,
    agent_hash TEXT    NOT NULL,
    statements INTEGER NOT NULL,
    erased_at  INTEGER NOT NULL
);
