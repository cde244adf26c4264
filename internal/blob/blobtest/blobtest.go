// Package blobtest is the contract every blob.Store must meet, written once
// and run against each implementation (local directory and S3), so that the
// embedded default and production behave alike.
package blobtest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/blob"
	"github.com/reach-london/reach/internal/errs"
)

// Run runs the contract suite. newStore must return an empty store; it is
// called once per subtest.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	t.Run("PutOpenStat", func(t *testing.T) { testPutOpenStat(t, newStore(t)) })
	t.Run("SeekAndRanges", func(t *testing.T) { testSeek(t, newStore(t)) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, newStore(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, newStore(t)) })
	t.Run("BadKeys", func(t *testing.T) { testBadKeys(t, newStore(t)) })
	t.Run("BadPuts", func(t *testing.T) { testBadPuts(t, newStore(t)) })
	t.Run("Overwrite", func(t *testing.T) { testOverwrite(t, newStore(t)) })
	t.Run("List", func(t *testing.T) { testList(t, newStore(t)) })
	t.Run("LargeStreaming", func(t *testing.T) { testLarge(t, newStore(t)) })
	t.Run("ConcurrentPuts", func(t *testing.T) { testConcurrent(t, newStore(t)) })
	t.Run("Ping", func(t *testing.T) {
		if err := newStore(t).Ping(context.Background()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
}

func put(t *testing.T, s blob.Store, key, body, ct string) {
	t.Helper()
	if err := s.Put(context.Background(), key, strings.NewReader(body), int64(len(body)), ct); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func read(t *testing.T, s blob.Store, key string) (string, blob.Info) {
	t.Helper()
	o, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return string(b), o.Info()
}

// sameInfo compares infos from different calls; stores report ModTime at
// different precisions (S3 gives whole seconds in headers), so it allows 1s.
func sameInfo(t *testing.T, what string, got, want blob.Info) {
	t.Helper()
	if got.Key != want.Key || got.Size != want.Size || got.ContentType != want.ContentType || got.ETag != want.ETag {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
	if d := got.ModTime.Sub(want.ModTime); d > time.Second || d < -time.Second {
		t.Errorf("%s: ModTime %v, want %v", what, got.ModTime, want.ModTime)
	}
}

func testPutOpenStat(t *testing.T, s blob.Store) {
	ctx := context.Background()
	tests := []struct {
		name, key, body, ct, wantCT string
		size                        int64 // -1 for unknown; else len(body)
	}{
		{"known size", "packages/1/index.html", "<h1>hello</h1>", "text/html; charset=utf-8", "text/html; charset=utf-8", 0},
		{"unknown size", "sha256/ab/abcdef", "some bytes\x00\xff", "application/zip", "application/zip", -1},
		{"empty object", "empty", "", "text/plain", "text/plain", 0},
		{"default content type", "no-type", "x", "", blob.DefaultContentType, 0},
		{"unicode key", "exports/borough café/r\u00e9sum\u00e9.csv", "a,b\n", "text/csv", "text/csv", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := int64(len(tt.body))
			if tt.size < 0 {
				size = -1
			}
			before := time.Now().Add(-2 * time.Second)
			if err := s.Put(ctx, tt.key, strings.NewReader(tt.body), size, tt.ct); err != nil {
				t.Fatalf("Put: %v", err)
			}
			after := time.Now().Add(2 * time.Second)
			got, info := read(t, s, tt.key)
			if got != tt.body {
				t.Errorf("body: got %q, want %q", got, tt.body)
			}
			if info.Key != tt.key || info.Size != int64(len(tt.body)) || info.ContentType != tt.wantCT {
				t.Errorf("Info: got %+v, want key %q size %d type %q", info, tt.key, len(tt.body), tt.wantCT)
			}
			if info.ETag == "" || strings.Contains(info.ETag, `"`) {
				t.Errorf("ETag: got %q, want a non-empty unquoted validator", info.ETag)
			}
			if info.ModTime.Before(before) || info.ModTime.After(after) {
				t.Errorf("ModTime: got %v, want between %v and %v", info.ModTime, before, after)
			}
			st, err := s.Stat(ctx, tt.key)
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			sameInfo(t, "Stat vs Open", st, info)
		})
	}
}

func testSeek(t *testing.T, s blob.Store) {
	const body = "0123456789abcdefghijklmnopqrstuvwxyz"
	put(t, s, "seek/me", body, "text/plain")
	o, err := s.Open(context.Background(), "seek/me")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer o.Close()
	// Steps run in order on one object, as an HTTP server serving several
	// ranges would.
	steps := []struct {
		name   string
		offset int64
		whence int
		wantAt int64
		n      int
		want   string
	}{
		{"from start", 10, io.SeekStart, 10, 5, "abcde"},
		{"from current", 5, io.SeekCurrent, 20, 4, "klmn"},
		{"from end", -3, io.SeekEnd, 33, 3, "xyz"},
		{"back to start", 0, io.SeekStart, 0, 3, "012"},
		{"size via end", 0, io.SeekEnd, 36, 0, ""},
	}
	for _, st := range steps {
		pos, err := o.Seek(st.offset, st.whence)
		if err != nil {
			t.Fatalf("%s: Seek: %v", st.name, err)
		}
		if pos != st.wantAt {
			t.Errorf("%s: Seek: got %d, want %d", st.name, pos, st.wantAt)
		}
		buf := make([]byte, st.n)
		if _, err := io.ReadFull(o, buf); err != nil {
			t.Fatalf("%s: read: %v", st.name, err)
		}
		if string(buf) != st.want {
			t.Errorf("%s: got %q, want %q", st.name, buf, st.want)
		}
	}
	// Reading at the end gives EOF, not an error or stray bytes.
	if n, err := o.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Errorf("read at end: got %d, %v; want 0, EOF", n, err)
	}
	// A range read from the middle to the end, as http.ServeContent does.
	if _, err := o.Seek(30, io.SeekStart); err != nil {
		t.Fatalf("Seek: %v", err)
	}
	rest, err := io.ReadAll(io.LimitReader(o, 100))
	if err != nil || string(rest) != "uvwxyz" {
		t.Errorf("range to end: got %q, %v; want %q", rest, err, "uvwxyz")
	}
	if _, err := o.Seek(-1, io.SeekStart); err == nil {
		t.Error("Seek to -1: got nil error, want an error")
	}
}

func testNotFound(t *testing.T, s blob.Store) {
	ctx := context.Background()
	put(t, s, "a/b/c", "x", "")
	for _, key := range []string{"missing", "a/b", "a", "a/b/c/d", "a/b/cc"} {
		if _, err := s.Open(ctx, key); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Open(%q): got %v, want ErrNotFound", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Stat(%q): got %v, want ErrNotFound", key, err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) of an absent key: got %v, want nil", key, err)
		}
	}
	if got, _ := read(t, s, "a/b/c"); got != "x" {
		t.Errorf("a/b/c after deleting absent neighbours: got %q, want %q", got, "x")
	}
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := context.Background()
	put(t, s, "d/one", "1", "")
	put(t, s, "d/two", "2", "")
	put(t, s, "d/sub/three", "3", "")
	for _, key := range []string{"d/one", "d/sub/three"} {
		if err := s.Delete(ctx, key); err != nil {
			t.Fatalf("Delete(%q): %v", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Stat(%q) after Delete: got %v, want ErrNotFound", key, err)
		}
	}
	if got := keys(t, s, ""); strings.Join(got, ",") != "d/two" {
		t.Errorf("keys after deletes: got %v, want [d/two]", got)
	}
	// Deleting frees the name, and the prefix, for new objects.
	put(t, s, "d/sub/three/four", "4", "")
	put(t, s, "d/one", "5", "")
	if got := keys(t, s, "d/"); strings.Join(got, ",") != "d/one,d/sub/three/four,d/two" {
		t.Errorf("keys: got %v", got)
	}
}

func testBadKeys(t *testing.T, s blob.Store) {
	ctx := context.Background()
	bad := []struct{ name, key string }{
		{"empty", ""},
		{"leading slash", "/a"},
		{"trailing slash", "a/"},
		{"dot dot", "a/../b"},
		{"only dot dot", ".."},
		{"dot segment", "a/./b"},
		{"empty segment", "a//b"},
		{"backslash", `a\b`},
		{"control character", "a\nb"},
		{"invalid UTF-8", "a\xffb"},
		{"too long", strings.Repeat("k/", blob.MaxKeyLen/2) + "k"},
		{"segment too long", strings.Repeat("s", blob.MaxSegmentLen+1)},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Put(ctx, tt.key, strings.NewReader("x"), 1, "")
			if !errors.Is(err, blob.ErrInvalidKey) || !errs.Is(err, errs.Invalid) {
				t.Errorf("Put: got %v, want ErrInvalidKey of kind Invalid", err)
			}
			if _, err := s.Open(ctx, tt.key); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("Open: got %v, want ErrInvalidKey", err)
			}
			if _, err := s.Stat(ctx, tt.key); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("Stat: got %v, want ErrInvalidKey", err)
			}
			if err := s.Delete(ctx, tt.key); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("Delete: got %v, want ErrInvalidKey", err)
			}
		})
	}
	if got := keys(t, s, ""); len(got) != 0 {
		t.Errorf("keys after bad puts: got %v, want none", got)
	}
	// The longest valid key and segment are accepted.
	long := strings.Repeat(strings.Repeat("k", 99)+"/", 10) + strings.Repeat("k", blob.MaxKeyLen-1000)
	for _, key := range []string{long, strings.Repeat("s", blob.MaxSegmentLen)} {
		put(t, s, key, "ok", "")
		if got, _ := read(t, s, key); got != "ok" {
			t.Errorf("key of %d bytes: got %q, want %q", len(key), got, "ok")
		}
	}
}

// errReader fails after yielding some bytes, as a dropped upload does.
type errReader struct{ n int }

func (r *errReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("connection reset by client")
	}
	n := min(len(p), r.n)
	for i := range p[:n] {
		p[i] = 'x'
	}
	r.n -= n
	return n, nil
}

func testBadPuts(t *testing.T, s blob.Store) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		r    func() io.Reader
		size int64
		ct   string
	}{
		{"short body", context.Background(), func() io.Reader { return strings.NewReader("12345") }, 10, ""},
		{"long body", context.Background(), func() io.Reader { return strings.NewReader("1234567890") }, 5, ""},
		{"failing reader", context.Background(), func() io.Reader { return &errReader{n: 1000} }, -1, ""},
		{"failing reader, known size", context.Background(), func() io.Reader { return &errReader{n: 1000} }, 2000, ""},
		{"bad content type", context.Background(), func() io.Reader { return strings.NewReader("x") }, 1, "not a type"},
		{"content type with newline", context.Background(), func() io.Reader { return strings.NewReader("x") }, 1, "text/plain\nX-Evil: 1"},
		{"negative size", context.Background(), func() io.Reader { return strings.NewReader("x") }, -2, ""},
		{"cancelled", cancelled, func() io.Reader { return strings.NewReader("x") }, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A failed Put must leave an existing object as it was, and
			// create nothing where there was none.
			put(t, s, "kept", "original", "text/plain")
			if err := s.Put(tt.ctx, "kept", tt.r(), tt.size, tt.ct); err == nil {
				t.Fatal("Put over existing: got nil error")
			}
			if got, info := read(t, s, "kept"); got != "original" || info.ContentType != "text/plain" {
				t.Errorf("after failed Put: got %q (%s), want %q (text/plain)", got, info.ContentType, "original")
			}
			if err := s.Put(tt.ctx, "fresh", tt.r(), tt.size, tt.ct); err == nil {
				t.Fatal("Put of new key: got nil error")
			}
			if _, err := s.Stat(context.Background(), "fresh"); !errors.Is(err, blob.ErrNotFound) {
				t.Errorf("Stat after failed Put: got %v, want ErrNotFound", err)
			}
		})
	}
}

func testOverwrite(t *testing.T, s blob.Store) {
	ctx := context.Background()
	put(t, s, "o", "first version", "text/plain")
	_, first := read(t, s, "o")
	old, err := s.Open(ctx, "o")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer old.Close()
	put(t, s, "o", "second, longer version", "text/markdown")
	got, second := read(t, s, "o")
	if got != "second, longer version" || second.ContentType != "text/markdown" || second.Size != int64(len(got)) {
		t.Errorf("after overwrite: got %q %+v", got, second)
	}
	if first.ETag == second.ETag {
		t.Errorf("ETag unchanged by overwrite with different bytes: %q", first.ETag)
	}
	// An object opened before the overwrite reads the old bytes whole or
	// fails; it never mixes versions.
	if b, err := io.ReadAll(old); err == nil && string(b) != "first version" {
		t.Errorf("object opened before overwrite: got %q, want the old bytes or an error", b)
	}
	// The same bytes again give the same ETag: it validates content.
	put(t, s, "o", "second, longer version", "text/markdown")
	if _, again := read(t, s, "o"); again.ETag != second.ETag {
		t.Errorf("ETag for identical bytes: got %q, want %q", again.ETag, second.ETag)
	}
	if got := keys(t, s, ""); strings.Join(got, ",") != "o" {
		t.Errorf("keys after overwrites: got %v, want [o]", got)
	}
}

func keys(t *testing.T, s blob.Store, prefix string) []string {
	t.Helper()
	var got []string
	if err := s.List(context.Background(), prefix, func(i blob.Info) error {
		got = append(got, i.Key)
		return nil
	}); err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return got
}

func testList(t *testing.T, s blob.Store) {
	ctx := context.Background()
	// Put out of order; chosen so that "/" (0x2f) sorts between "-" and
	// "0", which a naive directory walk gets wrong. No key is also a prefix
	// ("a" and "a/b"): the Store contract leaves that undefined.
	all := []string{"b", "a/b/c", "ab", "a-b", "a.txt", "a/b.txt", "a0", "a/c", "a/b-", "z/z/z"}
	for i, k := range all {
		put(t, s, k, strings.Repeat("x", i), "text/plain")
	}
	tests := []struct {
		prefix string
		want   string
	}{
		{"", "a-b,a.txt,a/b-,a/b.txt,a/b/c,a/c,a0,ab,b,z/z/z"},
		{"a", "a-b,a.txt,a/b-,a/b.txt,a/b/c,a/c,a0,ab"},
		{"a/", "a/b-,a/b.txt,a/b/c,a/c"},
		{"a/b", "a/b-,a/b.txt,a/b/c"},
		{"a/b/", "a/b/c"},
		{"z/", "z/z/z"},
		{"z/z/z", "z/z/z"},
		{"c", ""},
		{"a/b/c/", ""},
		{"nope/", ""},
	}
	for _, tt := range tests {
		if got := strings.Join(keys(t, s, tt.prefix), ","); got != tt.want {
			t.Errorf("List(%q): got %q, want %q", tt.prefix, got, tt.want)
		}
	}
	// Infos from List match Stat.
	if err := s.List(ctx, "", func(i blob.Info) error {
		st, err := s.Stat(ctx, i.Key)
		if err != nil {
			return err
		}
		sameInfo(t, "List vs Stat "+i.Key, i, st)
		return nil
	}); err != nil {
		t.Fatalf("List: %v", err)
	}
	// An error from fn stops the listing and is returned.
	stop := errors.New("stop")
	var n int
	err := s.List(ctx, "", func(blob.Info) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("List with fn error: got %v after %d calls, want stop after 3", err, n)
	}
}

// pattern yields n deterministic bytes without holding them, calling
// every (if set) after each 4 MiB, so the heap can be sampled mid-stream.
type pattern struct {
	n, off int64
	every  func()
}

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n-p.off)]
	for i := range b {
		x := p.off + int64(i)
		b[i] = byte(x ^ x>>8 ^ x>>16)
	}
	if p.every != nil && (p.off+int64(len(b)))>>22 != p.off>>22 {
		p.every()
	}
	p.off += int64(len(b))
	return len(b), nil
}

// heapMeter records the largest growth of the live heap over a baseline.
type heapMeter struct {
	base uint64
	mu   sync.Mutex
	peak uint64
}

func newHeapMeter() *heapMeter {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return &heapMeter{base: ms.HeapAlloc}
}

func (m *heapMeter) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.mu.Lock()
	defer m.mu.Unlock()
	if ms.HeapAlloc > m.base && ms.HeapAlloc-m.base > m.peak {
		m.peak = ms.HeapAlloc - m.base
	}
}

// sampleWriter samples the heap after each 4 MiB written through it.
type sampleWriter struct {
	w io.Writer
	n int64
	m *heapMeter
}

func (s *sampleWriter) Write(b []byte) (int, error) {
	if (s.n+int64(len(b)))>>22 != s.n>>22 {
		s.m.sample()
	}
	s.n += int64(len(b))
	return s.w.Write(b)
}

func testLarge(t *testing.T, s blob.Store) {
	if testing.Short() {
		t.Skip("large object test skipped in -short mode")
	}
	const size = 50 << 20
	want := sha256.New()
	if _, err := io.Copy(want, &pattern{n: size}); err != nil {
		t.Fatal(err)
	}
	wantSum := fmt.Sprintf("%x", want.Sum(nil))
	for _, tt := range []struct {
		name string
		size int64
	}{{"known size", size}, {"unknown size", -1}} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			key := "large/" + strings.ReplaceAll(tt.name, " ", "-")
			m := newHeapMeter()
			var gotSum string
			var info blob.Info
			putErr := s.Put(ctx, key, &pattern{n: size, every: m.sample}, tt.size, "application/octet-stream")
			var readErr error
			if putErr == nil {
				readErr = func() error {
					o, err := s.Open(ctx, key)
					if err != nil {
						return err
					}
					defer o.Close()
					info = o.Info()
					h := sha256.New()
					if _, err := io.Copy(&sampleWriter{w: h, m: m}, o); err != nil {
						return err
					}
					gotSum = fmt.Sprintf("%x", h.Sum(nil))
					return nil
				}()
			}
			m.sample()
			peak := m.peak
			if putErr != nil {
				t.Fatalf("Put: %v", putErr)
			}
			if readErr != nil {
				t.Fatalf("read back: %v", readErr)
			}
			if gotSum != wantSum || info.Size != size {
				t.Errorf("read back %d bytes with sha256 %s, want %d bytes with %s", info.Size, gotSum, size, wantSum)
			}
			// Streaming means the heap never holds the object: allow buffers
			// (S3 multipart parts are 16 MiB) but not the whole 50 MiB.
			t.Logf("peak heap growth %d MiB for a %d MiB object", peak>>20, size>>20)
			if peak > size*3/4 {
				t.Errorf("peak heap growth %d MiB for a %d MiB object: the store buffers whole objects", peak>>20, size>>20)
			}
		})
	}
}

func testConcurrent(t *testing.T, s blob.Store) {
	ctx := context.Background()
	const n = 12
	bodies := make([]string, n)
	for i := range bodies {
		// Distinct lengths and bytes, so a mix of two would be detectable.
		bodies[i] = strings.Repeat(string(rune('a'+i)), 1000*(i+1))
	}
	var wg sync.WaitGroup
	errc := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			errc <- s.Put(ctx, fmt.Sprintf("own/%02d", i), strings.NewReader(bodies[i]), int64(len(bodies[i])), "")
		})
		wg.Go(func() {
			errc <- s.Put(ctx, "shared/key", strings.NewReader(bodies[i]), -1, "")
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Errorf("concurrent Put: %v", err)
		}
	}
	for i := range n {
		if got, _ := read(t, s, fmt.Sprintf("own/%02d", i)); got != bodies[i] {
			t.Errorf("own/%02d: got %d bytes, want %d", i, len(got), len(bodies[i]))
		}
	}
	got, info := read(t, s, "shared/key")
	ok := false
	for _, b := range bodies {
		ok = ok || got == b
	}
	if !ok || info.Size != int64(len(got)) {
		t.Errorf("shared/key holds %d bytes that are not any one Put's whole body", len(got))
	}
	if k := keys(t, s, ""); len(k) != n+1 {
		t.Errorf("got %d keys, want %d", len(k), n+1)
	}
}
