-- The highest commit sequence number applied in the attempt's current
-- session. The player numbers its commits; a replayed or late commit whose
-- number is not above it is acknowledged and not applied, so a commit
-- delivered twice or out of order never takes the data back in time. It is
-- written by the same UPDATE as the CMI data, and a new session starts it
-- again at 0.
ALTER TABLE scorm_attempts ADD COLUMN commit_seq BIGINT NOT NULL DEFAULT 0;
