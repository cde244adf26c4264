-- The reports' fact tables, folded from statements by the projector.
CREATE TABLE report_cursor (
    id  INTEGER PRIMARY KEY,
    seq BIGINT NOT NULL
);
INSERT INTO report_cursor (id, seq) VALUES (1, 0);

-- One row per learner and module. Times are Unix milliseconds.
CREATE TABLE report_progress (
    borough_id   TEXT    NOT NULL,
    learner      TEXT    NOT NULL,
    au           TEXT    NOT NULL,
    user_id      TEXT    NOT NULL DEFAULT '',
    started_at   BIGINT,
    completed_at BIGINT,
    passed_at    BIGINT,
    failed_at    BIGINT,
    satisfied_at BIGINT,
    last_page    TEXT    NOT NULL DEFAULT '',
    last_title   TEXT    NOT NULL DEFAULT '',
    last_at      BIGINT,
    time_ms      BIGINT  NOT NULL DEFAULT 0,
    sessions     INTEGER NOT NULL DEFAULT 0,
    best_score   DOUBLE PRECISION,
    PRIMARY KEY (borough_id, learner, au)
);
CREATE INDEX report_progress_user ON report_progress (user_id);

CREATE TABLE report_answers (
    borough_id TEXT    NOT NULL,
    seq        BIGINT  NOT NULL,
    learner    TEXT    NOT NULL,
    user_id    TEXT    NOT NULL DEFAULT '',
    au         TEXT    NOT NULL,
    question   TEXT    NOT NULL,
    title      TEXT    NOT NULL DEFAULT '',
    response   TEXT    NOT NULL DEFAULT '',
    success    BOOLEAN,
    at         BIGINT  NOT NULL,
    PRIMARY KEY (borough_id, seq)
);
CREATE INDEX report_answers_question ON report_answers (borough_id, question);

-- Reflections written and drafts saved ('reflection' or 'draft').
CREATE TABLE report_writing (
    borough_id TEXT   NOT NULL,
    seq        BIGINT NOT NULL,
    learner    TEXT   NOT NULL,
    user_id    TEXT   NOT NULL DEFAULT '',
    au         TEXT   NOT NULL,
    kind       TEXT   NOT NULL,
    object     TEXT   NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (borough_id, seq)
);

CREATE TABLE report_titles (
    borough_id TEXT NOT NULL,
    au         TEXT NOT NULL,
    title      TEXT NOT NULL,
    PRIMARY KEY (borough_id, au)
);
