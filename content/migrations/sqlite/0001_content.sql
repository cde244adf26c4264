-- Imported packages. course is the parsed course tree (JSON).
CREATE TABLE content_packages (
    id TEXT PRIMARY KEY,
    borough_id TEXT NOT NULL REFERENCES boroughs (id),
    type TEXT NOT NULL,
    title TEXT NOT NULL,
    course TEXT NOT NULL,
    file_count INTEGER NOT NULL,
    size INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (borough_id, content_hash)
);

-- Each package's file map: path inside the zip → content-addressed blob.
CREATE TABLE content_files (
    package_id TEXT NOT NULL REFERENCES content_packages (id),
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    PRIMARY KEY (package_id, path)
);
CREATE INDEX content_files_sha256 ON content_files (sha256);

-- Immutable versions of a borough's course; only status and the
-- published_* columns change after insert.
CREATE TABLE content_versions (
    id TEXT PRIMARY KEY,
    borough_id TEXT NOT NULL REFERENCES boroughs (id),
    number INTEGER NOT NULL,
    status TEXT NOT NULL,
    base_package_id TEXT NOT NULL REFERENCES content_packages (id),
    modules TEXT NOT NULL,
    slots TEXT NOT NULL,
    note TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    published_by TEXT NOT NULL DEFAULT '',
    published_at TIMESTAMP,
    UNIQUE (borough_id, number)
);

-- The version each learner started each module on.
CREATE TABLE content_pins (
    borough_id TEXT NOT NULL,
    learner TEXT NOT NULL,
    module TEXT NOT NULL,
    version_id TEXT NOT NULL REFERENCES content_versions (id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (borough_id, learner, module)
);
