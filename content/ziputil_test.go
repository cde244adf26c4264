package content

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/reach-london/reach/internal/errs"
)

type zent struct {
	name   string
	size   int
	mode   fs.FileMode
	random bool // incompressible bytes instead of a run of "a"
}

func buildZip(t testing.TB, entries ...zent) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		body := bytes.Repeat([]byte("a"), e.size)
		if e.random {
			rand.Read(body)
		}
		w.Write(body)
	}
	zw.Close()
	return buf.Bytes()
}

func TestOpenZip(t *testing.T) {
	lim := Limits{MaxEntries: 5, MaxFileSize: 3 << 20, MaxTotal: 4 << 20, MaxRatio: 50}.withDefaults()
	tests := []struct {
		name    string
		entries []zent
		kind    errs.Kind
		msg     string // "" means accepted
		files   int
	}{
		{"fine, folders skipped", []zent{{name: "a/"}, {name: "a/b.html", size: 10}, {name: "c.js", size: 1}}, 0, "", 2},
		{"too many entries", []zent{{name: "1"}, {name: "2"}, {name: "3"}, {name: "4"}, {name: "5"}, {name: "6"}}, errs.TooLarge, "6 entries; at most 5", 0},
		{"file too big", []zent{{name: "big.bin", size: 3<<20 + 1, random: true}}, errs.TooLarge, `"big.bin" is 3 MiB uncompressed`, 0},
		{"total too big", []zent{{name: "a", size: 2 << 20, random: true}, {name: "b", size: 2 << 20, random: true}, {name: "c", size: 1 << 20, random: true}}, errs.TooLarge, "total more than 4 MiB", 0},
		{"ratio", []zent{{name: "zeros", size: 2 << 20}}, errs.Invalid, "expands more than 50 times", 0},
		{"small files may compress well", []zent{{name: "spaces.json", size: 1 << 20}}, 0, "", 1},
		{"dot segment", []zent{{name: "a/./b"}}, errs.Invalid, `empty or "." path segment`, 0},
		{"double slash", []zent{{name: "a//b"}}, errs.Invalid, `empty or "." path segment`, 0},
		{"control char", []zent{{name: "a\x01b"}}, errs.Invalid, "control character", 0},
		{"NUL in a name", []zent{{name: "index.html\x00.txt", size: 3}}, errs.Invalid, "control character", 0},
		{"NUL in a folder name", []zent{{name: "a\x00/"}}, errs.Invalid, "control character", 0},
		{"invalid utf-8", []zent{{name: "a\xffb"}}, errs.Invalid, "not valid UTF-8", 0},
		{"dir and file differing in case", []zent{{name: "Media/"}, {name: "media/"}}, errs.Invalid, "differ only in letter case", 0},
		{"named pipe", []zent{{name: "fifo", mode: fs.ModeNamedPipe | 0o644}}, errs.Invalid, "not a regular file", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := buildZip(t, tt.entries...)
			got, err := openZip(bytes.NewReader(data), int64(len(data)), lim)
			if tt.msg == "" {
				if err != nil || len(got) != tt.files {
					t.Fatalf("got %d files, %v; want %d", len(got), err, tt.files)
				}
				return
			}
			if err == nil || errs.KindOf(err) != tt.kind || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got %v (kind %v), want kind %v containing %q", err, errs.KindOf(err), tt.kind, tt.msg)
			}
		})
	}
}

// TestOpenZipWholeArchiveExpansion: entries of exactly 1 MiB escape the
// per-entry ratio check, so only a bound on the whole archive stops a
// small zip of many of them (issue 18 §5: 4.5 MB became 3.8 GiB).
func TestOpenZipWholeArchiveExpansion(t *testing.T) {
	var entries []zent
	for i := 0; i < 70; i++ {
		entries = append(entries, zent{name: fmt.Sprintf("f%03d.txt", i), size: 1 << 20})
	}
	data := buildZip(t, entries...)
	_, err := openZip(bytes.NewReader(data), int64(len(data)), Limits{}.withDefaults())
	if !errs.Is(err, errs.TooLarge) || !strings.Contains(err.Error(), "more than 100 times") || !strings.Contains(err.Error(), "REACH_MAX_EXPANSION_RATIO") {
		t.Fatalf("default limits: %v", err)
	}
	got, err := openZip(bytes.NewReader(data), int64(len(data)), Limits{MaxExpansion: 5000}.withDefaults())
	if err != nil || len(got) != 70 {
		t.Fatalf("raised bound: %d files, %v", len(got), err)
	}
	// Under the floor, a well-compressed package is not judged as a whole.
	small := buildZip(t, entries[:60]...)
	if _, err := openZip(bytes.NewReader(small), int64(len(small)), Limits{}.withDefaults()); err != nil {
		t.Fatalf("60 MiB: %v", err)
	}
}

func TestSpoolUpload(t *testing.T) {
	f, n, err := SpoolUpload(strings.NewReader("12345"), 5)
	if err != nil || n != 5 {
		t.Fatalf("at the limit: %d %v", n, err)
	}
	f.Close()
	if _, _, err := SpoolUpload(strings.NewReader("123456"), 5); !errs.Is(err, errs.TooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
}

func TestContentHashIsOrderFree(t *testing.T) {
	a := map[string]FileRef{"a": {SHA256: "1"}, "b": {SHA256: "2"}}
	b := map[string]FileRef{"b": {SHA256: "2"}, "a": {SHA256: "1"}}
	c := map[string]FileRef{"a": {SHA256: "2"}, "b": {SHA256: "1"}}
	if contentHash(a) != contentHash(b) || contentHash(a) == contentHash(c) {
		t.Fatal("content hash must depend on paths and hashes, not map order")
	}
}

// FuzzOpenZip feeds arbitrary bytes to the zip checks: they must never
// panic, and whatever they accept must have safe, unique paths.
func FuzzOpenZip(f *testing.F) {
	f.Add(buildZip(f, zent{name: "cmi5.xml", size: 10}, zent{name: "a/b.html", size: 3}))
	f.Add(buildZip(f, zent{name: "../x", size: 1}))
	f.Add(buildZip(f, zent{name: "l", mode: fs.ModeSymlink | 0o777}))
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxTotal: 1 << 20, MaxFileSize: 1 << 20}.withDefaults()
		entries, err := openZip(bytes.NewReader(data), int64(len(data)), lim)
		if err != nil {
			if k := errs.KindOf(err); k != errs.Invalid && k != errs.TooLarge {
				t.Fatalf("error of kind %v: %v", k, err)
			}
			return
		}
		seen := map[string]bool{}
		for _, e := range entries {
			if err := checkEntryName(e.Path); err != nil || strings.HasPrefix(e.Path, "/") || strings.Contains(e.Path, "..") && strings.Contains("/"+e.Path+"/", "/../") {
				t.Fatalf("accepted unsafe path %q", e.Path)
			}
			low := strings.ToLower(e.Path)
			if seen[low] {
				t.Fatalf("accepted duplicate %q", e.Path)
			}
			seen[low] = true
			// Reading an accepted entry stops at its declared size.
			if rc, err := e.File.Open(); err == nil {
				buf := make([]byte, 4096)
				var total int
				for {
					n, err := rc.Read(buf)
					total += n
					if err != nil || total > int(lim.MaxFileSize) {
						break
					}
				}
				rc.Close()
				if total > int(lim.MaxFileSize) {
					t.Fatalf("entry %q yielded more than the limit", e.Path)
				}
			}
		}
	})
}
