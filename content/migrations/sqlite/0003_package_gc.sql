-- A row every transaction that deletes packages, sweeps blobs, takes
-- blob leases or creates course versions updates first, so they run one
-- at a time where it matters (see content/gc.go).
CREATE TABLE content_locks (
    name TEXT PRIMARY KEY,
    n INTEGER NOT NULL
);
INSERT INTO content_locks (name, n) VALUES ('packages', 0);

-- Blobs an import in progress is storing or reusing; the sweep leaves
-- them alone until the lease is released or expires (unix milliseconds).
CREATE TABLE content_blob_leases (
    lease_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (lease_id, sha256)
);
CREATE INDEX content_blob_leases_sha256 ON content_blob_leases (sha256);
