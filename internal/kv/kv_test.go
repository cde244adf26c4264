package kv

import (
	"testing"
	"time"

	"github.com/reach-london/reach/internal/errs"
)

func TestValidateTTL(t *testing.T) {
	tests := []struct {
		ttl     time.Duration
		wantErr bool
	}{
		{0, false},
		{time.Millisecond, false},
		{24 * time.Hour, false},
		{-1, true},
		{-time.Hour, true},
		{time.Microsecond, true},
		{time.Millisecond - 1, true},
	}
	for _, tt := range tests {
		err := ValidateTTL(tt.ttl)
		if (err != nil) != tt.wantErr {
			t.Errorf("ValidateTTL(%v): got %v, want error %v", tt.ttl, err, tt.wantErr)
		}
		if err != nil && !errs.Is(err, errs.Invalid) {
			t.Errorf("ValidateTTL(%v): got %v, want kind Invalid", tt.ttl, err)
		}
	}
}
