-- cmi5 registrations: one per learner per course version, created at the
-- learner's first launch in that version.
CREATE TABLE launch_registrations (
    id TEXT PRIMARY KEY,
    borough_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    version_id TEXT NOT NULL,
    course_id TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    satisfied_at TIMESTAMPTZ,
    UNIQUE (borough_id, learner_id, version_id)
);
CREATE INDEX launch_registrations_learner ON launch_registrations (borough_id, learner_id);

-- One row per AU of a registration that has been launched, waived or
-- satisfied: the LMS's view of the AU's status.
CREATE TABLE launch_au_status (
    registration_id TEXT NOT NULL REFERENCES launch_registrations (id) ON DELETE CASCADE,
    au_id TEXT NOT NULL,
    module TEXT NOT NULL DEFAULT '',
    completed_at TIMESTAMPTZ,
    passed_at TIMESTAMPTZ,
    failed_at TIMESTAMPTZ,
    satisfied_at TIMESTAMPTZ,
    waived_at TIMESTAMPTZ,
    waive_reason TEXT NOT NULL DEFAULT '',
    score DOUBLE PRECISION,
    seconds_spent DOUBLE PRECISION NOT NULL DEFAULT 0,
    launches INTEGER NOT NULL DEFAULT 0,
    last_launch_at TIMESTAMPTZ,
    PRIMARY KEY (registration_id, au_id)
);

-- Satisfied statements the LMS has sent for blocks and the course, so
-- each is sent once per registration.
CREATE TABLE launch_satisfied (
    registration_id TEXT NOT NULL REFERENCES launch_registrations (id) ON DELETE CASCADE,
    activity_id TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (registration_id, activity_id)
);

-- AU sessions: one per launch. state is launched, initialized,
-- terminated or abandoned.
CREATE TABLE launch_sessions (
    id TEXT PRIMARY KEY,
    registration_id TEXT NOT NULL REFERENCES launch_registrations (id) ON DELETE CASCADE,
    borough_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    au_id TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'cmi5',
    launch_mode TEXT NOT NULL,
    mastery_score DOUBLE PRECISION,
    move_on TEXT NOT NULL,
    token_id TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    launched_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    ended_at TIMESTAMPTZ,
    seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
    completed INTEGER NOT NULL DEFAULT 0,
    passed INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX launch_sessions_open ON launch_sessions (state, last_seen_at);
CREATE INDEX launch_sessions_reg ON launch_sessions (registration_id, au_id);
