package lrs

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/reach-london/reach/internal/errs"
)

// Statements stored under xAPI 2.0 (IEEE 9274.1.1) are served to a reader
// that negotiated 1.0.x in a form a 1.0.3 reader accepts. 2.0 adds two
// properties to a statement's context, contextAgents and contextGroups
// (in a SubStatement's context too), and stamps version 2.0.x; 1.0.3
// forbids unknown properties and says a statement's version MUST start
// with "1.0" (§2.4.10). Everything else 2.0 changed for statements only
// tightens what is accepted (timestamps with a time zone, and the like),
// so a valid 2.0 statement is otherwise a valid 1.0.3 one. The rule:
//
//   - contextAgents and contextGroups are dropped, from the statement's
//     context and a SubStatement's (a context left empty goes too);
//   - a version of 2.0.x becomes "1.0.0";
//   - nothing else changes: id, stored, authority, attachments and
//     everything else stay as stored, so statementId look-ups, more links
//     and paging are the same for every reader.
//
// A statement that needs only the version changed keeps its stored bytes
// apart from the version's value. That includes signed statements: a
// signature is checked against the statement with version set aside, so
// it still matches. A signed statement that also has contextAgents or
// contextGroups is converted like any other and keeps its signature
// attachment, but the signature (whose payload still holds them) no
// longer matches the statement as served; a 1.0.3 reader that checks it
// sees a mismatch, and a 2.0 reader gets the original. A 2.0 reader gets
// every statement exactly as stored.

// ForReader returns a stored statement as a reader that negotiated ver
// sees it (see the rule above): for any reader but a 1.0.x one (2.0, or
// "" for none stated), or a statement with nothing 2.0-only, body itself.
func ForReader(body []byte, ver Version) ([]byte, error) {
	if !ver.is1() || !maybe2Only(body) {
		return body, nil
	}
	var probe struct {
		Version string          `json:"version"`
		Context json.RawMessage `json:"context"`
		Object  struct {
			ObjectType string          `json:"objectType"`
			Context    json.RawMessage `json:"context"`
		} `json:"object"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "stored statement")
	}
	props := has2OnlyContext(probe.Context) ||
		(probe.Object.ObjectType == "SubStatement" && has2OnlyContext(probe.Object.Context))
	ver2 := isVersion2(probe.Version)
	if !props && !ver2 {
		return body, nil
	}
	if !props {
		if out, ok := replaceTopLevelString(body, "version", version1For2); ok {
			return out, nil
		}
	}
	tree, err := decodeJSON(body)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "stored statement")
	}
	m, ok := tree.(map[string]any)
	if !ok {
		return nil, errs.E(errs.Internal, "stored statement is not an object")
	}
	downgradeTree(m)
	return encodeStatement(m)
}

// version1For2 is the version a 1.0.x reader sees for a 2.0.x statement.
const version1For2 = "1.0.0"

// maybe2Only is a quick, conservative test: false means body has no
// 2.0-only property and no 2.0 version. Escapes are read the slow way.
func maybe2Only(body []byte) bool {
	return bytes.Contains(body, []byte(`"2.`)) || bytes.Contains(body, []byte(`contextAgents`)) ||
		bytes.Contains(body, []byte(`contextGroups`)) || bytes.Contains(body, []byte(`\u`))
}

func (v Version) is1() bool { return strings.HasPrefix(string(v), "1.") }

func isVersion2(v string) bool { return strings.HasPrefix(v, "2.") }

func has2OnlyContext(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return false
	}
	var c map[string]json.RawMessage
	if json.Unmarshal(raw, &c) != nil {
		return false
	}
	_, a := c["contextAgents"]
	_, g := c["contextGroups"]
	return a || g
}

// downgradeTree applies the rule to a decoded statement in place and
// reports whether it changed anything.
func downgradeTree(m map[string]any) bool {
	changed := drop2OnlyContext(m)
	if o, ok := m["object"].(map[string]any); ok && o["objectType"] == "SubStatement" {
		if drop2OnlyContext(o) {
			changed = true
		}
	}
	if v, ok := m["version"].(string); ok && isVersion2(v) {
		m["version"] = version1For2
		changed = true
	}
	return changed
}

func drop2OnlyContext(m map[string]any) bool {
	c, ok := m["context"].(map[string]any)
	if !ok {
		return false
	}
	_, a := c["contextAgents"]
	_, g := c["contextGroups"]
	if !a && !g {
		return false
	}
	delete(c, "contextAgents")
	delete(c, "contextGroups")
	if len(c) == 0 {
		// A context that held nothing else goes too.
		delete(m, "context")
	}
	return true
}

// encodeStatement encodes a statement tree without HTML escaping, so
// strings keep the characters they were stored with.
func encodeStatement(m map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "encode statement")
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// replaceTopLevelString returns body with the value of every top-level
// property key, which must be a string, replaced by val; the other bytes
// are kept. It reports false if body is not an object or has no such
// string property.
func replaceTopLevelString(body []byte, key, val string) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	type span struct{ start, end int64 }
	var spans []span
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, false
		}
		afterKey := dec.InputOffset()
		if k, _ := kt.(string); k != key {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, false
			}
			continue
		}
		vt, err := dec.Token()
		if err != nil {
			return nil, false
		}
		if _, ok := vt.(string); !ok {
			return nil, false
		}
		end := dec.InputOffset()
		// Between the key and its value there is only white space and
		// the colon, so the first quote opens the value.
		q := bytes.IndexByte(body[afterKey:end], '"')
		if q < 0 {
			return nil, false
		}
		spans = append(spans, span{afterKey + int64(q), end})
	}
	if len(spans) == 0 {
		return nil, false
	}
	enc, err := json.Marshal(val)
	if err != nil {
		return nil, false
	}
	out := make([]byte, 0, len(body)+len(enc))
	prev := int64(0)
	for _, s := range spans {
		out = append(out, body[prev:s.start]...)
		out = append(out, enc...)
		prev = s.end
	}
	return append(out, body[prev:]...), true
}
