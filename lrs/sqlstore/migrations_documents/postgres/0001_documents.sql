-- The State, Activity Profile and Agent Profile documents of every borough.
-- Fields that do not apply to a kind hold '' so the primary key stays total.
CREATE TABLE lrs_documents (
    borough_id   TEXT   NOT NULL,
    kind         TEXT   NOT NULL CHECK (kind IN ('state', 'activity_profile', 'agent_profile')),
    activity_id  TEXT   NOT NULL DEFAULT '',
    agent_key    TEXT   NOT NULL DEFAULT '',
    registration TEXT   NOT NULL DEFAULT '',
    doc_id       TEXT   NOT NULL,
    content_type TEXT   NOT NULL,
    content      BYTEA  NOT NULL,
    etag         TEXT   NOT NULL,
    updated_us   BIGINT NOT NULL,
    PRIMARY KEY (borough_id, kind, activity_id, agent_key, registration, doc_id)
);

-- Learner erasure finds an agent's documents across activities.
CREATE INDEX lrs_documents_agent ON lrs_documents (borough_id, agent_key);
