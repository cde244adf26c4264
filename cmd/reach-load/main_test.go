package main

import "testing"

func TestLoopbackOnly(t *testing.T) {
	tests := []struct {
		target string
		ok     bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://localhost:8080", true},
		{"http://[::1]:8080", true},
		{"https://127.0.0.2", true},
		{"http://10.0.0.5:8080", false},
		{"https://reach.example.org", false},
		{"ftp://127.0.0.1", false},
		{"127.0.0.1:8080", false},
		{"", false},
	}
	for _, tt := range tests {
		err := loopbackOnly(tt.target)
		if (err == nil) != tt.ok {
			t.Errorf("loopbackOnly(%q) = %v, want ok=%v", tt.target, err, tt.ok)
		}
	}
}
