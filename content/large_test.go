package content_test

import (
	"archive/zip"
	"bufio"
	"context"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/reachtest"
)

// TestImportStreamsLargePackage imports a 300 MB package and checks the
// heap stays far below the package size: upload, zip checks, hashing and
// storing all stream. (The benchmark does the same with 500 MB and reports
// the server's RSS.)
func TestImportStreamsLargePackage(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and imports a 300 MB package")
	}
	const fileMB, files = 100, 3
	path := filepath.Join(t.TempDir(), "large.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	zw := zip.NewWriter(bw)
	w, _ := zw.Create("tincan.xml")
	io.WriteString(w, tincanXML)
	w, _ = zw.Create("story.html")
	io.WriteString(w, "<p>story</p>")
	rng := mrand.NewChaCha8([32]byte{7})
	for i := 0; i < files; i++ {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "media/part" + string(rune('a'+i)) + ".mp4", Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(w, rng, fileMB<<20); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	bw.Flush()
	f.Close()

	for _, b := range reachtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			inst := reachtest.Start(t, b)
			admin := client.New(inst.URL)
			admin.HTTP.Timeout = 5 * time.Minute
			ctx := context.Background()
			if _, err := admin.Login(ctx, "", inst.AdminEmail, inst.AdminPassword); err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			base := ms.HeapInuse
			var peak atomic.Uint64
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					select {
					case <-stop:
						return
					case <-time.After(5 * time.Millisecond):
					}
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					if m.HeapInuse > peak.Load() {
						peak.Store(m.HeapInuse)
					}
				}
			}()
			zf, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer zf.Close()
			start := time.Now()
			pkg, err := admin.ImportPackage(ctx, "london", zf)
			close(stop)
			<-done
			if err != nil {
				t.Fatal(err)
			}
			if pkg.Size != files*fileMB<<20+int64(len(tincanXML))+int64(len("<p>story</p>")) {
				t.Errorf("package size %d", pkg.Size)
			}
			growth := int64(peak.Load()) - int64(base)
			t.Logf("%s: imported %d MB in %v; heap grew by at most %d MB", b.Name, pkg.Size>>20, time.Since(start).Round(time.Millisecond), growth>>20)
			// Client and server share this process, so the bound covers
			// both; either one buffering a file would blow it.
			if growth > 96<<20 {
				t.Errorf("heap grew by %d MB importing a %d MB package; the import must stream", growth>>20, pkg.Size>>20)
			}
		})
	}
}
