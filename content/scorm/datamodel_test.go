package scorm

import (
	"strings"
	"testing"

	"github.com/reach-london/reach/internal/errs"
)

func TestApplyValidation(t *testing.T) {
	long := strings.Repeat("x", 4097)
	tests := []struct {
		name    string
		version Version
		start   CMI
		values  []SetValue
		wantErr string // substring of the message; "" means accepted
	}{
		// SCORM 1.2
		{"1.2 status", V12, nil, []SetValue{{"cmi.core.lesson_status", "passed"}}, ""},
		{"1.2 status vocabulary", V12, nil, []SetValue{{"cmi.core.lesson_status", "done"}}, `cmi.core.lesson_status: "done" is not one of`},
		{"1.2 not attempted is the LMS's", V12, nil, []SetValue{{"cmi.core.lesson_status", "not attempted"}}, "is not one of"},
		{"1.2 student_id read-only", V12, nil, []SetValue{{"cmi.core.student_id", "x"}}, "cmi.core.student_id is read-only"},
		{"1.2 entry read-only", V12, nil, []SetValue{{"cmi.core.entry", "resume"}}, "cmi.core.entry is read-only"},
		{"1.2 keyword", V12, nil, []SetValue{{"cmi.interactions._count", "3"}}, "is a keyword"},
		{"1.2 unknown element", V12, nil, []SetValue{{"cmi.core.favourite_colour", "blue"}}, "is not a SCORM 1.2 data model element"},
		{"1.2 2004 element", V12, nil, []SetValue{{"cmi.completion_status", "completed"}}, "is not a SCORM 1.2 data model element"},
		{"1.2 score raw", V12, nil, []SetValue{{"cmi.core.score.raw", "87.5"}}, ""},
		{"1.2 score blank", V12, nil, []SetValue{{"cmi.core.score.raw", ""}}, ""},
		{"1.2 score range", V12, nil, []SetValue{{"cmi.core.score.raw", "101"}}, "outside the range 0 to 100"},
		{"1.2 score not a number", V12, nil, []SetValue{{"cmi.core.score.raw", "1e2"}}, "is not a number"},
		{"1.2 exit suspend", V12, nil, []SetValue{{"cmi.core.exit", "suspend"}}, ""},
		{"1.2 exit blank", V12, nil, []SetValue{{"cmi.core.exit", ""}}, ""},
		{"1.2 exit vocabulary", V12, nil, []SetValue{{"cmi.core.exit", "normal"}}, "is not one of"},
		{"1.2 session time", V12, nil, []SetValue{{"cmi.core.session_time", "0001:30:05.25"}}, ""},
		{"1.2 session time format", V12, nil, []SetValue{{"cmi.core.session_time", "PT1H"}}, "is not a CMITimespan"},
		{"1.2 location length", V12, nil, []SetValue{{"cmi.core.lesson_location", strings.Repeat("l", 256)}}, "longer than the 255 characters"},
		{"1.2 suspend data length", V12, nil, []SetValue{{"cmi.suspend_data", long}}, "longer than the 4096 characters"},
		{"1.2 preference range", V12, nil, []SetValue{{"cmi.student_preference.audio", "101"}}, "outside the range -1 to 100"},
		{"1.2 interaction", V12, nil, []SetValue{{"cmi.interactions.0.id", "q1"}, {"cmi.interactions.0.type", "choice"},
			{"cmi.interactions.0.student_response", "a"}, {"cmi.interactions.0.result", "wrong"}, {"cmi.interactions.0.time", "09:15:00"}}, ""},
		{"1.2 interaction id with space", V12, nil, []SetValue{{"cmi.interactions.0.id", "q 1"}}, "is not a CMIIdentifier"},
		{"1.2 interaction type", V12, nil, []SetValue{{"cmi.interactions.0.type", "long-fill-in"}}, "is not one of"},
		{"1.2 interaction result", V12, nil, []SetValue{{"cmi.interactions.0.result", "incorrect"}}, `is not "correct", "wrong"`},
		{"1.2 interaction numeric result", V12, nil, []SetValue{{"cmi.interactions.0.result", "0.5"}}, ""},
		{"1.2 interaction time", V12, nil, []SetValue{{"cmi.interactions.0.time", "25:00:00"}}, "is not a CMITime"},
		{"1.2 index skips", V12, nil, []SetValue{{"cmi.interactions.1.id", "q2"}}, "index 1 skips ahead; cmi.interactions has 0 members"},
		{"1.2 index after existing", V12, CMI{"cmi.interactions.0.id": "q1"}, []SetValue{{"cmi.interactions.1.id", "q2"}}, ""},
		{"1.2 nested index skips", V12, CMI{"cmi.interactions.0.id": "q1"}, []SetValue{{"cmi.interactions.0.correct_responses.2.pattern", "a"}}, "cmi.interactions.0.correct_responses has 0 members"},
		{"1.2 leading zero index", V12, nil, []SetValue{{"cmi.interactions.00.id", "q1"}}, "is not a SCORM 1.2 data model element"},
		{"1.2 objective status", V12, nil, []SetValue{{"cmi.objectives.0.id", "o1"}, {"cmi.objectives.0.status", "not attempted"}}, ""},
		// SCORM 2004
		{"2004 statuses", V2004, nil, []SetValue{{"cmi.completion_status", "completed"}, {"cmi.success_status", "passed"}}, ""},
		{"2004 completion vocabulary", V2004, nil, []SetValue{{"cmi.completion_status", "passed"}}, "is not one of"},
		{"2004 success vocabulary", V2004, nil, []SetValue{{"cmi.success_status", "completed"}}, "is not one of"},
		{"2004 scaled", V2004, nil, []SetValue{{"cmi.score.scaled", "-0.25"}}, ""},
		{"2004 scaled range", V2004, nil, []SetValue{{"cmi.score.scaled", "1.5"}}, "outside the range -1 to 1"},
		{"2004 raw unbounded", V2004, nil, []SetValue{{"cmi.score.raw", "250"}}, ""},
		{"2004 progress range", V2004, nil, []SetValue{{"cmi.progress_measure", "1.01"}}, "outside the range 0 to 1"},
		{"2004 learner_id read-only", V2004, nil, []SetValue{{"cmi.learner_id", "x"}}, "cmi.learner_id is read-only"},
		{"2004 total_time read-only", V2004, nil, []SetValue{{"cmi.total_time", "PT1H"}}, "read-only"},
		{"2004 1.2 element", V2004, nil, []SetValue{{"cmi.core.lesson_status", "passed"}}, "is not a SCORM 2004 data model element"},
		{"2004 exit normal", V2004, nil, []SetValue{{"cmi.exit", "normal"}}, ""},
		{"2004 exit vocabulary", V2004, nil, []SetValue{{"cmi.exit", "finish"}}, "is not one of"},
		{"2004 session time", V2004, nil, []SetValue{{"cmi.session_time", "PT1H2M3.5S"}}, ""},
		{"2004 session time bad", V2004, nil, []SetValue{{"cmi.session_time", "01:00:00"}}, "is not an ISO 8601 duration"},
		{"2004 session time empty T", V2004, nil, []SetValue{{"cmi.session_time", "PT"}}, "is not an ISO 8601 duration"},
		{"2004 location length", V2004, nil, []SetValue{{"cmi.location", strings.Repeat("l", 1001)}}, "longer than the 1000 characters"},
		{"2004 suspend data 64000", V2004, nil, []SetValue{{"cmi.suspend_data", strings.Repeat("s", 64000)}}, ""},
		{"2004 interaction", V2004, nil, []SetValue{{"cmi.interactions.0.id", "urn:q:1"}, {"cmi.interactions.0.type", "long-fill-in"},
			{"cmi.interactions.0.learner_response", "free text"}, {"cmi.interactions.0.result", "incorrect"},
			{"cmi.interactions.0.timestamp", "2026-11-25T09:30:00.5Z"}, {"cmi.interactions.0.latency", "PT12S"},
			{"cmi.interactions.0.description", "{lang=en-GB}Question one"}}, ""},
		{"2004 interaction id first", V2004, nil, []SetValue{{"cmi.interactions.0.type", "choice"}}, "set cmi.interactions.0.id first"},
		{"2004 interaction result", V2004, nil, []SetValue{{"cmi.interactions.0.id", "q"}, {"cmi.interactions.0.result", "wrong"}}, `is not "correct", "incorrect"`},
		{"2004 interaction timestamp", V2004, nil, []SetValue{{"cmi.interactions.0.id", "q"}, {"cmi.interactions.0.timestamp", "yesterday"}}, "is not an ISO 8601 time"},
		{"2004 interaction empty id", V2004, nil, []SetValue{{"cmi.interactions.0.id", ""}}, "is empty"},
		{"2004 bad lang prefix", V2004, nil, []SetValue{{"cmi.interactions.0.id", "q"}, {"cmi.interactions.0.description", "{lang=??}x"}}, "has a {lang=} prefix"},
		{"2004 objective score", V2004, nil, []SetValue{{"cmi.objectives.0.id", "o"}, {"cmi.objectives.0.score.scaled", "0.8"}}, ""},
		{"2004 comment", V2004, nil, []SetValue{{"cmi.comments_from_learner.0.comment", "good"}}, ""},
		{"2004 comments from lms read-only", V2004, nil, []SetValue{{"cmi.comments_from_lms.0.comment", "x"}}, "read-only"},
		{"2004 language", V2004, nil, []SetValue{{"cmi.learner_preference.language", "en-GB"}}, ""},
		{"2004 audio captioning", V2004, nil, []SetValue{{"cmi.learner_preference.audio_captioning", "2"}}, "is not one of"},
		{"2004 nav request", V2004, nil, []SetValue{{"adl.nav.request", "continue"}, {"adl.nav.request", "{target=lesson-2}choice"}}, ""},
		{"2004 nav request bad", V2004, nil, []SetValue{{"adl.nav.request", "next"}}, "is not a navigation request"},
		{"2004 nav valid read-only", V2004, nil, []SetValue{{"adl.nav.request_valid.continue", "true"}}, "read-only"},
		{"2004 true-false response", V2004, CMI{"cmi.interactions.0.id": "q", "cmi.interactions.0.type": "true-false"},
			[]SetValue{{"cmi.interactions.0.learner_response", "true"}}, ""},
		{"2004 true-false bad response", V2004, CMI{"cmi.interactions.0.id": "q", "cmi.interactions.0.type": "true-false"},
			[]SetValue{{"cmi.interactions.0.learner_response", "t"}}, "is not a true-false response"},
		{"2004 numeric response", V2004, CMI{"cmi.interactions.0.id": "q", "cmi.interactions.0.type": "numeric"},
			[]SetValue{{"cmi.interactions.0.learner_response", "seven"}}, "is not a number"},
		{"2004 numeric range pattern", V2004, CMI{"cmi.interactions.0.id": "q", "cmi.interactions.0.type": "numeric"},
			[]SetValue{{"cmi.interactions.0.correct_responses.0.pattern", "5[:]10"}}, ""},
		{"2004 numeric bad pattern", V2004, CMI{"cmi.interactions.0.id": "q", "cmi.interactions.0.type": "numeric"},
			[]SetValue{{"cmi.interactions.0.correct_responses.0.pattern", "5-10"}}, "is not a numeric range"},
		{"2004 choice response", V2004, nil, []SetValue{{"cmi.interactions.0.id", "q"}, {"cmi.interactions.0.type", "choice"},
			{"cmi.interactions.0.learner_response", "a[,]b"}}, ""},
		{"2004 choice bad response", V2004, nil, []SetValue{{"cmi.interactions.0.id", "q"}, {"cmi.interactions.0.type", "choice"},
			{"cmi.interactions.0.learner_response", "a[,][,]b"}}, "is not a list of choice identifiers"},
		{"1.2 true-false response", V12, nil, []SetValue{{"cmi.interactions.0.id", "q"}, {"cmi.interactions.0.type", "true-false"},
			{"cmi.interactions.0.student_response", "t"}}, ""},
		{"1.2 true-false bad response", V12, nil, []SetValue{{"cmi.interactions.0.id", "q"}, {"cmi.interactions.0.type", "true-false"},
			{"cmi.interactions.0.student_response", "yes"}}, "is not a true-false response"},
		{"1.2 choice response", V12, nil, []SetValue{{"cmi.interactions.0.id", "q"}, {"cmi.interactions.0.type", "choice"},
			{"cmi.interactions.0.student_response", "{a,c}"}}, ""},
		{"first bad value rejects all", V2004, nil, []SetValue{{"cmi.location", "p2"}, {"cmi.score.scaled", "2"}}, "cmi.score.scaled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := tt.start
			if start == nil {
				start = CMI{}
			}
			before := start.Clone()
			got, err := start.Apply(tt.version, tt.values)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Apply: %v", err)
				}
				last := tt.values[len(tt.values)-1]
				if got[last.Element] != last.Value {
					t.Errorf("got %s = %q, want %q", last.Element, got[last.Element], last.Value)
				}
				return
			}
			if err == nil {
				t.Fatalf("Apply accepted %v, want an error containing %q", tt.values, tt.wantErr)
			}
			if !errs.Is(err, errs.Invalid) {
				t.Errorf("kind %v, want Invalid", errs.KindOf(err))
			}
			if !strings.Contains(errs.MessageOf(err), tt.wantErr) {
				t.Errorf("message %q, want it to contain %q", errs.MessageOf(err), tt.wantErr)
			}
			if len(start) != len(before) {
				t.Errorf("a rejected commit changed the data: %v, was %v", start, before)
			}
			for k, v := range before {
				if start[k] != v {
					t.Errorf("a rejected commit changed %s", k)
				}
			}
		})
	}
}

func TestReadableLeavesOutWriteOnly(t *testing.T) {
	c := CMI{"cmi.core.exit": "suspend", "cmi.core.session_time": "0000:01:00", "cmi.suspend_data": "x",
		"cmi.core.lesson_location": "p2", "cmi.interactions.0.id": "q1"}
	got := c.Readable(V12)
	for _, k := range []string{"cmi.core.exit", "cmi.core.session_time"} {
		if _, ok := got[k]; ok {
			t.Errorf("Readable kept write-only %s", k)
		}
	}
	for _, k := range []string{"cmi.suspend_data", "cmi.core.lesson_location", "cmi.interactions.0.id"} {
		if got[k] != c[k] {
			t.Errorf("Readable %s = %q, want %q", k, got[k], c[k])
		}
	}
	c2004 := CMI{"cmi.exit": "suspend", "cmi.interactions.0.id": "q1", "cmi.location": "p2"}
	got = c2004.Readable(V2004)
	if _, ok := got["cmi.exit"]; ok {
		t.Error("Readable kept cmi.exit")
	}
	if got["cmi.interactions.0.id"] != "q1" || got["cmi.location"] != "p2" {
		t.Errorf("Readable(2004) = %v, want interactions and location kept", got)
	}
}

func TestTimes(t *testing.T) {
	tests := []struct {
		in   string
		v    Version
		want float64
	}{
		{"0000:01:30.50", V12, 90.5},
		{"12:00:00", V12, 43200},
		{"PT1H2M3.5S", V2004, 3723.5},
		{"P1DT1S", V2004, 86401},
		{"PT0S", V2004, 0},
	}
	for _, tt := range tests {
		var got float64
		var ok bool
		if tt.v == V12 {
			got, ok = parseTimespan12(tt.in)
		} else {
			got, ok = parseInterval(tt.in)
		}
		if !ok || got != tt.want {
			t.Errorf("parse %q = %v, %v; want %v", tt.in, got, ok, tt.want)
		}
	}
	if got := formatTimespan12(3723.5); got != "0001:02:03.50" {
		t.Errorf("formatTimespan12 = %q, want 0001:02:03.50", got)
	}
	if got := formatInterval(3723.5); got != "PT1H2M3.5S" {
		t.Errorf("formatInterval = %q, want PT1H2M3.5S", got)
	}
}
