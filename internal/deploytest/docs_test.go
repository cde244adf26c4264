package deploytest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/reach-london/reach/internal/auth"
)

// TestOperationsDocsLinks: every relative link in docs/operations leads to
// a file that exists.
func TestOperationsDocsLinks(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "docs", "operations")
	files, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no docs in %s: %v", dir, err)
	}
	link := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(raw), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			if _, err := os.Stat(filepath.Join(dir, target)); err != nil {
				t.Errorf("%s links to %s, which does not exist", filepath.Base(f), target)
			}
		}
	}
}

// TestSecurityDocListsEveryScope keeps the scope table in step with the
// scopes a credential may be given.
func TestSecurityDocListsEveryScope(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "operations", "security.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| `([a-z/]+)` \\|").FindAllStringSubmatch(string(raw), -1)
	documented := map[string]bool{}
	for _, r := range rows {
		documented[r[1]] = true
	}
	for _, s := range auth.XAPIScopes {
		if !documented[string(s)] {
			t.Errorf("security.md does not describe scope %s", s)
		}
		delete(documented, string(s))
	}
	for s := range documented {
		t.Errorf("security.md describes scope %s, which internal/auth does not know", s)
	}
}
