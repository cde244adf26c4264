package reports

import "sort"

// Totals are a report's figures over every module together: the funnel
// from starting a module to satisfying it.
type Totals struct {
	Starts      int
	Completions int
	Passes      int
	Satisfied   int
}

// Totals adds up the modules' rows.
func (r Report) Totals() Totals {
	var t Totals
	for _, m := range r.Modules {
		t.Starts += m.Starts
		t.Completions += m.Completions
		t.Passes += m.Passes
		t.Satisfied += m.Satisfied
	}
	return t
}

// WeekTotal counts starts and completions of every module together in the
// week beginning Week (a Monday).
type WeekTotal struct {
	Week        string
	Starts      int
	Completions int
}

// WeekTotals adds up the weekly rows of every module, one row a week with
// any start or completion, oldest first.
func (r Report) WeekTotals() []WeekTotal {
	by := map[string]*WeekTotal{}
	for _, w := range r.Weekly {
		t := by[w.Week]
		if t == nil {
			t = &WeekTotal{Week: w.Week}
			by[w.Week] = t
		}
		t.Starts += w.Starts
		t.Completions += w.Completions
	}
	out := make([]WeekTotal, 0, len(by))
	for _, t := range by {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Week < out[j].Week })
	return out
}

// RoleTotal counts starts and completions of every module together for
// one professional role ("unknown" for learners without one).
type RoleTotal struct {
	Role        string
	Starts      int
	Completions int
}

// RoleTotals adds up the by-role rows, one row a role, in the order the
// roles first appear in ByRole (which Report sorts by role).
func (r Report) RoleTotals() []RoleTotal {
	idx := map[string]int{}
	var out []RoleTotal
	for _, rr := range r.ByRole {
		i, seen := idx[rr.Role]
		if !seen {
			i = len(out)
			idx[rr.Role] = i
			out = append(out, RoleTotal{Role: rr.Role})
		}
		out[i].Starts += rr.Starts
		out[i].Completions += rr.Completions
	}
	return out
}
