package app_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/reach-london/reach/"

// layerRule forbids packages under from (but not under any of except) to
// import packages under any of never, but for those under any of allow.
type layerRule struct {
	from   string
	except []string
	never  []string
	allow  []string
	why    string
}

// layerRules are the import rules of docs/adr/0007-folders-as-layers.md
// that hold today; the moves that ADR orders will tighten them (the
// exceptions are the rooms still to move).
var layerRules = []layerRule{
	{from: "internal/", except: []string{"internal/app", "internal/reachtest", "internal/auth", "internal/learners"},
		never: []string{"internal/app", "internal/reachtest", "internal/auth", "internal/learners", "lrs", "content", "reports", "server", "cmd", "client"},
		why:   "internal/ is the ground floor: platform adapters import nothing above them"},
	{from: "client", never: []string{"internal", "lrs", "content", "reports", "server", "cmd"}, allow: []string{"lrs/forward/forwardapi"},
		why: "the Go client imports nothing of Reach's but the API types it shares"},
	{from: "lrs/forward/forwardapi", never: []string{"internal", "lrs", "content", "reports", "server", "cmd", "client"},
		why: "the shared API types import nothing, so the client stays light"},
	{from: "internal/auth", never: []string{"lrs", "content", "reports", "server", "internal/app", "cmd"},
		why: "auth is the lowest domain: the others import it"},
	{from: "lrs", never: []string{"content", "reports", "server", "internal/app", "cmd"},
		why: "the LRS knows none of its readers (reports declares the feed it needs)"},
	{from: "content", never: []string{"reports", "server", "internal/app", "cmd"},
		why: "content is a domain: the HTTP layer and the composition root stand above it"},
	{from: "content/course", never: []string{"content/launch", "content/scorm", "content/dispatch", "lrs"},
		why: "the course is content; launching and tracking stand above it"},
	{from: "content/manifest", never: []string{"content/launch", "content/scorm", "content/dispatch", "lrs"},
		why: "manifests are content; launching and tracking stand above them"},
	{from: "internal/learners", never: []string{"content", "reports", "server", "internal/app", "cmd"},
		why: "the learner use cases reach the rooms through the steps the app gives them"},
	{from: "reports", never: []string{"content", "server", "internal/app", "cmd"},
		why: "reports read the LRS; the HTTP layer stands above them"},
	{from: "server", never: []string{"internal/db", "internal/app", "lrs/sqlstore", "reports/reportsql", "internal/auth/authsql", "cmd"},
		why: "the HTTP layer talks to domain services, never to storage or the composition root"},
}

// TestLayers reads every package's imports with go list and checks them
// against the layer rules, so no import runs back up unnoticed.
func TestLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	under := func(pkg, dir string) bool {
		if strings.HasSuffix(dir, "/") {
			return strings.HasPrefix(pkg, dir)
		}
		return pkg == dir || strings.HasPrefix(pkg, dir+"/")
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 20 {
		t.Fatalf("go list found %d packages; want all of Reach's", len(lines))
	}
	for _, line := range lines {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		for _, r := range layerRules {
			if !under(pkg, r.from) {
				continue
			}
			excepted := false
			for _, e := range r.except {
				excepted = excepted || under(pkg, e)
			}
			if excepted {
				continue
			}
			for _, imp := range fields[1:] {
				if !strings.HasPrefix(imp, module) {
					continue
				}
				imp = strings.TrimPrefix(imp, module)
				allowed := false
				for _, a := range r.allow {
					allowed = allowed || under(imp, a)
				}
				for _, n := range r.never {
					if under(imp, n) && !allowed {
						t.Errorf("%s imports %s: %s", pkg, imp, r.why)
					}
				}
			}
		}
	}
}
