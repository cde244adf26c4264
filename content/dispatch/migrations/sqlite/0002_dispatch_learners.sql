CREATE TABLE dispatch_learners (
    dispatch_id TEXT NOT NULL REFERENCES dispatches (id),
    student_key TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (dispatch_id, student_key)
);
CREATE INDEX dispatch_learners_user ON dispatch_learners (user_id);
