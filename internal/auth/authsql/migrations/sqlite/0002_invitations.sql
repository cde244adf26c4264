-- Invitations to create a learner account; the token is stored hashed.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    borough_id TEXT NOT NULL REFERENCES boroughs (id),
    email TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    accepted_at TIMESTAMP,
    user_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX invitations_borough ON invitations (borough_id, created_at);
