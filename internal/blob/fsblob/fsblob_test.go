package fsblob_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/blob"
	"github.com/reach-london/reach/internal/blob/blobtest"
	"github.com/reach-london/reach/internal/blob/fsblob"
)

func TestContract(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, err := fsblob.New(t.TempDir())
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return s
	})
}

func TestNew(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	readOnly := filepath.Join(t.TempDir(), "ro")
	if err := os.MkdirAll(filepath.Join(readOnly, "objects"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(readOnly, "tmp"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(readOnly, "tmp"), 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(filepath.Join(readOnly, "tmp"), 0o700) })
	tests := []struct {
		name, dir, wantErr string
	}{
		{"new directory", filepath.Join(t.TempDir(), "new", "nested"), ""},
		{"empty path", "", "blob directory is empty"},
		{"path is a file", file, "a-file"},
		{"not writable", readOnly, "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "not writable" && os.Geteuid() == 0 {
				t.Skip("root can write anywhere")
			}
			_, err := fsblob.New(tt.dir)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("New(%q): %v", tt.dir, err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("New(%q): got %v, want error containing %q", tt.dir, err, tt.wantErr)
			}
		})
	}
}

// TestCrashLeavesNoObject checks what a crash mid-Put leaves behind: only a
// temp file, which is not an object and which New removes once stale.
func TestCrashLeavesNoObject(t *testing.T) {
	dir := t.TempDir()
	s, err := fsblob.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Put(ctx, "a/b", strings.NewReader("kept"), 4, ""); err != nil {
		t.Fatal(err)
	}
	// A crashed Put: its temp file exists, old enough to be stale.
	tmp := filepath.Join(dir, "tmp", "put-crashed")
	if err := os.WriteFile(tmp, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(tmp, old, old); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(dir, "tmp", "put-in-progress")
	if err := os.WriteFile(fresh, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	s2, err := fsblob.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("stale temp file: got %v, want removed", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("recent temp file (another process's Put in progress): got %v, want kept", err)
	}
	var keys []string
	if err := s2.List(ctx, "", func(i blob.Info) error { keys = append(keys, i.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(keys, ",") != "a/b" {
		t.Errorf("keys: got %v, want [a/b]", keys)
	}
}

// TestCorruptFile checks that a damaged object file is reported, not served.
func TestCorruptFile(t *testing.T) {
	dir := t.TempDir()
	s, err := fsblob.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Put(ctx, "k", strings.NewReader("hello"), 5, ""); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "objects", "k.obj")
	tests := []struct {
		name   string
		damage func() error
	}{
		{"truncated", func() error { return os.Truncate(path, 1030) }},
		{"not a blob", func() error { return os.WriteFile(path, []byte("plain text"), 0o600) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.damage(); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Open(ctx, "k"); err == nil {
				t.Error("Open of a damaged file: got nil error")
			}
		})
	}
}
