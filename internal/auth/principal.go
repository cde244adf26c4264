package auth

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
)

// Scope is an xAPI authorization scope, as in xAPI 1.0.3 §4.1 (OAuth scope
// values), plus Reach's own admin scopes.
type Scope string

// The xAPI scopes.
const (
	ScopeStatementsWrite    Scope = "statements/write"
	ScopeStatementsRead     Scope = "statements/read"
	ScopeStatementsReadMine Scope = "statements/read/mine"
	ScopeState              Scope = "state"
	ScopeDefine             Scope = "define"
	ScopeProfile            Scope = "profile"
	ScopeAllRead            Scope = "all/read"
	ScopeAll                Scope = "all"
)

// XAPIScopes lists every scope a credential may be given.
var XAPIScopes = []Scope{ScopeStatementsWrite, ScopeStatementsRead, ScopeStatementsReadMine,
	ScopeState, ScopeDefine, ScopeProfile, ScopeAllRead, ScopeAll}

// ParseScopes reads a comma- or space-separated scope list, rejecting
// unknown scopes.
func ParseScopes(s string) ([]Scope, error) {
	var out []Scope
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		sc := Scope(f)
		if !slices.Contains(XAPIScopes, sc) {
			return nil, &ScopeError{Scope: f}
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, &ScopeError{}
	}
	return out, nil
}

// ScopeError names an unknown scope.
type ScopeError struct{ Scope string }

func (e *ScopeError) Error() string {
	if e.Scope == "" {
		return "no scope given; use one or more of " + scopeList()
	}
	return "unknown scope " + `"` + e.Scope + `"` + "; use one or more of " + scopeList()
}

func scopeList() string {
	var s []string
	for _, sc := range XAPIScopes {
		s = append(s, string(sc))
	}
	return strings.Join(s, ", ")
}

// PrincipalKind says what authenticated a request.
type PrincipalKind string

// The kinds of principal.
const (
	KindCredential PrincipalKind = "credential" // LRS key/secret or OAuth client token
	KindUser       PrincipalKind = "user"       // a signed-in person (cookie or bearer)
	KindLaunch     PrincipalKind = "launch"     // a launch-scoped token given to content
)

// Principal is who a request acts as, within one borough.
type Principal struct {
	Kind      PrincipalKind
	BoroughID string
	// Subject is the credential, user or launch id.
	Subject string
	Scopes  []Scope
	// Role is the user's role (learner, borough_admin, platform_admin) for KindUser.
	Role Role
	// Authority is the xAPI Agent or Group (JSON) recorded as a statement's
	// authority when this principal writes.
	Authority json.RawMessage
	// Actor is the learner (xAPI Agent JSON) a launch token or a
	// statements/read/mine credential is limited to.
	Actor json.RawMessage
	// Registration, ActivityID and SessionID limit a launch token to one
	// attempt of one activity tree.
	Registration string
	ActivityID   string
	SessionID    string
}

// Has reports whether the principal's scopes grant s. "all" grants every
// scope; "all/read" grants every read scope.
func (p Principal) Has(s Scope) bool {
	for _, have := range p.Scopes {
		switch {
		case have == s, have == ScopeAll:
			return true
		case have == ScopeAllRead && (s == ScopeStatementsRead || s == ScopeStatementsReadMine):
			return true
		case have == ScopeStatementsRead && s == ScopeStatementsReadMine:
			return true
		}
	}
	return false
}

// CanReadAll reports whether the principal may read every statement in its
// borough, rather than only its own.
func (p Principal) CanReadAll() bool {
	return slices.ContainsFunc(p.Scopes, func(s Scope) bool {
		return s == ScopeAll || s == ScopeAllRead || s == ScopeStatementsRead
	})
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
