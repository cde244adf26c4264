CREATE TABLE boroughs (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    borough_id TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL,
    profession TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (borough_id, email)
);
CREATE INDEX users_role ON users (role);

CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    borough_id TEXT NOT NULL REFERENCES boroughs (id),
    name TEXT NOT NULL,
    key TEXT NOT NULL UNIQUE,
    secret_hash BYTEA NOT NULL,
    scopes TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX credentials_borough ON credentials (borough_id);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    private_key BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    retired_at TIMESTAMPTZ
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    borough_id TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    borough_id TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_log_borough ON audit_log (borough_id, id);
