package lrs

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/reach-london/reach/internal/errs"
)

// verifySignature checks a signed statement (xAPI 1.0.3 §2.6): its
// signature attachment must hold a JWS using RS256, RS384 or RS512 whose
// payload is the statement as it was before signing, and, when the JWS
// header carries an x5c certificate chain, the signature must verify with
// the first certificate's key. Statements without a signature attachment
// pass.
func verifySignature(st *Statement, parts []Part) error {
	for _, a := range st.Attachments {
		if a.UsageType != SignatureUsageType {
			continue
		}
		if a.ContentType != "application/octet-stream" {
			return errs.E(errs.Invalid, "the signature attachment's contentType must be application/octet-stream")
		}
		var data []byte
		for _, p := range parts {
			if p.SHA2 == a.SHA2 {
				data = p.Data
				break
			}
		}
		if data == nil {
			return errs.E(errs.Invalid, "the signature attachment has no part")
		}
		return verifyJWS(st, strings.TrimSpace(string(data)))
	}
	return nil
}

type jwsHeader struct {
	Alg string   `json:"alg"`
	X5C []string `json:"x5c"`
}

func verifyJWS(st *Statement, jws string) error {
	segs := strings.Split(jws, ".")
	if len(segs) != 3 {
		return errs.E(errs.Invalid, "the signature is not a JWS in compact serialisation")
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(strings.TrimRight(segs[0], "="))
	pb, err2 := base64.RawURLEncoding.DecodeString(strings.TrimRight(segs[1], "="))
	sig, err3 := base64.RawURLEncoding.DecodeString(strings.TrimRight(segs[2], "="))
	if err1 != nil || err2 != nil || err3 != nil {
		return errs.E(errs.Invalid, "the JWS is not valid base64url")
	}
	var h jwsHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return errs.E(errs.Invalid, "the JWS header is not valid JSON")
	}
	var hash crypto.Hash
	switch h.Alg {
	case "RS256":
		hash = crypto.SHA256
	case "RS384":
		hash = crypto.SHA384
	case "RS512":
		hash = crypto.SHA512
	default:
		return errs.E(errs.Invalid, "the JWS algorithm must be RS256, RS384 or RS512, got %q", h.Alg)
	}
	if len(h.X5C) > 0 {
		der, err := base64.StdEncoding.DecodeString(h.X5C[0])
		if err != nil {
			return errs.E(errs.Invalid, "the JWS x5c certificate is not valid base64")
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return errs.E(errs.Invalid, "the JWS x5c certificate cannot be parsed")
		}
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return errs.E(errs.Invalid, "the JWS x5c certificate does not hold an RSA key")
		}
		signed := []byte(segs[0] + "." + segs[1])
		var digest []byte
		switch hash {
		case crypto.SHA256:
			d := sha256.Sum256(signed)
			digest = d[:]
		case crypto.SHA384:
			d := sha512.Sum384(signed)
			digest = d[:]
		default:
			d := sha512.Sum512(signed)
			digest = d[:]
		}
		if err := rsa.VerifyPKCS1v15(pub, hash, digest, sig); err != nil {
			return errs.E(errs.Invalid, "the JWS signature does not verify with the x5c certificate")
		}
	}
	payload, err := decodeJSON(pb)
	if err != nil {
		return errs.E(errs.Invalid, "the JWS payload is not valid JSON")
	}
	pm, ok := payload.(map[string]any)
	if !ok {
		return errs.E(errs.Invalid, "the JWS payload is not a statement")
	}
	// Normalise the payload the way the statement itself was.
	if _, err := statementFromJSON(pm, "signature payload", V200); err != nil {
		return errs.E(errs.Invalid, "the JWS payload is not a valid statement: %s", errs.MessageOf(err))
	}
	if !sameSignedContent(st.Tree, pm) {
		return errs.E(errs.Invalid, "the JWS payload does not match the statement")
	}
	return nil
}

// sameSignedContent compares a statement with the payload signed for it,
// ignoring what the LRS or the signing step may add.
func sameSignedContent(stmt, payload map[string]any) bool {
	strip := func(m map[string]any, keepID bool) map[string]any {
		out := make(map[string]any, len(m))
		for k, v := range m {
			switch k {
			case "attachments", "authority", "stored", "version":
				continue
			case "id":
				if !keepID {
					continue
				}
			}
			out[k] = v
		}
		return out
	}
	_, payloadHasID := payload["id"]
	a, err1 := comparable(strip(stmt, payloadHasID))
	b, err2 := comparable(strip(payload, payloadHasID))
	if err1 != nil || err2 != nil {
		return false
	}
	return bytes.Equal(bytes.ToLower(a), bytes.ToLower(b))
}

// comparable encodes a copy of m with durations truncated, leaving m as
// it was.
func comparable(m map[string]any) ([]byte, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	tree, err := decodeJSON(raw)
	if err != nil {
		return nil, err
	}
	cp := tree.(map[string]any)
	truncateDurations(cp)
	return json.Marshal(cp)
}

var durationSecondsRE = regexp.MustCompile(`([0-9]+)(?:[.,]([0-9]*))?S$`)

// truncateDurations cuts result.duration (in the statement and a
// SubStatement) to hundredths of a second, the precision xAPI 2.0 says
// comparisons use.
func truncateDurations(m map[string]any) {
	if r, ok := m["result"].(map[string]any); ok {
		if d, ok := r["duration"].(string); ok {
			r["duration"] = TruncateDuration(d)
		}
	}
	if o, ok := m["object"].(map[string]any); ok && o["objectType"] == "SubStatement" {
		truncateDurations(o)
	}
}

// TruncateDuration returns an ISO 8601 duration with its seconds cut to
// two decimal places.
func TruncateDuration(d string) string {
	return durationSecondsRE.ReplaceAllStringFunc(d, func(sec string) string {
		sm := durationSecondsRE.FindStringSubmatch(sec)
		frac := sm[2]
		if len(frac) > 2 {
			frac = frac[:2]
		}
		frac = strings.TrimRight(frac, "0")
		if frac == "" {
			return sm[1] + "S"
		}
		return sm[1] + "." + frac + "S"
	})
}
