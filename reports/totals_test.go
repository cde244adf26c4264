package reports_test

import (
	"reflect"
	"testing"

	"github.com/reach-london/reach/reports"
)

// TestTotals checks the all-modules figures the report charts show: the
// funnel sums every module, the weekly totals merge modules into one row a
// week in week order, and the role totals merge modules into one row a
// role in ByRole's order.
func TestTotals(t *testing.T) {
	r := reports.Report{
		Modules: []reports.ModuleRow{
			{AU: "a", Starts: 5, Completions: 3, Passes: 2, Fails: 1, Satisfied: 2},
			{AU: "b", Starts: 4, Completions: 4, Passes: 4, Satisfied: 3},
		},
		Weekly: []reports.WeekRow{
			{Week: "2026-03-09", AU: "b", Starts: 1},
			{Week: "2026-03-02", AU: "a", Starts: 3, Completions: 1},
			{Week: "2026-03-09", AU: "a", Starts: 2, Completions: 2},
			{Week: "2026-03-02", AU: "b", Starts: 3, Completions: 4},
		},
		ByRole: []reports.RoleRow{
			{Role: "gp", ModuleRow: reports.ModuleRow{AU: "a", Starts: 2, Completions: 1}},
			{Role: "gp", ModuleRow: reports.ModuleRow{AU: "b", Starts: 1, Completions: 1}},
			{Role: "linkworker", ModuleRow: reports.ModuleRow{AU: "a", Starts: 3, Completions: 2}},
			{Role: "unknown", ModuleRow: reports.ModuleRow{AU: "b", Starts: 3, Completions: 3}},
		},
	}
	if got, want := r.Totals(), (reports.Totals{Starts: 9, Completions: 7, Passes: 6, Satisfied: 5}); got != want {
		t.Errorf("Totals() = %+v, want %+v", got, want)
	}
	if got, want := r.WeekTotals(), []reports.WeekTotal{{Week: "2026-03-02", Starts: 6, Completions: 5}, {Week: "2026-03-09", Starts: 3, Completions: 2}}; !reflect.DeepEqual(got, want) {
		t.Errorf("WeekTotals() = %+v, want %+v", got, want)
	}
	if got, want := r.RoleTotals(), []reports.RoleTotal{{Role: "gp", Starts: 3, Completions: 2}, {Role: "linkworker", Starts: 3, Completions: 2},
		{Role: "unknown", Starts: 3, Completions: 3}}; !reflect.DeepEqual(got, want) {
		t.Errorf("RoleTotals() = %+v, want %+v", got, want)
	}
	if got := (reports.Report{}).WeekTotals(); len(got) != 0 {
		t.Errorf("WeekTotals of an empty report = %+v", got)
	}
}
