-- Invitations to create a learner account; the token is stored hashed.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    borough_id TEXT NOT NULL REFERENCES boroughs (id),
    email TEXT NOT NULL,
    token_hash BYTEA NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    accepted_at TIMESTAMPTZ,
    user_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX invitations_borough ON invitations (borough_id, created_at);
