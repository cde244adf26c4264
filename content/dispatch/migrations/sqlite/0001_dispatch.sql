CREATE TABLE dispatches (
    id            TEXT PRIMARY KEY,
    borough_id    TEXT NOT NULL,
    name          TEXT NOT NULL,
    token         TEXT NOT NULL UNIQUE,
    learner_limit INTEGER NOT NULL DEFAULT 0,
    created_by    TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP
);
CREATE INDEX dispatches_borough ON dispatches (borough_id, created_at);
