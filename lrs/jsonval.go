package lrs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/reach-london/reach/internal/errs"
)

// The validators below work on JSON decoded into untyped values (objects
// as map[string]any, numbers as json.Number) rather than into structs, so
// that unknown properties, wrong types and null values can each be named
// precisely in the error the client receives, as xAPI requires.

// decodeJSON decodes data into an untyped tree, keeping numbers exact and
// rejecting trailing data after the value.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errs.E(errs.Invalid, "body is not valid JSON: %s", jsonErrText(err))
	}
	if dec.More() {
		return nil, errs.E(errs.Invalid, "body has data after the JSON value")
	}
	if _, err := dec.Token(); err == nil {
		return nil, errs.E(errs.Invalid, "body has data after the JSON value")
	}
	return v, nil
}

// checkText refuses JSON text that is not valid UTF-8 and a decoded tree
// holding the NUL character in a string or a property name; path names
// where, for the client.
func checkText(raw []byte, tree any, path string) error {
	if !utf8.Valid(raw) {
		return invalid(path, "is not valid UTF-8 (at byte %d)", invalidUTF8At(raw))
	}
	return noNUL(tree, path)
}

// CheckText refuses a string that is not valid UTF-8 or holds the NUL
// character, naming field: neither can be stored as text on every
// backend. Request parsers call it on identifiers from the URL.
func CheckText(field, s string) error {
	if !utf8.ValidString(s) {
		return errs.E(errs.Invalid, "%s is not valid UTF-8 (at byte %d)", field, invalidUTF8At([]byte(s)))
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		return errs.E(errs.Invalid, "%s must not contain the NUL character (at byte %d)", field, i)
	}
	return nil
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// noNUL walks a decoded JSON tree for the NUL character. The path is
// built only on the way back from a hit, so a clean tree costs no
// allocation.
func noNUL(v any, path string) error {
	if where, key, found := findNUL(v); found {
		what := "must not contain the NUL character (\\u0000)"
		if key {
			what = "property names must not contain the NUL character (\\u0000)"
		}
		return invalid(path+where, "%s", what)
	}
	return nil
}

func findNUL(v any) (where string, key, found bool) {
	switch x := v.(type) {
	case string:
		return "", false, strings.IndexByte(x, 0) >= 0
	case map[string]any:
		for k, e := range x {
			if strings.IndexByte(k, 0) >= 0 {
				return "", true, true
			}
			if w, key, found := findNUL(e); found {
				return "." + k + w, key, true
			}
		}
	case []any:
		for i, e := range x {
			if w, key, found := findNUL(e); found {
				return "[" + strconv.Itoa(i) + "]" + w, key, true
			}
		}
	}
	return "", false, false
}

// jsonErrText keeps decoder messages short and free of Go type names.
func jsonErrText(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "json: ")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

func invalid(path, format string, args ...any) error {
	return errs.E(errs.Invalid, "%s: %s", path, fmt.Sprintf(format, args...))
}

// asObject returns v as a JSON object or an error naming path.
func asObject(v any, path string) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, invalid(path, "must be a JSON object, got %s", typeName(v))
	}
	return m, nil
}

// onlyKeys rejects properties not in allowed; xAPI forbids unknown ones.
func onlyKeys(m map[string]any, path string, allowed ...string) error {
	for k := range m {
		found := false
		for _, a := range allowed {
			if k == a {
				found = true
				break
			}
		}
		if !found {
			return invalid(path, "unknown property %q", k)
		}
	}
	return nil
}

// optString returns m[key] as a string; present is false when absent.
// null is rejected: xAPI does not allow null for any property.
func optString(m map[string]any, key, path string) (s string, present bool, err error) {
	v, ok := m[key]
	if !ok {
		return "", false, nil
	}
	s, ok = v.(string)
	if !ok {
		return "", true, invalid(path+"."+key, "must be a string, got %s", typeName(v))
	}
	return s, true, nil
}

func reqString(m map[string]any, key, path string) (string, error) {
	s, ok, err := optString(m, key, path)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", invalid(path, "property %q is required", key)
	}
	return s, nil
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "an unknown value"
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.\-]*:`)

// isIRI reports whether s is an absolute IRI: a scheme followed by a
// non-empty remainder without spaces. Full RFC 3987 parsing is not needed
// to catch the mistakes that matter (relative references, bare words).
func isIRI(s string) bool {
	if !schemeRE.MatchString(s) || strings.ContainsAny(s, " \t\r\n<>\"{}|\\^`") {
		return false
	}
	i := strings.IndexByte(s, ':')
	return i+1 < len(s)
}

// isIRL reports whether s is an IRI that can be dereferenced (has a host or
// opaque part a client could resolve); for xAPI's purposes an absolute IRI.
func isIRL(s string) bool {
	if !isIRI(s) {
		return false
	}
	_, err := url.Parse(s)
	return err == nil
}

var mailtoRE = regexp.MustCompile(`^mailto:[^@\s]+@[^@\s]+$`)

var sha1HexRE = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)

// uuidRE accepts any RFC 4122 UUID in its canonical hyphenated form.
var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsUUID reports whether s is a UUID in canonical hyphenated form.
func IsUUID(s string) bool { return uuidRE.MatchString(s) }
