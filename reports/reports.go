package reports

import (
	"context"
	"log/slog"
	"sort"
	"time"

	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs"
)

// Progress is one learner's record on one module.
type Progress struct {
	Borough     string
	Learner     string
	UserID      string
	AU          string
	StartedAt   *time.Time
	CompletedAt *time.Time
	PassedAt    *time.Time
	FailedAt    *time.Time
	SatisfiedAt *time.Time
	LastPage    string
	LastTitle   string
	LastAt      *time.Time
	TimeMS      int64
	Sessions    int
	BestScore   *float64
	// Profession is the learner's professional role, joined from their
	// account when they have one on this Reach.
	Profession string
}

// Answer is one answered knowledge-check question.
type Answer struct {
	Question string `json:"question"`
	Title    string `json:"title"`
	AU       string `json:"au"`
	Response string `json:"response"`
	Correct  *bool  `json:"correct"`
	Count    int    `json:"count"`
}

// Filter narrows a report. An empty Borough means every borough (platform
// admins); zero times mean no bound; an empty Role means every role.
type Filter struct {
	Borough string
	From    time.Time
	To      time.Time
	Role    string
}

// Store keeps the fact tables.
type Store interface {
	// Cursor is the last statement sequence applied.
	Cursor(ctx context.Context) (int64, error)
	// Apply folds facts into the tables and moves the cursor from `from`
	// to `to` in one transaction; it fails with errs.Conflict if another
	// replica moved the cursor first.
	Apply(ctx context.Context, facts []Fact, from, to int64) error
	Progress(ctx context.Context, f Filter) ([]Progress, error)
	Answers(ctx context.Context, f Filter) ([]Answer, error)
	Engagement(ctx context.Context, f Filter) (Engagement, error)
	Titles(ctx context.Context, borough string) (map[string]string, error)
	EraseLearner(ctx context.Context, borough, learner string) error
}

// Feed reads stored statements of every borough in sequence order
// (lrs/sqlstore's Store is one).
type Feed interface {
	FeedAll(ctx context.Context, after, upTo int64, limit int) ([]lrs.FeedEntry, error)
}

// Horizon tells how far the statement sequence has settled: every
// statement at or below it is visible or never will be.
type Horizon interface {
	Settled(ctx context.Context) (int64, error)
}

// Service projects statements into facts and answers report queries.
type Service struct {
	store   Store
	feed    Feed
	horizon Horizon
	issuer  string
	log     *slog.Logger
}

// NewService returns a Service. issuer is this Reach's public URL.
func NewService(store Store, feed Feed, horizon Horizon, issuer string, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: store, feed: feed, horizon: horizon, issuer: issuer, log: log}
}

// batchSize bounds the statements folded in one transaction.
const batchSize = 500

// CatchUp applies every settled statement not yet applied and returns how
// many statements it read.
func (s *Service) CatchUp(ctx context.Context) (int, error) {
	upTo, err := s.horizon.Settled(ctx)
	if err != nil {
		return 0, err
	}
	read := 0
	for {
		from, err := s.store.Cursor(ctx)
		if err != nil {
			return read, err
		}
		if from >= upTo {
			return read, nil
		}
		entries, err := s.feed.FeedAll(ctx, from, upTo, batchSize)
		if err != nil {
			return read, err
		}
		to := upTo
		if len(entries) == batchSize {
			to = entries[len(entries)-1].Seq
		}
		facts := make([]Fact, 0, len(entries))
		for _, e := range entries {
			if f, ok := ExtractFact(e.Borough, e.Seq, e.Body, s.issuer); ok {
				facts = append(facts, f)
			}
		}
		if err := s.store.Apply(ctx, facts, from, to); err != nil {
			if errs.Is(err, errs.Conflict) {
				// Another replica got there first; read on from its cursor.
				continue
			}
			return read, err
		}
		read += len(entries)
	}
}

// Run keeps the facts up to date until ctx ends, catching up every
// interval (and whenever wake fires, if it is not nil).
func (s *Service) Run(ctx context.Context, interval time.Duration, wake <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.CatchUp(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("reports projection failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
	}
}

// ModuleRow summarises one module.
type ModuleRow struct {
	AU            string  `json:"au"`
	Title         string  `json:"title"`
	Starts        int     `json:"starts"`
	Completions   int     `json:"completions"`
	Passes        int     `json:"passes"`
	Fails         int     `json:"fails"`
	Satisfied     int     `json:"satisfied"`
	PassRate      float64 `json:"passRate"`
	MedianMinutes float64 `json:"medianMinutes"`
}

// RoleRow is a module's figures for one professional role.
type RoleRow struct {
	Role string `json:"role"`
	ModuleRow
}

// WeekRow counts starts and completions in the week beginning Week (Monday).
type WeekRow struct {
	Week        string `json:"week"`
	AU          string `json:"au"`
	Title       string `json:"title"`
	Starts      int    `json:"starts"`
	Completions int    `json:"completions"`
}

// DropRow counts learners who started a module, have not completed it and
// were last seen on Page.
type DropRow struct {
	AU       string `json:"au"`
	Module   string `json:"module"`
	Page     string `json:"page"`
	Title    string `json:"title"`
	Learners int    `json:"learners"`
}

// Engagement counts reflections and drafts.
type Engagement struct {
	Reflections          int `json:"reflections"`
	ReflectingLearners   int `json:"reflectingLearners"`
	Drafts               int `json:"drafts"`
	DraftingLearners     int `json:"draftingLearners"`
	DistinctDraftObjects int `json:"distinctDrafts"`
}

// Report is every section of a borough's (or London's) report.
type Report struct {
	Filter     ReportFilter `json:"filter"`
	Modules    []ModuleRow  `json:"modules"`
	ByRole     []RoleRow    `json:"byRole"`
	Weekly     []WeekRow    `json:"weekly"`
	DropOff    []DropRow    `json:"dropOff"`
	Answers    []Answer     `json:"answers"`
	Engagement Engagement   `json:"engagement"`
	// Learners counts distinct learners who started any module.
	Learners int `json:"learners"`
}

// ReportFilter echoes the filter in the answer.
type ReportFilter struct {
	Borough string `json:"borough,omitempty"`
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	Role    string `json:"role,omitempty"`
}

// Roles are the professional roles learners choose.
var Roles = []string{"artist", "linkworker", "gp", "other"}

// Report computes every section for f.
func (s *Service) Report(ctx context.Context, f Filter) (Report, error) {
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return Report{}, errs.E(errs.Invalid, "to must not be before from")
	}
	if f.Role != "" && !contains(Roles, f.Role) && f.Role != "unknown" {
		return Report{}, errs.E(errs.Invalid, "role must be one of artist, linkworker, gp, other, unknown")
	}
	rows, err := s.store.Progress(ctx, f)
	if err != nil {
		return Report{}, err
	}
	titles, err := s.store.Titles(ctx, f.Borough)
	if err != nil {
		return Report{}, err
	}
	answers, err := s.store.Answers(ctx, f)
	if err != nil {
		return Report{}, err
	}
	eng, err := s.store.Engagement(ctx, f)
	if err != nil {
		return Report{}, err
	}
	r := Report{Answers: answers, Engagement: eng, Filter: ReportFilter{Borough: f.Borough, Role: f.Role}}
	if !f.From.IsZero() {
		r.Filter.From = f.From.Format(time.DateOnly)
	}
	if !f.To.IsZero() {
		r.Filter.To = f.To.Format(time.DateOnly)
	}
	if r.Answers == nil {
		r.Answers = []Answer{}
	}
	r.Modules = summarise(rows, f, titles)
	byRole := map[string][]Progress{}
	learners := map[string]bool{}
	for _, p := range rows {
		role := p.Profession
		if role == "" {
			role = "unknown"
		}
		byRole[role] = append(byRole[role], p)
		if in(p.StartedAt, f) {
			learners[p.Borough+"|"+p.Learner] = true
		}
	}
	r.Learners = len(learners)
	roles := make([]string, 0, len(byRole))
	for role := range byRole {
		roles = append(roles, role)
	}
	sort.Strings(roles)
	r.ByRole = []RoleRow{}
	for _, role := range roles {
		for _, m := range summarise(byRole[role], f, titles) {
			r.ByRole = append(r.ByRole, RoleRow{Role: role, ModuleRow: m})
		}
	}
	r.Weekly = weekly(rows, f, titles)
	r.DropOff = dropOff(rows, f, titles)
	return r, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// in reports whether t is set and within f's dates (To is inclusive of the day).
func in(t *time.Time, f Filter) bool {
	if t == nil {
		return false
	}
	if !f.From.IsZero() && t.Before(f.From) {
		return false
	}
	if !f.To.IsZero() && !t.Before(f.To.AddDate(0, 0, 1)) {
		return false
	}
	return true
}

func summarise(rows []Progress, f Filter, titles map[string]string) []ModuleRow {
	by := map[string]*ModuleRow{}
	times := map[string][]int64{}
	for _, p := range rows {
		m := by[p.AU]
		if m == nil {
			m = &ModuleRow{AU: p.AU, Title: titleOf(titles, p.AU)}
			by[p.AU] = m
		}
		if in(p.StartedAt, f) {
			m.Starts++
			if p.TimeMS > 0 {
				times[p.AU] = append(times[p.AU], p.TimeMS)
			}
		}
		if in(p.CompletedAt, f) {
			m.Completions++
		}
		if in(p.PassedAt, f) {
			m.Passes++
		} else if in(p.FailedAt, f) {
			m.Fails++
		}
		if in(p.SatisfiedAt, f) {
			m.Satisfied++
		}
	}
	out := make([]ModuleRow, 0, len(by))
	for au, m := range by {
		if m.Passes+m.Fails > 0 {
			m.PassRate = float64(m.Passes) / float64(m.Passes+m.Fails)
		}
		m.MedianMinutes = float64(median(times[au])) / 60000
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Title+out[i].AU < out[j].Title+out[j].AU })
	return out
}

func titleOf(titles map[string]string, au string) string {
	if t := titles[au]; t != "" {
		return t
	}
	return au
}

func median(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// weekStart is the Monday (UTC) of t's week.
func weekStart(t time.Time) string {
	d := t.UTC().Truncate(24 * time.Hour)
	offset := (int(d.Weekday()) + 6) % 7
	return d.AddDate(0, 0, -offset).Format(time.DateOnly)
}

func weekly(rows []Progress, f Filter, titles map[string]string) []WeekRow {
	type key struct{ week, au string }
	by := map[key]*WeekRow{}
	get := func(week, au string) *WeekRow {
		k := key{week, au}
		if by[k] == nil {
			by[k] = &WeekRow{Week: week, AU: au, Title: titleOf(titles, au)}
		}
		return by[k]
	}
	for _, p := range rows {
		if in(p.StartedAt, f) {
			get(weekStart(*p.StartedAt), p.AU).Starts++
		}
		if in(p.CompletedAt, f) {
			get(weekStart(*p.CompletedAt), p.AU).Completions++
		}
	}
	out := make([]WeekRow, 0, len(by))
	for _, w := range by {
		out = append(out, *w)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Week != out[j].Week {
			return out[i].Week < out[j].Week
		}
		return out[i].Title < out[j].Title
	})
	return out
}

func dropOff(rows []Progress, f Filter, titles map[string]string) []DropRow {
	type key struct{ au, page string }
	by := map[key]*DropRow{}
	for _, p := range rows {
		if !in(p.StartedAt, f) || p.CompletedAt != nil || p.SatisfiedAt != nil {
			continue
		}
		page, title := p.LastPage, p.LastTitle
		if page == "" {
			page, title = "(before the first page)", "(before the first page)"
		}
		k := key{p.AU, page}
		if by[k] == nil {
			by[k] = &DropRow{AU: p.AU, Module: titleOf(titles, p.AU), Page: page, Title: title}
		}
		by[k].Learners++
	}
	out := make([]DropRow, 0, len(by))
	for _, d := range by {
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Module != out[j].Module {
			return out[i].Module < out[j].Module
		}
		return out[i].Learners > out[j].Learners
	})
	return out
}
