package blob

import (
	"errors"
	"strings"
	"testing"

	"github.com/reach-london/reach/internal/errs"
)

func TestValidateKey(t *testing.T) {
	tests := []struct {
		key     string
		wantErr string // "" for valid
	}{
		{"a", ""},
		{"sha256/ab/abcdef0123", ""},
		{"packages/42/files/index.html", ""},
		{"names with spaces/and-üñíçødé.txt", ""},
		{"..a/b..", ""}, // dots inside a segment are fine
		{strings.Repeat("s", MaxSegmentLen), ""},
		{"", "empty"},
		{"/a", `starts with "/"`},
		{"a/", `ends with "/"`},
		{"a//b", "empty segment"},
		{"a/../b", `".." segment`},
		{"./a", `"." segment`},
		{`a\b`, "backslash"},
		{"a\x00b", "control character"},
		{"a\x7fb", "control character"},
		{"\xc3\x28", "UTF-8"},
		{strings.Repeat("a/", MaxKeyLen/2) + "a", "longer than 1024 bytes"},
		{strings.Repeat("s", MaxSegmentLen+1), "segment longer than"},
	}
	for _, tt := range tests {
		err := ValidateKey(tt.key)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("ValidateKey(%q): got %v, want nil", tt.key, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ValidateKey(%q): got %v, want error containing %q", tt.key, err, tt.wantErr)
			continue
		}
		if !errors.Is(err, ErrInvalidKey) || !errs.Is(err, errs.Invalid) {
			t.Errorf("ValidateKey(%q): got %v, want ErrInvalidKey of kind Invalid", tt.key, err)
		}
	}
}

func TestValidateContentType(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"", DefaultContentType, false},
		{"text/html; charset=utf-8", "text/html; charset=utf-8", false},
		{"application/vnd.reach+json", "application/vnd.reach+json", false},
		{"not a type", "", true},
		{"text/plain\r\nX-Injected: 1", "", true},
		{"text/plain; charset=ü", "", true},
		{"text/" + strings.Repeat("x", MaxContentTypeLen), "", true},
	}
	for _, tt := range tests {
		got, err := ValidateContentType(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ValidateContentType(%q): got %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errs.Is(err, errs.Invalid) {
			t.Errorf("ValidateContentType(%q): got %v, want kind Invalid", tt.in, err)
		}
	}
}
