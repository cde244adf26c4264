package reports_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/auth/authsql"
	"github.com/reach-london/reach/internal/blob/fsblob"
	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/testenv"
	"github.com/reach-london/reach/lrs"
	"github.com/reach-london/reach/lrs/sqlstore"
	"github.com/reach-london/reach/reports"
	"github.com/reach-london/reach/reports/reportsql"
)

// BenchmarkReport loads a borough's worth of statements (REACH_BENCH_STATEMENTS,
// 1,000,000 by default) with the store's bulk path, projects them into the
// report facts, and times a full report. Run it with `make bench-reports`;
// it prints the projection rate and the report's latency.
//
// Each learner takes each of the four modules: launched, initialized, 70
// pages, 12 answers, 4 reflections, 3 drafts, completed, passed or failed,
// terminated — 94 statements — or stops part-way (one learner in five).
func BenchmarkReport(b *testing.B) {
	total := 1_000_000
	if v := os.Getenv("REACH_BENCH_STATEMENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1000 {
			b.Fatalf("REACH_BENCH_STATEMENTS=%q: want a number of at least 1000", v)
		}
		total = n
	}
	for name, url := range map[string]string{"postgres": testenv.PostgresURL(b)} {
		b.Run(name, func(b *testing.B) { benchReport(b, url, total) })
	}
}

func benchReport(b *testing.B, url string, total int) {
	ctx := context.Background()
	d, err := db.Open(ctx, url, db.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Migrate(ctx, authsql.Migrations, sqlstore.Migrations, reportsql.Migrations); err != nil {
		b.Fatal(err)
	}
	const borough = "bench-borough"
	if _, err := d.SQL.ExecContext(ctx, `INSERT INTO boroughs (id, slug, name, created_at) VALUES ($1, 'bench', 'Bench', $2)`, borough, time.Now()); err != nil {
		b.Fatal(err)
	}
	blobs, err := fsblob.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	store := sqlstore.New(d)
	svc := lrs.NewService(store, blobs)
	p := auth.Principal{Kind: auth.KindCredential, BoroughID: borough, Scopes: []auth.Scope{auth.ScopeAll},
		Authority: []byte(`{"objectType":"Agent","account":{"homePage":"http://reach.test","name":"bench"}}`)}
	professions := []string{"artist", "linkworker", "gp", "other"}
	learners := 0
	start := time.Now()
	loaded := 0
	var batch []*lrs.Statement
	flush := func() {
		if len(batch) == 0 {
			return
		}
		recs, err := svc.Records(p, batch, "1.0.3")
		if err != nil {
			b.Fatal(err)
		}
		if err := store.CopyStatements(ctx, borough, recs); err != nil {
			b.Fatal(err)
		}
		loaded += len(batch)
		batch = batch[:0]
	}
	base := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	for l := 0; loaded+len(batch) < total; l++ {
		learners++
		user := fmt.Sprintf("learner-%06d", l)
		if _, err := d.SQL.ExecContext(ctx, `INSERT INTO users (id, borough_id, email, role, profession, status, password_hash, created_at)
			VALUES ($1, $2, $3, 'learner', $4, 'active', 'x', $5)`, user, borough, user+"@bench.test", professions[l%4], base); err != nil {
			b.Fatal(err)
		}
		for m := 1; m <= 4; m++ {
			au := fmt.Sprintf("https://reach.london/course/bench/module-%d", m)
			at := base.Add(time.Duration(l*4+m) * time.Hour)
			add := func(verb, object, objType, result string) {
				at = at.Add(30 * time.Second)
				ctxJSON := ""
				if object != au {
					ctxJSON = fmt.Sprintf(`,"context":{"contextActivities":{"parent":[{"id":%q}]}}`, au)
				}
				if result != "" {
					result = `,"result":` + result
				}
				st, err := lrs.ParseStatement([]byte(fmt.Sprintf(`{"actor":{"account":{"homePage":"http://reach.test","name":%q}},
					"verb":{"id":%q},"object":{"id":%q,"definition":{"type":%q,"name":{"en-GB":"Item"}}}%s%s,"timestamp":%q}`,
					user, verb, object, objType, result, ctxJSON, at.Format(time.RFC3339))), "1.0.3")
				if err != nil {
					b.Fatal(err)
				}
				batch = append(batch, st)
				if len(batch) == 5000 {
					flush()
				}
			}
			lesson := "http://adlnet.gov/expapi/activities/lesson"
			add(reports.VerbLaunched, au, lesson, "")
			add(reports.VerbInitialized, au, lesson, "")
			pages := 70
			stops := l%5 == 4
			if stops {
				pages = 10 + l%50
			}
			for pg := 0; pg < pages; pg++ {
				add(reports.VerbExperienced, fmt.Sprintf("%s/pages/p%02d", au, pg), reports.TypePage, "")
			}
			if stops {
				continue
			}
			for q := 0; q < 12; q++ {
				right := (l+q)%4 != 0
				add(reports.VerbAnswered, fmt.Sprintf("%s/questions/q%02d", au, q), "http://adlnet.gov/expapi/activities/cmi.interaction",
					fmt.Sprintf(`{"response":"%c","success":%v}`, 'a'+rune((l+q)%4), right))
			}
			for r := 0; r < 4; r++ {
				add(reports.VerbResponded, fmt.Sprintf("%s/reflections/r%d", au, r), reports.TypeReflection, `{"completion":true}`)
			}
			for r := 0; r < 3; r++ {
				add(reports.VerbUpdated, au+"/drafts/offer", reports.TypeDraft, "")
			}
			add(reports.VerbCompleted, au, lesson, `{"completion":true}`)
			if l%7 == 0 {
				add(reports.VerbFailed, au, lesson, `{"success":false,"score":{"scaled":0.5}}`)
			} else {
				add(reports.VerbPassed, au, lesson, `{"success":true,"score":{"scaled":0.9}}`)
			}
			add(reports.VerbTerminated, au, lesson, fmt.Sprintf(`{"duration":"PT%dM"}`, 60+l%90))
		}
	}
	flush()
	loadTime := time.Since(start)

	rs := reports.NewService(reportsql.New(d), store, maxSeq{store}, "http://reach.test", nil)
	start = time.Now()
	n, err := rs.CatchUp(ctx)
	if err != nil {
		b.Fatal(err)
	}
	projectTime := time.Since(start)
	if n != loaded {
		b.Fatalf("projected %d statements, want %d", n, loaded)
	}
	// Autovacuum would analyze the freshly loaded tables within a minute;
	// the benchmark does it at once so the planner sees their real sizes.
	if _, err := d.SQL.ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	var r reports.Report
	b.ResetTimer()
	for b.Loop() {
		r, err = rs.Report(ctx, reports.Filter{Borough: borough})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if r.Learners != learners || len(r.Modules) != 4 {
		b.Fatalf("report: %d learners, %d modules; want %d and 4", r.Learners, len(r.Modules), learners)
	}
	perOp := b.Elapsed() / time.Duration(b.N)
	role, err := timeReport(ctx, rs, reports.Filter{Borough: borough, Role: "gp", From: base.AddDate(0, 0, 7)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(loaded), "statements")
	b.ReportMetric(float64(loaded)/projectTime.Seconds(), "projected_statements/s")
	b.ReportMetric(float64(perOp.Microseconds())/1000, "ms/report")
	b.ReportMetric(float64(role.Microseconds())/1000, "ms/filtered_report")
	b.Logf("%d statements of %d learners loaded in %s; projected in %s (%.0f statements/s); full report %s, filtered by role and date %s",
		loaded, learners, loadTime.Round(time.Millisecond), projectTime.Round(time.Millisecond), float64(loaded)/projectTime.Seconds(),
		perOp.Round(time.Microsecond), role.Round(time.Microsecond))
}

func timeReport(ctx context.Context, rs *reports.Service, f reports.Filter) (time.Duration, error) {
	start := time.Now()
	_, err := rs.Report(ctx, f)
	return time.Since(start), err
}
