package errs

import (
	"errors"
	"testing"
)

// TestErrorDoesNotRepeatItsCause: a message that quotes its cause printed
// it twice ("invalid manifest: X: X") in CLI output and logs (issue 18 §5).
func TestErrorDoesNotRepeatItsCause(t *testing.T) {
	cause := errors.New("cmi5.xml: <au>: attribute id is missing")
	inner := E(Invalid, "bad signature")
	tests := []struct {
		err  error
		want string
	}{
		{Wrap(Invalid, cause, "invalid manifest: %s", cause), "invalid manifest: cmi5.xml: <au>: attribute id is missing"},
		{Wrap(Invalid, cause, "cannot open x.zip"), "cannot open x.zip: cmi5.xml: <au>: attribute id is missing"},
		{Wrap(Invalid, Wrap(Invalid, cause, "bad signature"), "statement 0: %s", MessageOf(Wrap(Invalid, cause, "bad signature"))),
			"statement 0: bad signature: cmi5.xml: <au>: attribute id is missing"},
		{Wrap(Invalid, inner, "statement 1: %s", MessageOf(inner)), "statement 1: bad signature"},
		{Wrap(Invalid, cause, ""), cause.Error()},
		{E(NotFound, "gone"), "gone"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
