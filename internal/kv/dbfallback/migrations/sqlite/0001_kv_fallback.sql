-- One-time values (cmi5 fetch codes) kept in the database while Redis is
-- unreachable, so launches keep working during a Redis outage.
CREATE TABLE kv_fallback (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    expires_at BIGINT NOT NULL -- Unix milliseconds
);
CREATE INDEX kv_fallback_expires ON kv_fallback (expires_at);
