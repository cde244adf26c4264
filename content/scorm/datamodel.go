package scorm

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/reach-london/reach/internal/errs"
)

// Version is the SCORM run-time version an attempt speaks.
type Version string

// The run-time versions. SCORM 2004 2nd, 3rd and 4th edition share one
// data model (4th edition only widened a few limits, which Reach applies
// to all three).
const (
	V12   Version = "1.2"
	V2004 Version = "2004"
)

// access says who may write an element.
type access int

const (
	readWrite access = iota
	readOnly         // set by the LMS; a SCO that writes it gets error 403/404
	writeOnly        // the SCO writes it, but cannot read it back
)

// element is one data model element: who may write it and how to check a
// value written to it. check returns "" or what is wrong, in words.
type element struct {
	access access
	check  func(v string) string
}

// ---- value types -------------------------------------------------------

func maxLen(n int, what string) func(string) string {
	return func(v string) string {
		if utf8.RuneCountInString(v) > n {
			return fmt.Sprintf("is longer than the %d characters a %s allows", n, what)
		}
		return ""
	}
}

func vocab(words ...string) func(string) string {
	return func(v string) string {
		for _, w := range words {
			if v == w {
				return ""
			}
		}
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = strconv.Quote(w)
		}
		return "is not one of " + strings.Join(quoted, ", ")
	}
}

// decimal checks a real number, optionally within [lo, hi]; blank allowed
// when allowBlank (SCORM 1.2 scores may be reset to "").
func decimal(lo, hi float64, allowBlank bool) func(string) string {
	return func(v string) string {
		if v == "" && allowBlank {
			return ""
		}
		f, err := parseReal(v)
		if err != nil {
			return "is not a number"
		}
		if f < lo || f > hi {
			return fmt.Sprintf("is outside the range %s to %s", fmtReal(lo), fmtReal(hi))
		}
		return ""
	}
}

func integer(lo, hi int) func(string) string {
	return func(v string) string {
		n, err := strconv.Atoi(v)
		if err != nil {
			return "is not an integer"
		}
		if n < lo || n > hi {
			return fmt.Sprintf("is outside the range %d to %d", lo, hi)
		}
		return ""
	}
}

var realRE = regexp.MustCompile(`^[-+]?(\d+\.?\d*|\.\d+)$`)

// parseReal reads a SCORM real: plain decimal notation, no exponent, no
// NaN or infinity.
func parseReal(v string) (float64, error) {
	if !realRE.MatchString(v) {
		return 0, fmt.Errorf("not a decimal number")
	}
	return strconv.ParseFloat(v, 64)
}

func fmtReal(f float64) string {
	if math.IsInf(f, 1) {
		return "infinity"
	}
	if math.IsInf(f, -1) {
		return "-infinity"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

var (
	identifier12RE = regexp.MustCompile(`^[^\s]{1,255}$`)
	time12RE       = regexp.MustCompile(`^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,2})?$`)
	timespan12RE   = regexp.MustCompile(`^\d{2,4}:\d{2}:\d{2}(\.\d{1,2})?$`)
	// ISO 8601 timestamp as SCORM 2004 time(second,10,0) allows: the date
	// alone, or with time down to hundredths, and an optional zone.
	time2004RE     = regexp.MustCompile(`^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])(T([01]\d|2[0-3])(:[0-5]\d(:[0-5]\d(\.\d{1,2})?)?)?(Z|[+-]([01]\d|2[0-3])(:?[0-5]\d)?)?)?)?)?$`)
	interval2004RE = regexp.MustCompile(`^P(\d+Y)?(\d+M)?(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d{1,2})?S)?)?$`)
	languageRE     = regexp.MustCompile(`^([A-Za-z]{1,8}|i|x)(-[A-Za-z0-9]{1,8})*$`)
	langPrefixRE   = regexp.MustCompile(`^\{lang=([^}]*)\}`)
)

func identifier12(v string) string {
	if !identifier12RE.MatchString(v) {
		return "is not a CMIIdentifier (1 to 255 characters, no spaces)"
	}
	return ""
}

func time12(v string) string {
	if !time12RE.MatchString(v) {
		return "is not a CMITime (HH:MM:SS or HH:MM:SS.SS)"
	}
	return ""
}

func timespan12(v string) string {
	if !timespan12RE.MatchString(v) {
		return "is not a CMITimespan (HHHH:MM:SS.SS)"
	}
	return ""
}

func time2004(v string) string {
	if !time2004RE.MatchString(v) {
		return "is not an ISO 8601 time (YYYY-MM-DDThh:mm:ss.ss with optional zone)"
	}
	return ""
}

func interval2004(v string) string {
	if v == "P" || strings.HasSuffix(v, "T") || !interval2004RE.MatchString(v) {
		return "is not an ISO 8601 duration (for example PT1H30M5.5S)"
	}
	return ""
}

// longIdentifier is SCORM 2004 long_identifier_type: a URI of up to 4000
// characters, in practice any non-empty string without whitespace.
func longIdentifier(v string) string {
	if v == "" {
		return "is empty; an identifier needs at least one character"
	}
	if strings.ContainsAny(v, " \t\r\n") {
		return "contains whitespace, which an identifier may not"
	}
	return maxLen(4000, "long_identifier_type")(v)
}

func language(v string) string {
	if v == "" {
		return ""
	}
	if len(v) > 250 || !languageRE.MatchString(v) {
		return "is not a language code (RFC 3066, for example en-GB)"
	}
	return ""
}

// localized checks characterstring with an optional {lang=xx} prefix.
func localized(n int) func(string) string {
	return func(v string) string {
		if m := langPrefixRE.FindStringSubmatch(v); m != nil {
			if p := language(m[1]); p != "" {
				return "has a {lang=} prefix that " + p
			}
			v = v[len(m[0]):]
		}
		return maxLen(n, "localized_string_type")(v)
	}
}

func result12(v string) string {
	switch v {
	case "correct", "wrong", "unanticipated", "neutral":
		return ""
	}
	if _, err := parseReal(v); err == nil {
		return ""
	}
	return `is not "correct", "wrong", "unanticipated", "neutral" or a number`
}

func result2004(v string) string {
	switch v {
	case "correct", "incorrect", "unanticipated", "neutral":
		return ""
	}
	if _, err := parseReal(v); err == nil {
		return ""
	}
	return `is not "correct", "incorrect", "unanticipated", "neutral" or a number`
}

var navRequestRE = regexp.MustCompile(`^\{target=[^\s{}]+\}(choice|jump)$`)

func navRequest(v string) string {
	switch v {
	case "continue", "previous", "exit", "exitAll", "abandon", "abandonAll", "suspendAll", "_none_":
		return ""
	}
	if navRequestRE.MatchString(v) {
		return ""
	}
	return `is not a navigation request ("continue", "previous", "{target=ID}choice", "{target=ID}jump", "exit", "exitAll", "abandon", "abandonAll", "suspendAll" or "_none_")`
}

// checkResponse checks a learner response or correct-response pattern
// against its interaction's type, once the type is known (SCORM 2004 RTE
// 4.2.9.1, SCORM 1.2 RTE 3.4.2 cmi.interactions.n.student_response). Types
// whose formats are free text are left to the length check.
func (c CMI) checkResponse(v Version, pat, el, value string) string {
	var typeKey string
	switch pat {
	case "cmi.interactions.n.learner_response", "cmi.interactions.n.student_response", "cmi.interactions.n.correct_responses.n.pattern":
		parts := strings.SplitN(el, ".", 4)
		typeKey = strings.Join(parts[:3], ".") + ".type"
	default:
		return ""
	}
	isPattern := strings.HasSuffix(pat, ".pattern")
	switch c[typeKey] {
	case "true-false":
		if v == V12 {
			switch value {
			case "0", "1", "t", "f", "true", "false":
				return ""
			}
			return `is not a true-false response ("t", "f", "0" or "1")`
		}
		if value != "true" && value != "false" {
			return `is not a true-false response ("true" or "false")`
		}
	case "numeric":
		if isPattern && v == V2004 {
			lo, hi, found := strings.Cut(value, "[:]")
			if !found {
				hi = lo
			}
			for _, n := range []string{lo, hi} {
				if n == "" {
					continue
				}
				if _, err := parseReal(n); err != nil {
					return "is not a numeric range (min[:]max)"
				}
			}
			return ""
		}
		if value == "" && v == V12 {
			return ""
		}
		if _, err := parseReal(value); err != nil {
			return "is not a number, which a numeric interaction's response must be"
		}
	case "choice", "sequencing":
		if value == "" {
			return ""
		}
		sep := "[,]"
		if v == V12 {
			value = strings.TrimSuffix(strings.TrimPrefix(value, "{"), "}")
			sep = ","
		}
		for _, id := range strings.Split(value, sep) {
			if id == "" || strings.ContainsAny(id, " \t\r\n") {
				return "is not a list of choice identifiers separated by " + strconv.Quote(sep)
			}
		}
	}
	return ""
}

// ---- the two data models -----------------------------------------------

var ro = element{access: readOnly}

// model12 is the SCORM 1.2 data model (SCORM 1.2 RTE §3.4). "n" stands
// for an array index.
var model12 = map[string]element{
	"cmi._children":                                  ro,
	"cmi._version":                                   ro,
	"cmi.core._children":                             ro,
	"cmi.core.student_id":                            ro,
	"cmi.core.student_name":                          ro,
	"cmi.core.lesson_location":                       {readWrite, maxLen(255, "CMIString255")},
	"cmi.core.credit":                                ro,
	"cmi.core.lesson_status":                         {readWrite, vocab("passed", "completed", "failed", "incomplete", "browsed")},
	"cmi.core.entry":                                 ro,
	"cmi.core.score._children":                       ro,
	"cmi.core.score.raw":                             {readWrite, decimal(0, 100, true)},
	"cmi.core.score.max":                             {readWrite, decimal(0, 100, true)},
	"cmi.core.score.min":                             {readWrite, decimal(0, 100, true)},
	"cmi.core.total_time":                            ro,
	"cmi.core.lesson_mode":                           ro,
	"cmi.core.exit":                                  {writeOnly, vocab("time-out", "suspend", "logout", "")},
	"cmi.core.session_time":                          {writeOnly, timespan12},
	"cmi.suspend_data":                               {readWrite, maxLen(4096, "CMIString4096")},
	"cmi.launch_data":                                ro,
	"cmi.comments":                                   {readWrite, maxLen(4096, "CMIString4096")},
	"cmi.comments_from_lms":                          ro,
	"cmi.objectives._children":                       ro,
	"cmi.objectives._count":                          ro,
	"cmi.objectives.n.id":                            {readWrite, identifier12},
	"cmi.objectives.n.score._children":               ro,
	"cmi.objectives.n.score.raw":                     {readWrite, decimal(0, 100, true)},
	"cmi.objectives.n.score.max":                     {readWrite, decimal(0, 100, true)},
	"cmi.objectives.n.score.min":                     {readWrite, decimal(0, 100, true)},
	"cmi.objectives.n.status":                        {readWrite, vocab("passed", "completed", "failed", "incomplete", "browsed", "not attempted")},
	"cmi.student_data._children":                     ro,
	"cmi.student_data.mastery_score":                 ro,
	"cmi.student_data.max_time_allowed":              ro,
	"cmi.student_data.time_limit_action":             ro,
	"cmi.student_preference._children":               ro,
	"cmi.student_preference.audio":                   {readWrite, integer(-1, 100)},
	"cmi.student_preference.language":                {readWrite, maxLen(255, "CMIString255")},
	"cmi.student_preference.speed":                   {readWrite, integer(-100, 100)},
	"cmi.student_preference.text":                    {readWrite, integer(-1, 1)},
	"cmi.interactions._children":                     ro,
	"cmi.interactions._count":                        ro,
	"cmi.interactions.n.id":                          {writeOnly, identifier12},
	"cmi.interactions.n.objectives._count":           ro,
	"cmi.interactions.n.objectives.n.id":             {writeOnly, identifier12},
	"cmi.interactions.n.time":                        {writeOnly, time12},
	"cmi.interactions.n.type":                        {writeOnly, vocab("true-false", "choice", "fill-in", "matching", "performance", "sequencing", "likert", "numeric")},
	"cmi.interactions.n.correct_responses._count":    ro,
	"cmi.interactions.n.correct_responses.n.pattern": {writeOnly, maxLen(255, "CMIFeedback")},
	"cmi.interactions.n.weighting":                   {writeOnly, decimal(math.Inf(-1), math.Inf(1), false)},
	"cmi.interactions.n.student_response":            {writeOnly, maxLen(255, "CMIFeedback")},
	"cmi.interactions.n.result":                      {writeOnly, result12},
	"cmi.interactions.n.latency":                     {writeOnly, timespan12},
}

// model2004 is the SCORM 2004 (3rd and 4th edition) data model, SCORM 2004
// RTE §4.2, plus the adl.nav elements a SCO may set.
var model2004 = map[string]element{
	"cmi._version":                                   ro,
	"cmi.comments_from_learner._children":            ro,
	"cmi.comments_from_learner._count":               ro,
	"cmi.comments_from_learner.n.comment":            {readWrite, localized(4000)},
	"cmi.comments_from_learner.n.location":           {readWrite, maxLen(250, "characterstring")},
	"cmi.comments_from_learner.n.timestamp":          {readWrite, time2004},
	"cmi.comments_from_lms._children":                ro,
	"cmi.comments_from_lms._count":                   ro,
	"cmi.comments_from_lms.n.comment":                ro,
	"cmi.comments_from_lms.n.location":               ro,
	"cmi.comments_from_lms.n.timestamp":              ro,
	"cmi.completion_status":                          {readWrite, vocab("completed", "incomplete", "not attempted", "unknown")},
	"cmi.completion_threshold":                       ro,
	"cmi.credit":                                     ro,
	"cmi.entry":                                      ro,
	"cmi.exit":                                       {writeOnly, vocab("time-out", "suspend", "logout", "normal", "")},
	"cmi.interactions._children":                     ro,
	"cmi.interactions._count":                        ro,
	"cmi.interactions.n.id":                          {readWrite, longIdentifier},
	"cmi.interactions.n.type":                        {readWrite, vocab("true-false", "choice", "fill-in", "long-fill-in", "likert", "matching", "performance", "sequencing", "numeric", "other")},
	"cmi.interactions.n.objectives._count":           ro,
	"cmi.interactions.n.objectives.n.id":             {readWrite, longIdentifier},
	"cmi.interactions.n.timestamp":                   {readWrite, time2004},
	"cmi.interactions.n.correct_responses._count":    ro,
	"cmi.interactions.n.correct_responses.n.pattern": {readWrite, maxLen(7800, "characterstring")},
	"cmi.interactions.n.weighting":                   {readWrite, decimal(math.Inf(-1), math.Inf(1), false)},
	"cmi.interactions.n.learner_response":            {readWrite, maxLen(7800, "characterstring")},
	"cmi.interactions.n.result":                      {readWrite, result2004},
	"cmi.interactions.n.latency":                     {readWrite, interval2004},
	"cmi.interactions.n.description":                 {readWrite, localized(250)},
	"cmi.launch_data":                                ro,
	"cmi.learner_id":                                 ro,
	"cmi.learner_name":                               ro,
	"cmi.learner_preference._children":               ro,
	"cmi.learner_preference.audio_level":             {readWrite, decimal(0, math.Inf(1), false)},
	"cmi.learner_preference.language":                {readWrite, language},
	"cmi.learner_preference.delivery_speed":          {readWrite, decimal(0, math.Inf(1), false)},
	"cmi.learner_preference.audio_captioning":        {readWrite, vocab("-1", "0", "1")},
	"cmi.location":                                   {readWrite, maxLen(1000, "characterstring")},
	"cmi.max_time_allowed":                           ro,
	"cmi.mode":                                       ro,
	"cmi.objectives._children":                       ro,
	"cmi.objectives._count":                          ro,
	"cmi.objectives.n.id":                            {readWrite, longIdentifier},
	"cmi.objectives.n.score._children":               ro,
	"cmi.objectives.n.score.scaled":                  {readWrite, decimal(-1, 1, false)},
	"cmi.objectives.n.score.raw":                     {readWrite, decimal(math.Inf(-1), math.Inf(1), false)},
	"cmi.objectives.n.score.min":                     {readWrite, decimal(math.Inf(-1), math.Inf(1), false)},
	"cmi.objectives.n.score.max":                     {readWrite, decimal(math.Inf(-1), math.Inf(1), false)},
	"cmi.objectives.n.success_status":                {readWrite, vocab("passed", "failed", "unknown")},
	"cmi.objectives.n.completion_status":             {readWrite, vocab("completed", "incomplete", "not attempted", "unknown")},
	"cmi.objectives.n.progress_measure":              {readWrite, decimal(0, 1, false)},
	"cmi.objectives.n.description":                   {readWrite, localized(250)},
	"cmi.progress_measure":                           {readWrite, decimal(0, 1, false)},
	"cmi.scaled_passing_score":                       ro,
	"cmi.score._children":                            ro,
	"cmi.score.scaled":                               {readWrite, decimal(-1, 1, false)},
	"cmi.score.raw":                                  {readWrite, decimal(math.Inf(-1), math.Inf(1), false)},
	"cmi.score.min":                                  {readWrite, decimal(math.Inf(-1), math.Inf(1), false)},
	"cmi.score.max":                                  {readWrite, decimal(math.Inf(-1), math.Inf(1), false)},
	"cmi.session_time":                               {writeOnly, interval2004},
	"cmi.success_status":                             {readWrite, vocab("passed", "failed", "unknown")},
	"cmi.suspend_data":                               {readWrite, maxLen(64000, "characterstring")},
	"cmi.time_limit_action":                          ro,
	"cmi.total_time":                                 ro,
	"adl.nav.request":                                {readWrite, navRequest},
	"adl.nav.request_valid.continue":                 ro,
	"adl.nav.request_valid.previous":                 ro,
}

func modelOf(v Version) map[string]element {
	if v == V12 {
		return model12
	}
	return model2004
}

// pattern replaces each numeric segment of element with "n" and returns
// the indices it replaced.
func pattern(el string) (string, []int, bool) {
	parts := strings.Split(el, ".")
	var idx []int
	for i, p := range parts {
		if p != "" && p[0] >= '0' && p[0] <= '9' {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || strconv.Itoa(n) != p {
				return "", nil, false
			}
			idx = append(idx, n)
			parts[i] = "n"
		}
	}
	return strings.Join(parts, "."), idx, true
}

// CMI is an attempt's stored data model: element → value, for the
// elements the SCO wrote (the LMS's own read-only values are computed at
// launch and never stored here).
type CMI map[string]string

// Count returns the number of members of the array at prefix (for example
// "cmi.interactions" or "cmi.interactions.0.objectives").
func (c CMI) Count(prefix string) int {
	n := 0
	pre := prefix + "."
	for k := range c {
		if !strings.HasPrefix(k, pre) {
			continue
		}
		rest := k[len(pre):]
		i := strings.IndexByte(rest, '.')
		if i <= 0 {
			continue
		}
		if idx, err := strconv.Atoi(rest[:i]); err == nil && idx+1 > n {
			n = idx + 1
		}
	}
	return n
}

// Clone returns a copy of c.
func (c CMI) Clone() CMI {
	out := make(CMI, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

// Keys returns c's elements in a stable order.
func (c CMI) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// SetValue is one SetValue/LMSSetValue call the SCO made.
type SetValue struct {
	Element string
	Value   string
}

// Apply checks values in order against version's data model, as the SCO
// set them, and returns c with them applied. The first bad element or
// value fails the whole call with an Invalid error naming it, and c is
// left unchanged.
func (c CMI) Apply(v Version, values []SetValue) (CMI, error) {
	out := c.Clone()
	for _, sv := range values {
		if err := out.set(v, sv.Element, sv.Value); err != nil {
			return c, err
		}
	}
	return out, nil
}

func (c CMI) set(v Version, el, value string) error {
	model := modelOf(v)
	pat, idx, ok := pattern(el)
	if !ok {
		return errs.E(errs.Invalid, "%s is not a SCORM %s data model element", el, v)
	}
	def, ok := model[pat]
	if !ok {
		return errs.E(errs.Invalid, "%s is not a SCORM %s data model element", el, v)
	}
	last := pat[strings.LastIndexByte(pat, '.')+1:]
	if def.access == readOnly {
		if strings.HasPrefix(last, "_") {
			return errs.E(errs.Invalid, "%s is a keyword and cannot be set", el)
		}
		return errs.E(errs.Invalid, "%s is read-only", el)
	}
	if problem := def.check(value); problem != "" {
		shown := value
		if utf8.RuneCountInString(shown) > 60 {
			shown = string([]rune(shown)[:60]) + "…"
		}
		return errs.E(errs.Invalid, "%s: %q %s", el, shown, problem)
	}
	if problem := c.checkResponse(v, pat, el, value); problem != "" {
		return errs.E(errs.Invalid, "%s: %q %s", el, value, problem)
	}
	// Arrays grow one member at a time: index n may be set only when
	// members 0..n-1 exist.
	if len(idx) > 0 {
		if err := c.checkIndices(v, el, pat, idx); err != nil {
			return err
		}
	}
	c[el] = value
	return nil
}

// checkIndices applies the array rules to el: every index is at most the
// array's current count, and in SCORM 2004 a new member's id comes first.
func (c CMI) checkIndices(v Version, el, pat string, idx []int) error {
	parts := strings.Split(el, ".")
	pparts := strings.Split(pat, ".")
	k := 0
	for i, p := range pparts {
		if p != "n" {
			continue
		}
		arrayPath := strings.Join(parts[:i], ".")
		count := c.Count(arrayPath)
		n := idx[k]
		k++
		if n > count {
			return errs.E(errs.Invalid, "%s: index %d skips ahead; %s has %d members, so the next is %s.%d",
				el, n, arrayPath, count, arrayPath, count)
		}
		if n == count && v == V2004 {
			member := arrayPath + "." + strconv.Itoa(n)
			rest := strings.Join(parts[i+1:], ".")
			needsID := strings.HasSuffix(strings.Join(pparts[:i], "."), "interactions") ||
				strings.HasSuffix(strings.Join(pparts[:i], "."), "objectives")
			if needsID && rest != "id" {
				return errs.E(errs.Invalid, "%s: set %s.id first; a new member starts with its id", el, member)
			}
		}
	}
	return nil
}

// Readable returns the stored values the player loads into the runtime
// at launch, so a resumed SCO finds its suspend data, location and
// interactions: everything but the write-only exit and session time,
// which belong to the session that set them. SCORM 1.2's interactions are
// write-only too, but they are loaded so that cmi.interactions._count
// goes on after them instead of the SCO overwriting them; the runtime
// still refuses to let the SCO read them.
func (c CMI) Readable(v Version) CMI {
	model := modelOf(v)
	out := CMI{}
	for k, val := range c {
		pat, _, ok := pattern(k)
		if !ok {
			continue
		}
		def, ok := model[pat]
		if !ok || (def.access == writeOnly && !strings.HasPrefix(pat, "cmi.interactions.")) {
			continue
		}
		out[k] = val
	}
	return out
}
