-- One row per SCORM attempt: a learner's attempt on one SCO of a package
-- within a registration. cmi holds the data model the SCO wrote (JSON
-- object element → value); meta the package facts statements need.
CREATE TABLE scorm_attempts (
    id            TEXT PRIMARY KEY,
    borough_id    TEXT NOT NULL,
    registration  TEXT NOT NULL,
    learner       TEXT NOT NULL,
    learner_id    TEXT NOT NULL,
    learner_name  TEXT NOT NULL,
    package_id    TEXT NOT NULL,
    sco_id        TEXT NOT NULL,
    version       TEXT NOT NULL,
    number        INTEGER NOT NULL,
    status        TEXT NOT NULL,
    entry         TEXT NOT NULL,
    session_id    TEXT NOT NULL,
    session_state TEXT NOT NULL,
    cmi           TEXT NOT NULL,
    meta          TEXT NOT NULL,
    total_seconds REAL NOT NULL DEFAULT 0,
    seq           INTEGER NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    UNIQUE (borough_id, registration, package_id, sco_id, number)
);
CREATE INDEX scorm_attempts_registration ON scorm_attempts (borough_id, registration);
