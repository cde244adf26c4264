-- Forwarding targets and their delivery state. The cursor is the last
-- lrs_statements.seq delivered (or found not to match); the lease names
-- the one replica delivering for the target until lease_until.
CREATE TABLE lrs_forward_targets (
    id                TEXT    PRIMARY KEY,
    borough_id        TEXT    NOT NULL,
    name              TEXT    NOT NULL,
    endpoint          TEXT    NOT NULL,
    xapi_version      TEXT    NOT NULL,
    auth_type         TEXT    NOT NULL,
    auth_key          TEXT    NOT NULL DEFAULT '',
    auth_secret       TEXT    NOT NULL DEFAULT '',
    verbs             TEXT    NOT NULL DEFAULT '[]', -- JSON array of IRIs
    activities        TEXT    NOT NULL DEFAULT '[]',
    enabled           BOOLEAN NOT NULL,
    created_at        INTEGER NOT NULL, -- Unix milliseconds
    updated_at        INTEGER NOT NULL,
    cursor_seq        INTEGER NOT NULL DEFAULT 0,
    delivered         INTEGER NOT NULL DEFAULT 0,
    last_delivered_at INTEGER,
    last_attempt_at   INTEGER,
    last_error        TEXT    NOT NULL DEFAULT '',
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER,
    lease_owner       TEXT    NOT NULL DEFAULT '',
    lease_until       INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX lrs_forward_targets_name ON lrs_forward_targets (borough_id, name);
