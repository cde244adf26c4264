package content_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/reachtest"
)

// TestConcurrentImportsOfOneZip: racing imports of the same zip end with
// one package, which every one of them returns, and one copy of each file.
func TestConcurrentImportsOfOneZip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, inst *reachtest.Instance, admin *client.Client) {
		zip := makeZip(t, files("tincan.xml", tincanXML, "story.html", "concurrent", "a.js", "1", "b.js", "2", "c.css", "3")...)
		p0, f0, b0 := counts(t, inst)
		const n = 6
		ids := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pkg, err := admin.ImportPackage(context.Background(), "london", bytes.NewReader(zip))
				ids[i], errs[i] = pkg.ID, err
			}()
		}
		wg.Wait()
		for i := 0; i < n; i++ {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Errorf("import %d: %q %v (first %q)", i, ids[i], errs[i], ids[0])
			}
		}
		p, f, b := counts(t, inst)
		if p != p0+1 || f != f0+5 || b != b0+5 {
			t.Errorf("after %d racing imports: packages +%d, file rows +%d, blobs +%d; want +1, +5, +5", n, p-p0, f-f0, b-b0)
		}
	})
}
