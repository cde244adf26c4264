package scorm

import "context"

// EraseLearner deletes every SCORM attempt of one learner in a borough,
// with the CMI data and the learner's name the attempts hold, for GDPR
// erasure. It returns how many attempts it deleted.
func (s *Service) EraseLearner(ctx context.Context, boroughID, learnerID string) (int, error) {
	res, err := s.opts.DB.SQL.ExecContext(ctx, `DELETE FROM scorm_attempts WHERE borough_id = $1 AND learner_id = $2`, boroughID, learnerID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
