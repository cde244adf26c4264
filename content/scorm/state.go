package scorm

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs"
)

// The State document ids of ADL's xAPI SCORM Profile.
const (
	ActivityStateID  = "http://adlnet.gov/xapi/profile/scorm/activity-state"
	AttemptStateID   = "http://adlnet.gov/xapi/profile/scorm/attempt-state"
	suspendDataType  = "http://adlnet.gov/xapi/profile/scorm/types/adl-suspend-data"
	stateContentType = "application/json"
)

// recordAttemptStart adds a new attempt's IRI to the SCO's Activity State
// document (the learner's attempts on the SCO, oldest first), as the
// profile asks when an attempt is initialized.
func (s *Service) recordAttemptStart(ctx context.Context, a Attempt) error {
	if s.opts.Documents == nil {
		return nil
	}
	req := lrs.DocumentRequest{Kind: lrs.StateDocument, Version: lrs.V103, ActivityID: a.Meta.SCOIRI,
		Agent: string(a.Learner), ID: ActivityStateID}
	var state struct {
		Attempts []string `json:"attempts"`
	}
	doc, err := s.opts.Documents.Get(ctx, a.BoroughID, req)
	switch {
	case err == nil:
		_ = json.Unmarshal(doc.Content, &state)
	case !errs.Is(err, errs.NotFound):
		return err
	}
	iri := a.AttemptIRI()
	for _, have := range state.Attempts {
		if have == iri {
			return nil
		}
	}
	state.Attempts = append(state.Attempts, iri)
	body, _ := json.Marshal(state)
	return s.opts.Documents.Put(ctx, a.BoroughID, req, stateContentType, body)
}

// recordAttemptState writes the attempt's Attempt State document: the
// learner-specific values the profile keeps out of statements (credit,
// mode, location, preferences, suspend data, total time).
func (s *Service) recordAttemptState(ctx context.Context, a Attempt) error {
	if s.opts.Documents == nil {
		return nil
	}
	c := a.CMI
	state := map[string]any{"credit": "credit", "mode": "normal", "total_time": formatInterval(a.TotalSeconds)}
	location, suspend := c["cmi.location"], c["cmi.suspend_data"]
	prefs := map[string]any{}
	if a.Version == V12 {
		location = c["cmi.core.lesson_location"]
		if v, err := strconv.Atoi(c["cmi.student_preference.audio"]); err == nil && v >= 0 {
			prefs["audio_level"] = v
		}
		if v := c["cmi.student_preference.language"]; v != "" {
			prefs["language"] = v
		}
		if v, err := strconv.Atoi(c["cmi.student_preference.text"]); err == nil {
			prefs["audio_captioning"] = v
		}
	} else {
		for _, k := range []string{"audio_level", "delivery_speed"} {
			if f, err := parseReal(c["cmi.learner_preference."+k]); err == nil {
				prefs[k] = f
			}
		}
		if v := c["cmi.learner_preference.language"]; v != "" {
			prefs["language"] = v
		}
		if v, err := strconv.Atoi(c["cmi.learner_preference.audio_captioning"]); err == nil {
			prefs["audio_captioning"] = v
		}
	}
	if location != "" {
		state["location"] = location
	}
	if len(prefs) > 0 {
		state["preferences"] = prefs
	}
	if suspend != "" {
		state["suspend_data"] = []map[string]string{{"type": suspendDataType, "id": a.Meta.SCOIRI + "/suspend-data", "data": suspend}}
	}
	body, _ := json.Marshal(state)
	req := lrs.DocumentRequest{Kind: lrs.StateDocument, Version: lrs.V103, ActivityID: a.AttemptIRI(),
		Agent: string(a.Learner), Registration: a.Registration, ID: AttemptStateID}
	return s.opts.Documents.Put(ctx, a.BoroughID, req, stateContentType, body)
}
